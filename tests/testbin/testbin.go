// Package testbin builds the platform's executables for tests that run them
// as real processes: `ezscale` and the ezscale-plugin-* binaries.
//
// Builds are cached by content in a directory shared by every test binary
// (ezscale-testbin under the system's temporary directory): the key is a
// hash of the Go toolchain and settings, the build tags, the versions of
// the dependency modules and the files of the workspace's own packages the
// executable is made of. So an executable is built once however many
// packages' tests need it, and again only when its sources change; two
// test binaries needing the same executable at once build it once (a file
// lock), and a build is renamed into place only when complete.
package testbin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// TestTag is the build tag of the `ezscale` executable Core builds: it
// compiles in what only tests may use (see core/app/testclock), never
// present in a production build.
const TestTag = "ezscaletest"

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

// Core returns the path of ./core/cmd/ezscale built with TestTag.
func Core() (string, error) {
	return build(".", "./core/cmd/ezscale", "ezscale", TestTag)
}

// Plugin returns the path of plugins/<name> built from the plugins module
// as ezscale-plugin-<name>.
func Plugin(name string) (string, error) {
	return build("plugins", "./"+name, "ezscale-plugin-"+name, "")
}

// Fakes returns the path of plugins/cmd/ezscale-fakes (the fakes make demo
// serves: the panels, Discord, the mail catcher and stripe-mock behind its
// test mode).
func Fakes() (string, error) {
	return build("plugins", "./cmd/ezscale-fakes", "ezscale-fakes", "")
}

// Test returns the path of a main package of the root module (a test
// plugin under tests/) built as out.
func Test(pkg, out string) (string, error) {
	return build(".", pkg, out, "")
}

// Dir is the shared cache directory.
func Dir() string { return filepath.Join(os.TempDir(), "ezscale-testbin") }

// staleAfter: cached executables of a name unused this long are removed
// when another of that name is built.
const staleAfter = 24 * time.Hour

func build(module, pkg, out, tags string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("testbin: the go command is not on PATH: %w", err)
	}
	modDir := filepath.Join(root, module)
	key, err := contentKey(goBin, modDir, pkg, tags)
	if err != nil {
		return "", fmt.Errorf("testbin: hashing %s: %w", pkg, err)
	}
	dir := Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, out+"-"+key)
	if ready(path) {
		return path, nil
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	defer unlock()
	if ready(path) { // built while we waited for the lock
		return path, nil
	}
	tmp := path + ".building"
	args := []string{"build", "-o", tmp}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(goBin, append(args, pkg)...)
	cmd.Dir = modDir
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("testbin: go build %s: %w\n%s", pkg, err, b)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	prune(dir, out, path)
	return path, nil
}

// ready reports whether the executable exists, and marks it used.
func ready(path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now)
	return true
}

// prune removes executables of the same name that no build used for a day.
func prune(dir, out, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, out+"-*"))
	for _, p := range old {
		if p == keep || strings.HasSuffix(p, ".lock") || strings.HasSuffix(p, ".building") {
			continue
		}
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > staleAfter {
			_ = os.Remove(p)
			_ = os.Remove(p + ".lock")
		}
	}
}

// listFormat prints, per package the executable is made of: whether it is
// in the standard library, its module's path, version and replacement
// version, its directory and its source files.
const listFormat = `{{.Standard}}	{{with .Module}}{{.Path}}	{{.Version}}	{{with .Replace}}{{.Path}}@{{.Version}}{{end}}{{else}}		{{end}}	{{.Dir}}	` +
	`{{join .GoFiles " "}} {{join .CgoFiles " "}} {{join .EmbedFiles " "}} {{join .SFiles " "}} {{join .CFiles " "}} {{join .HFiles " "}}`

// contentKey hashes what the executable is built from: the toolchain and
// its settings, the tags, every dependency module's version, and the
// contents of the files of packages without one (the workspace's own).
func contentKey(goBin, modDir, pkg, tags string) (string, error) {
	h := sha256.New()
	env := exec.Command(goBin, "env", "GOVERSION", "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOAMD64")
	env.Dir = modDir
	b, err := env.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	fmt.Fprintf(h, "%s\ntags=%s\npkg=%s\n", b, tags, pkg)
	args := []string{"list", "-deps", "-f", listFormat}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	list := exec.Command(goBin, append(args, pkg)...)
	list.Dir = modDir
	var stderr bytes.Buffer
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 {
			return "", fmt.Errorf("go list: unexpected line %q", sc.Text())
		}
		standard, modPath, version, replace, dir, files := f[0], f[1], f[2], f[3], f[4], strings.Fields(f[5])
		switch {
		case standard == "true":
			continue // GOVERSION covers it
		case version != "" && (replace == "" || !strings.HasSuffix(replace, "@")):
			// A released module (or one replaced by another release): its
			// version names its content.
			fmt.Fprintf(h, "mod %s %s %s\n", modPath, version, replace)
			continue
		}
		fmt.Fprintf(h, "dir %s\n", dir)
		for _, name := range files {
			if err := hashFile(h, filepath.Join(dir, name)); err != nil {
				return "", err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "file %s\n", filepath.Base(path))
	_, err = io.Copy(h, f)
	return err
}
