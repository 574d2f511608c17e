package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/testkit"
)

// result is a finished command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI executes ezscale with args and env (added to a clean environment that
// keeps only PATH and HOME), feeding stdin.
func runCLI(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ezscaleBin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("ezscale %s: %v", strings.Join(args, " "), err)
	}
	return res
}

func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

// mustRunCLI is runCLI that fails the test unless the exit code is 0.
func mustRunCLI(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	res := runCLI(t, env, stdin, args...)
	if res.code != 0 {
		t.Fatalf("ezscale %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// envServer is a running `ezscale serve` configured by environment only.
type envServer struct {
	cmd  *exec.Cmd
	base string
	done chan error
	logs *testkit.LogBuffer
}

// serveEnv starts `ezscale serve` (no config file) on a port the kernel picks and waits until
// its log says where it listens.
func serveEnv(t *testing.T, env []string) *envServer {
	t.Helper()
	cmd := exec.Command(ezscaleBin, "serve")
	cmd.Env = append(append(baseEnv(), "EZSCALE_SERVER_LISTEN=127.0.0.1:0", "EZSCALE_LOG_FORMAT=json", "EZSCALE_LOG_LEVEL=info"), env...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &envServer{cmd: cmd, done: make(chan error, 1), logs: &testkit.LogBuffer{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = s.logs.Write([]byte(line + "\n"))
			var entry struct {
				Message string `json:"@message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "serving" {
				addr <- entry.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatalf("ezscale serve exited before serving: %v\n%s", err, s.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("ezscale serve did not start within 2 minutes\n%s", s.logs.String())
	}
	return s
}

// stop sends SIGTERM and returns the exit code.
func (s *envServer) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(termSignal); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(time.Minute):
		t.Fatal("ezscale serve did not exit within a minute of SIGTERM")
		return -1
	}
}

// call sends a request to the server and returns status and body; the
// response is checked against the OpenAPI document (apitest).
func (s *envServer) call(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	var in any
	if body != "" {
		in = body
	}
	r := apitest.New(s.base).Do(t, method, path, token, in)
	return r.Status, r.Body
}
