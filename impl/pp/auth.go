package pp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Authentication constants; see the package doc for the exchange.
const (
	// Banner is the fixed first field of the greeting; it names the protocol
	// version so that an incompatible peer fails at once.
	Banner = "powermail-pp-2"
	// NonceBytes of randomness in each challenge (hex on the wire).
	NonceBytes = 32
	// MaxClientNameBytes bounds the name a client gives in AUTH (a host name).
	MaxClientNameBytes = 255
	// MinSecretBytes is the shortest shared secret a daemon accepts; the
	// original accepted an empty password.
	MinSecretBytes = 16

	clientContext = Banner + " client"
	serverContext = Banner + " server"
)

// ErrBadNonce and ErrBadClientName are returned for malformed AUTH fields.
var (
	ErrBadNonce      = errors.New("nonce is not 64 lower-case hex digits")
	ErrBadClientName = errors.New("client name must be 1-255 bytes of letters, digits, '.', '-', '_'")
)

// NewNonce returns NonceBytes of crypto randomness in hex.
func NewNonce() string {
	var b [NonceBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("wire: crypto/rand failed: " + err.Error()) // never fails on Linux >= 3.17
	}
	return hex.EncodeToString(b[:])
}

// CheckNonce validates a nonce received from the peer.
func CheckNonce(s string) error {
	if len(s) != 2*NonceBytes || strings.ToLower(s) != s {
		return ErrBadNonce
	}
	if _, err := hex.DecodeString(s); err != nil {
		return ErrBadNonce
	}
	return nil
}

// CheckClientName validates the client's name. The restricted alphabet keeps
// the HMAC input unambiguous ('|' cannot appear) and the name safe to log.
func CheckClientName(s string) error {
	if s == "" || len(s) > MaxClientNameBytes {
		return ErrBadClientName
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return ErrBadClientName
		}
	}
	return nil
}

// ClientProof is what the client sends in AUTH to show that it knows secret.
func ClientProof(secret []byte, serverNonce, clientNonce, clientName string) string {
	return proof(secret, clientContext, serverNonce, clientNonce, clientName)
}

// ServerProof is what the server answers to show that it knows secret too.
func ServerProof(secret []byte, serverNonce, clientNonce, clientName string) string {
	return proof(secret, serverContext, serverNonce, clientNonce, clientName)
}

func proof(secret []byte, context, serverNonce, clientNonce, clientName string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(context + "|" + serverNonce + "|" + clientNonce + "|" + clientName))
	return hex.EncodeToString(m.Sum(nil))
}

// ProofEqual compares two proofs in constant time, so that the time taken
// does not tell an attacker how many leading characters were right.
func ProofEqual(want, got string) bool {
	return hmac.Equal([]byte(want), []byte(got))
}
