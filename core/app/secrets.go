package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
)

// keyFileName is the development secrets key kept beside a SQLite database
// when auth.secrets_key is not set.
const keyFileName = "secrets.key"

// secretsKeyring builds the keyring that seals TOTP secrets at rest:
//   - auth.secrets_key (from the environment) when set;
//   - else, with a SQLite database file, a random key kept in secrets.key
//     beside it (created 0600 on first start): `make run` works with no
//     setup, and no key is ever shared between installations or committed;
//   - else (PostgreSQL without a key) none: two-factor enrollment is
//     unavailable until a key is set, and start-up fails if secrets exist.
//
// auth.secrets_previous_keys are added for opening only.
func secretsKeyring(cfg *config.Config, logger hclog.Logger) (*accounts.Keyring, error) {
	var previous [][]byte
	for i, s := range cfg.Auth.SecretsPreviousKeys {
		k, err := accounts.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("auth.secrets_previous_keys[%d]: %w", i, err)
		}
		previous = append(previous, k)
	}
	if cfg.Auth.SecretsKey != "" {
		k, err := accounts.ParseKey(cfg.Auth.SecretsKey)
		if err != nil {
			return nil, fmt.Errorf("auth.secrets_key: %w", err)
		}
		return accounts.NewKeyring(k, previous...)
	}
	if path, ok := strings.CutPrefix(cfg.Database.URL, "sqlite:"); ok && path != "" && !strings.Contains(path, ":memory:") {
		keyPath := filepath.Join(filepath.Dir(path), keyFileName)
		k, err := keyFile(keyPath)
		if err != nil {
			return nil, err
		}
		logger.Info("auth.secrets_key is not set: two-factor secrets are sealed with the key in "+keyPath+
			" (keep it with the database; set EZSCALE_AUTH_SECRETS_KEY in production)", "path", keyPath)
		return accounts.NewKeyring(k, previous...)
	}
	logger.Warn("auth.secrets_key is not set: two-factor authentication is unavailable until EZSCALE_AUTH_SECRETS_KEY is set (`ezscale secrets generate` makes one)")
	return nil, nil
}

// keyFile reads the key at path, creating it with a new random key (mode
// 0600) when it does not exist. Two processes starting at once agree: only
// one creates it.
func keyFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(accounts.GenerateKey() + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return nil, fmt.Errorf("writing the secrets key %s: %w", path, werr)
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("creating the secrets key %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the secrets key %s: %w", path, err)
	}
	k, err := accounts.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("the secrets key %s: %w", path, err)
	}
	return k, nil
}
