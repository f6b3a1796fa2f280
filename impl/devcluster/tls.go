package devcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// certLifetime is how long the generated certificate is valid; a run
// directory older than that gets a new one at the next start.
const certLifetime = 365 * 24 * time.Hour

// Cert is the self-signed certificate a cluster uses for STARTTLS and STLS.
type Cert struct {
	CertFile, KeyFile string
	// Fingerprint is the SHA-256 of the DER certificate, written as
	// openssl x509 -fingerprint -sha256 writes it (AB:CD:...).
	Fingerprint string
}

// EnsureCert returns the certificate under dir/tls, creating it on the
// first call and reusing it afterwards (so a client that trusted it once
// keeps trusting it across restarts of `make run`). It is valid for
// 127.0.0.1, ::1 and localhost, and it is its own CA, so curl --cacert and
// Python's cafile= accept it as the trust anchor.
func EnsureCert(dir string) (Cert, error) {
	c := Cert{CertFile: filepath.Join(dir, "tls", "cert.pem"), KeyFile: filepath.Join(dir, "tls", "key.pem")}
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err == nil && time.Now().Before(pair.Leaf.NotAfter.Add(-24*time.Hour)) {
		c.Fingerprint = fingerprint(pair.Leaf.Raw)
		return c, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Cert{}, fmt.Errorf("devcluster: existing certificate unusable (remove %s): %w", filepath.Dir(c.CertFile), err)
	}
	der, err := writeCert(c)
	if err != nil {
		return Cert{}, err
	}
	c.Fingerprint = fingerprint(der)
	return c, nil
}

// writeCert makes a P-256 key and a self-signed certificate; the key file
// is 0600 and written before the certificate, so a half-finished run leaves
// no certificate without its key.
func writeCert(c Cert) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "powermail make run", Organization: []string{"powermail development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(c.CertFile), 0o700); err != nil {
		return nil, err
	}
	if err := writePEM(c.KeyFile, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return nil, err
	}
	return der, writePEM(c.CertFile, "CERTIFICATE", der, 0o644)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
