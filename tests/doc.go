// Package tests holds the end-to-end tests: the real `ezscale` binary and
// real plugin processes, built by the tests, on real databases (SQLite, and
// PostgreSQL when EZSCALE_TEST_POSTGRES_URL is set; required under CI=true).
//
// Helpers live in sub-packages: testbin builds the executables, smtptest is
// an in-process SMTP server for the email plugin.
package tests
