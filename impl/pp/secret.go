package pp

import (
	"fmt"
	"os"
	"strings"
)

// ErrShortSecret is returned for a shared secret shorter than MinSecretBytes.
var ErrShortSecret = fmt.Errorf("shared secret shorter than %d bytes", MinSecretBytes)

// CheckSecret refuses a secret too short to authenticate anything.
func CheckSecret(s string) error {
	if len(s) < MinSecretBytes {
		return ErrShortSecret
	}
	return nil
}

// ReadSecretFile returns the shared secret kept in path. Surrounding white
// space is not part of it, so a trailing newline written by an editor or
// `echo` does not change the secret.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	return s, CheckSecret(s)
}
