// Package testbin builds the platform's executables for tests that run them
// as real processes: `ezscale` and the ezscale-plugin-* binaries.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Root returns the repository root: the nearest directory above the working
// directory that holds go.work.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testbin: no go.work above the working directory")
		}
		dir = parent
	}
}

// Core builds ./core/cmd/ezscale into dir and returns the executable's path.
func Core(dir string) (string, error) {
	return build(dir, ".", "./core/cmd/ezscale", "ezscale")
}

// Plugin builds plugins/<name> into dir as ezscale-plugin-<name>, from the
// plugins module, and returns the executable's path.
func Plugin(dir, name string) (string, error) {
	return build(dir, "plugins", "./"+name, "ezscale-plugin-"+name)
}

// Fakes builds plugins/cmd/ezscale-fakes (the fakes make demo serves: the
// panels, Discord, the mail catcher and stripe-mock behind its test mode)
// into dir and returns its path.
func Fakes(dir string) (string, error) {
	return build(dir, "plugins", "./cmd/ezscale-fakes", "ezscale-fakes")
}

// Test builds a main package of the root module (a test plugin under
// tests/) into dir as out, and returns the executable's path.
func Test(dir, pkg, out string) (string, error) {
	return build(dir, ".", pkg, out)
}

func build(dir, module, pkg, out string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("testbin: the go command is not on PATH: %w", err)
	}
	path := filepath.Join(dir, out)
	cmd := exec.Command(goBin, "build", "-o", path, pkg)
	cmd.Dir = filepath.Join(root, module)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build %s: %w\n%s", pkg, err, b)
	}
	return path, nil
}
