// Package accounts owns identity: users (login identities), accounts (the
// billing entities that own services and invoices), memberships with roles,
// sessions and personal API tokens, TOTP two-factor authentication with
// recovery codes, email verification and password reset.
//
// Secrets are never stored: passwords as argon2id hashes (OWASP parameters;
// Go test binaries, and only they, hash at the smallest cost: see
// passwordParams), tokens and recovery codes as SHA-256 of high-entropy
// values. Every state change and every authentication failure is audited in
// the same transaction.
package accounts
