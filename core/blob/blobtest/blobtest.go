// Package blobtest gives tests a blob store of each backend: a directory,
// and a real S3-compatible server process (s3rver, pinned in
// tools/s3rver and installed by `npm ci --prefix tools/s3rver`, which
// .ci/run does). Imported by tests only.
package blobtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/blob"
)

// Credentials s3rver accepts.
const (
	AccessKey = "S3RVER"
	SecretKey = "S3RVER"
	// Bucket is the bucket the server is started with.
	Bucket = "evidence"
)

// Dir opens a file-backed store in a temporary directory.
func Dir(t testing.TB) *blob.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := blob.Open(context.Background(), blob.Options{Backend: blob.BackendFile, Dir: filepath.Join(dir, "blobs"), SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// S3 starts an S3-compatible server for the test and returns the options
// of a store in its bucket. Without the server installed the test is
// skipped, except under CI=true where it fails: CI installs it.
func S3(t testing.TB) blob.Options {
	t.Helper()
	bin, err := serverScript()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the S3-compatible test server is not installed (%v): run `npm ci --prefix tools/s3rver`", err)
		}
		t.Skipf("skipping: the S3-compatible test server is not installed (%v); run `npm ci --prefix tools/s3rver` to run this test", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is not installed; the S3-compatible test server needs it")
		}
		t.Skip("skipping: node is not installed; the S3-compatible test server needs it")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, bin, "--directory", dir, "--address", "127.0.0.1", "--port", "0",
		"--configure-bucket", Bucket, "--no-vhost-buckets")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting the S3-compatible test server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`listening on (\S+:\d+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	var endpoint string
	select {
	case a := <-addr:
		endpoint = "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatal("the S3-compatible test server did not say where it listens within 2 minutes")
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": AccessKey, "AWS_SECRET_ACCESS_KEY": SecretKey}
	return blob.Options{Backend: blob.BackendS3, Endpoint: endpoint, Region: "us-east-1", Bucket: Bucket, PathStyle: true,
		SpoolDir: dir, Env: func(k string) string { return env[k] }}
}

// serverScript finds s3rver's entry point under the repository's
// tools/s3rver.
func serverScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository")
	}
	root := file
	for range 4 {
		root = filepath.Dir(root)
	}
	p := filepath.Join(root, "tools", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing", strings.TrimPrefix(p, root+string(filepath.Separator)))
	}
	return p, nil
}
