package snowflake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/youmark/pkcs8"
)

// ErrPrivateKey is matched by every error of ReadPrivateKey.
var ErrPrivateKey = errors.New("bad private key file")

// KeyError is the error of ReadPrivateKey: it names the file and the
// problem, never the key or the passphrase.
type KeyError struct {
	Path   string
	Reason string
	Err    error // the underlying error, if any (never one quoting a secret)
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("private key file %s: %s", e.Path, e.Reason)
}

// Is reports whether target is ErrPrivateKey.
func (e *KeyError) Is(target error) bool { return target == ErrPrivateKey }

// Unwrap returns the underlying error.
func (e *KeyError) Unwrap() error { return e.Err }

// ReadPrivateKey reads an RSA private key for key-pair authentication from
// a PEM file: PKCS#8 "PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" (PKCS#5
// v2.0 PBES2: PBKDF2 or scrypt, AES-CBC or 3DES-CBC — what `openssl pkcs8
// -topk8 -v2 …` writes) decrypted with passphrase. Go's standard library
// cannot decrypt the latter; github.com/youmark/pkcs8 does.
func ReadPrivateKey(path, passphrase string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &KeyError{Path: path, Reason: "cannot read: " + errReason(err), Err: err}
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &KeyError{Path: path, Reason: "no PEM block: want a PKCS#8 key (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)"}
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, &KeyError{Path: path, Reason: "not a valid PKCS#8 private key"}
		}
	case "ENCRYPTED PRIVATE KEY":
		if passphrase == "" {
			return nil, &KeyError{Path: path, Reason: "the key is encrypted: set " + EnvPassphrase}
		}
		key, err = pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte(passphrase))
		if err != nil {
			// pkcs8's errors name the scheme or "incorrect password", never
			// the passphrase; a wrong passphrase often shows as bad padding.
			return nil, &KeyError{Path: path, Reason: "cannot decrypt (wrong " + EnvPassphrase + "?): " + err.Error()}
		}
	case "RSA PRIVATE KEY":
		return nil, &KeyError{Path: path, Reason: "PKCS#1 key: convert it to PKCS#8 with `openssl pkcs8 -topk8 -in KEY -out rsa_key.p8`"}
	default:
		return nil, &KeyError{Path: path, Reason: fmt.Sprintf("PEM block %q: want PRIVATE KEY or ENCRYPTED PRIVATE KEY", block.Type)}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, &KeyError{Path: path, Reason: fmt.Sprintf("a %T, but Snowflake key-pair authentication needs an RSA key", key)}
	}
	return rk, nil
}

// errReason is err's message without the *PathError's repeated path.
func errReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
