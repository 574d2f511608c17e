// Package stripemock runs Stripe's official API mock, stripe-mock, for tests
// and for the sandbox (`make demo`, through cmd/ezscale-fakes).
//
// stripe-mock is a separate binary: install it with
//
//	go install github.com/stripe/stripe-mock@v0.203.0
//
// Start looks for it in PATH, then in $(go env GOPATH)/bin. It is stateless:
// every call returns fixture data shaped by the real OpenAPI spec (with the
// ids and values the request passed), so tests check request validity and
// response mapping, not stored state.
package stripemock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

// InstallCommand installs the expected stripe-mock.
const InstallCommand = "go install github.com/stripe/stripe-mock@" + Version

// ErrNotInstalled is returned by Start when no stripe-mock binary is found.
var ErrNotInstalled = errors.New("stripe-mock not found in PATH or $(go env GOPATH)/bin; install it with: " + InstallCommand)

// Server is a running stripe-mock.
type Server struct {
	// URL is the HTTP base URL, e.g. http://127.0.0.1:41234.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Find returns the path of the stripe-mock binary.
func Find() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Start runs stripe-mock (found as Find does) on free loopback ports and
// waits until it listens.
func Start() (*Server, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	return StartBinary(bin)
}

// StartBinary runs the stripe-mock executable at bin on free loopback ports
// and waits until it listens.
func StartBinary(bin string) (*Server, error) {
	// Both listeners on loopback port 0: the HTTPS one otherwise binds
	// 0.0.0.0:12112, which parallel test binaries would fight over.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	setProcAttr(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripemock: starting %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(s.done)
	}()

	found := make(chan string, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "Listening for HTTP at address: "); ok {
				found <- strings.TrimSpace(addr)
				break
			}
			if out.Len() < 4096 {
				out.WriteString(line + "\n")
			}
		}
		// Keep draining so stripe-mock never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case addr := <-found:
		s.URL = "http://" + addr
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("stripemock: %s exited before listening:\n%s", bin, out.String())
	case <-time.After(30 * time.Second):
		s.Close()
		return nil, fmt.Errorf("stripemock: %s did not listen within 30s", bin)
	}
}

// Close stops stripe-mock and waits for it to exit.
func (s *Server) Close() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Require turns the result of a Start done in TestMain into the test's fate:
// a missing binary fails the test when CI=true (CI must run these tests) and
// skips it otherwise, saying how to install it.
func Require(t testing.TB, s *Server, err error) *Server {
	t.Helper()
	switch {
	case err == nil && s != nil:
		return s
	case errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true":
		t.Skipf("skipping: %v", err)
	default:
		t.Fatalf("stripe-mock is required (CI=%q): %v", os.Getenv("CI"), err)
	}
	return nil
}

// StartT starts a stripe-mock for one test and stops it when the test ends,
// with Require's skip-or-fail rule.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	s = Require(t, s, err)
	t.Cleanup(s.Close)
	return s
}
