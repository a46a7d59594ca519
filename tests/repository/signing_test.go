package repository

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// signingKey is an OpenPGP key written as the legacy GnuPG keyrings helm
// reads: the secret keyring for `helm package --sign --keyring`, the public
// one for `helm verify --keyring` and `helm install --verify --keyring`.
// The release workflow gets the same files from `gpg --export-secret-keys`
// and `gpg --export`.
type signingKey struct {
	// name is the key's identity, what `--key` matches.
	name           string
	secring        string
	pubring        string
	passphraseFile string
}

// newSigningKey generates an Ed25519 key for name, protected by passphrase,
// and writes its keyrings and passphrase file into dir.
func newSigningKey(dir, name, passphrase string) (signingKey, error) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	e, err := openpgp.NewEntity(name, "test signing key", "", cfg)
	if err != nil {
		return signingKey{}, fmt.Errorf("generate OpenPGP key %s: %w", name, err)
	}
	k := signingKey{
		name:           e.PrimaryIdentity().Name,
		secring:        filepath.Join(dir, name+".secring.gpg"),
		pubring:        filepath.Join(dir, name+".pubring.gpg"),
		passphraseFile: filepath.Join(dir, name+".passphrase"),
	}
	if err := writeWith(k.pubring, e.Serialize); err != nil {
		return k, err
	}
	if err := e.EncryptPrivateKeys([]byte(passphrase), cfg); err != nil {
		return k, fmt.Errorf("encrypt key %s: %w", name, err)
	}
	// NewEntity self-signed the identity; re-signing would need the key
	// decrypted.
	if err := writeWith(k.secring, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, cfg) }); err != nil {
		return k, err
	}
	return k, os.WriteFile(k.passphraseFile, []byte(passphrase), 0o600)
}

// writeWith creates path and fills it with write.
func writeWith(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
