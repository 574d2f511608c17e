// Package tests holds the end-to-end tests: the real `ezscale` binary and
// real plugin processes, built by the tests, on real databases (SQLite, and
// PostgreSQL when EZSCALE_TEST_POSTGRES_URL is set; required under CI=true).
//
// The tests wait on other processes far more than they use this one's CPU,
// so TestMain runs six at once unless -parallel says otherwise (`make test`
// says eight, for every package); every test calls t.Parallel and shares no
// port, file or database with another.
//
// Helpers live in sub-packages: testbin builds the executables, smtptest is
// an in-process SMTP server for the email plugin.
package tests
