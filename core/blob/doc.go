// Package blob is the platform's document store: content-addressed files
// (the key is the SHA-256 of the bytes) kept on the local filesystem, under
// the data directory by default, or in any S3-compatible bucket by
// configuration, through gocloud.dev/blob (its fileblob and s3blob drivers;
// s3blob speaks to S3 through aws-sdk-go-v2).
//
// A file is never overwritten: Put hashes the bytes while it streams them
// to a spool file (bounded memory, whatever the size), refuses them when a
// caller-given hash does not match, and writes the blob only when no blob
// of that hash exists yet (a conditional write, so two writers of the same
// bytes race harmlessly). Writing bytes that are already stored is a
// no-op. Open streams a blob back.
//
// S3 credentials are read from the environment only (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), never from the configuration
// file.
package blob
