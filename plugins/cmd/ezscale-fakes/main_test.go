package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunServesAllThree(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-virtfusion", "127.0.0.1:0", "-pterodactyl", "127.0.0.1:0", "-kasm", "127.0.0.1:0", "-no-rate-limits"}, pw)
		pw.Close()
	}()
	urls := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(urls) < 3 && sc.Scan() {
		name, url, _ := strings.Cut(sc.Text(), " ")
		urls[name] = url
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	type probe struct{ Method, URL, Auth, Body string }
	probes := map[string]probe{
		"virtfusion":  {"GET", urls["virtfusion"] + "/connect", "Bearer vf-test-token", ""},
		"pterodactyl": {"GET", urls["pterodactyl"] + "/api/application/nodes", "Bearer ptla_testapplicationkey0000000000000000000", ""},
		"kasm":        {"POST", urls["kasm"] + "/api/public/get_images", "", `{"api_key":"kasm-test-key","api_key_secret":"kasm-test-secret"}`},
	}
	got := map[string]int{}
	for name, p := range probes {
		req, _ := http.NewRequestWithContext(t.Context(), p.Method, p.URL, strings.NewReader(p.Body))
		if p.Auth != "" {
			req.Header.Set("Authorization", p.Auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		got[name] = resp.StatusCode
	}
	if diff := cmp.Diff(map[string]int{"virtfusion": 200, "pterodactyl": 200, "kasm": 200}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunNeedsAFake(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"-virtfusion", "", "-pterodactyl", "", "-kasm", ""}, io.Discard)
	if err == nil {
		t.Fatal("run with every fake off succeeded")
	}
}
