package tests

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestSecretsCLISealAndRotate: a plaintext two-factor secret is sealed when
// the platform opens, `ezscale secrets rotate` re-seals it under a new key
// (the old one given as previous), and PostgreSQL without a key refuses to
// start while secrets exist.
func TestSecretsCLISealAndRotate(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		oldKey, newKey := accounts.GenerateKey(), accounts.GenerateKey()
		withKey := func(k string, more ...string) []string {
			return append([]string{"EZSCALE_DATABASE_URL=" + url, "EZSCALE_AUTH_SECRETS_KEY=" + k}, more...)
		}
		mustRunCLI(t, withKey(oldKey), adminPassword, "admin", "create", "--email", "owner@example.com", "--password-stdin")

		ctx := context.Background()
		db, err := database.Open(ctx, url, database.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const plain = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		if _, err := db.NewUpdate().Table("users").Set("totp_secret = ?", plain).Set("totp_enabled = ?", true).
			Where("email = ?", "owner@example.com").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		stored := func() (id, secret string) {
			t.Helper()
			if err := db.NewSelect().Table("users").Column("id", "totp_secret").Where("email = ?", "owner@example.com").Scan(ctx, &id, &secret); err != nil {
				t.Fatal(err)
			}
			return id, secret
		}
		opensWith := func(key string) bool {
			t.Helper()
			raw, err := accounts.ParseKey(key)
			if err != nil {
				t.Fatal(err)
			}
			k, err := accounts.NewKeyring(raw)
			if err != nil {
				t.Fatal(err)
			}
			id, sealed := stored()
			got, err := k.Open(sealed, "totp:"+id)
			return err == nil && got == plain
		}

		mustRunCLI(t, withKey(oldKey), "", "admin", "list")
		if _, v := stored(); v == plain || !opensWith(oldKey) {
			t.Fatalf("after start-up the secret is %q, want it sealed under the old key", v)
		}

		res := mustRunCLI(t, withKey(newKey, "EZSCALE_AUTH_SECRETS_PREVIOUS_KEYS="+oldKey), "", "secrets", "rotate")
		if !strings.Contains(res.stdout, "re-sealed 1 two-factor secret(s)") {
			t.Errorf("rotate said %q", res.stdout)
		}
		if !opensWith(newKey) || opensWith(oldKey) {
			t.Error("after rotate the secret does not open with the new key alone")
		}
		if res := runCLI(t, withKey(newKey), "", "secrets", "rotate"); res.code != 0 || !strings.Contains(res.stdout, "re-sealed 0") {
			t.Errorf("a second rotate: exit %d, %q %q", res.code, res.stdout, res.stderr)
		}

		if d == database.Postgres {
			res := runCLI(t, []string{"EZSCALE_DATABASE_URL=" + url}, "", "admin", "list")
			if res.code == 0 || !strings.Contains(res.stderr, "auth.secrets_key") {
				t.Errorf("PostgreSQL without a key while secrets exist: exit %d, %q", res.code, res.stderr)
			}
		}
	})
}

// TestSecretsCLIDevKeyBesideSQLite: without auth.secrets_key, a SQLite
// installation gets a random key in secrets.key beside the database (mode
// 0600), created once and reused, and `secrets generate` prints a key that
// the configuration accepts.
func TestSecretsCLIDevKeyBesideSQLite(t *testing.T) {
	t.Parallel()
	url := databasetest.URL(t, database.SQLite)
	env := []string{"EZSCALE_DATABASE_URL=" + url}
	mustRunCLI(t, env, "", "admin", "list")
	keyPath := filepath.Join(filepath.Dir(strings.TrimPrefix(url, "sqlite:")), "secrets.key")
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key has mode %v, want 0600", info.Mode().Perm())
	}
	first, _ := os.ReadFile(keyPath)
	mustRunCLI(t, env, "", "admin", "list")
	if again, _ := os.ReadFile(keyPath); !bytes.Equal(first, again) {
		t.Error("secrets.key changed between runs")
	}
	if _, err := accounts.ParseKey(string(first)); err != nil {
		t.Errorf("secrets.key: %v", err)
	}

	key := strings.TrimSpace(mustRunCLI(t, nil, "", "secrets", "generate").stdout)
	if res := runCLI(t, []string{"EZSCALE_AUTH_SECRETS_KEY=" + key}, "", "config", "validate"); res.code != 0 {
		t.Errorf("a generated key is refused: %s", res.stderr)
	}
}
