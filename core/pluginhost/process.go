package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// instance is one running plugin process.
type instance struct {
	client *plugin.Client
	cmd    *exec.Cmd
	cc     *grpc.ClientConn
	pid    int
	desc   *pb.DescribeResponse

	killOnce sync.Once
	killed   chan struct{} // closed by killHung
	reason   error
}

// killHung SIGKILLs a wedged process; the supervisor sees it exit and
// restarts it. Only the first reason is kept. killed is closed before the
// signal is sent, so whoever sees the process gone afterwards also sees
// why (exitError).
func (i *instance) killHung(reason error) {
	i.killOnce.Do(func() {
		i.reason = reason
		close(i.killed)
		if i.pid > 0 {
			_ = syscall.Kill(i.pid, syscall.SIGKILL)
		}
	})
}

// exitError says why the process ended, once it has: the reason it was
// killed for, else how it exited. (A process killed as hung would
// otherwise read "exited unexpectedly (signal: killed)" whenever the exit
// was noticed before the kill.)
func (i *instance) exitError() error {
	select {
	case <-i.killed:
		return i.reason
	default:
	}
	if i.cmd != nil && i.cmd.ProcessState != nil {
		return fmt.Errorf("plugin process exited unexpectedly (%s)", i.cmd.ProcessState)
	}
	return errors.New("plugin process exited unexpectedly")
}

// permanentError is a start failure that restarting cannot fix (a refused
// handshake, a checksum mismatch, an invalid config): the plugin goes to
// failed at once instead of crash-looping.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err: err} }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Refusal reasons, as sentinel errors so callers and tests can tell them
// apart with errors.Is.
var (
	ErrChecksumMismatch = errors.New("sha256 mismatch")
	ErrStdoutPollution  = errors.New("plugin wrote to stdout before the handshake")
	ErrMagicCookie      = errors.New("magic cookie mismatch")
	ErrProtocolVersion  = errors.New("protocol version mismatch")
)

// launcher starts plugin processes; shared by the host and Check.
type launcher struct {
	env          []string
	startTimeout time.Duration
}

// fixedName keeps go-plugin from appending the executable's name to the
// plugin's logger, so plugin logs appear under the plugin's name only.
type fixedName struct{ hclog.Logger }

func (f fixedName) Named(string) hclog.Logger { return f }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// launch execs path (or reattaches), completes the handshake and describes
// the plugin. It does not configure it.
func (l *launcher) launch(ctx context.Context, logger hclog.Logger, path, pin string, reattach *sdk.ReattachConfig) (*instance, error) {
	return l.launchIn(ctx, logger, path, pin, reattach, "")
}

// launchIn is launch with the plugin's data directory (none when empty),
// which it creates and names to the process in EZSCALE_PLUGIN_DATA_DIR.
func (l *launcher) launchIn(ctx context.Context, logger hclog.Logger, path, pin string, reattach *sdk.ReattachConfig, dataDir string) (*instance, error) {
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          sdk.PluginSet(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           fixedName{logger},
		StartTimeout:     l.startTimeout,
		SkipHostEnv:      true,
	}
	stderr := &headBuffer{limit: 8 << 10}
	cfg.Stderr = stderr
	var cmd *exec.Cmd
	if reattach != nil {
		rc, err := reattach.GoPlugin()
		if err != nil {
			return nil, permanent(err)
		}
		cfg.Reattach = rc
		cfg.AutoMTLS = false
	} else {
		if pin != "" {
			got, err := fileSHA256(path)
			if err != nil {
				return nil, permanent(fmt.Errorf("reading %s: %w", path, err))
			}
			if !strings.EqualFold(got, pin) {
				return nil, permanent(fmt.Errorf("refused: %w: %s has sha256 %s, the config pins %s", ErrChecksumMismatch, path, got, strings.ToLower(pin)))
			}
			want, _ := hex.DecodeString(pin)
			// go-plugin checks again right before exec, narrowing the
			// window for a swapped binary.
			cfg.SecureConfig = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
		}
		cmd = exec.Command(path)
		cmd.Env = l.env
		if dataDir != "" {
			if err := ensureDataDir(dataDir); err != nil {
				return nil, err
			}
			cmd.Env = append(slices.Clone(l.env), sdk.DataDirEnv+"="+dataDir)
		}
		cfg.Cmd = cmd
	}
	client := plugin.NewClient(cfg)
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, classifyStartError(path, err, stderr.String())
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispensing plugin: %w", err)
	}
	cc, ok := raw.(*grpc.ClientConn)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin client is %T, not a gRPC connection", raw)
	}
	inst := &instance{client: client, cmd: cmd, cc: cc, killed: make(chan struct{})}
	if rc := client.ReattachConfig(); rc != nil {
		inst.pid = rc.Pid
	}
	dctx, cancel := context.WithTimeout(ctx, l.startTimeout)
	defer cancel()
	inst.desc, err = sdk.NewPluginClient(cc).Describe(dctx)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("describe: %w", err)
	}
	if v := inst.desc.GetProtocolVersion(); v != 0 && v != sdk.ProtocolVersion {
		client.Kill()
		return nil, permanent(fmt.Errorf("refused: %w: plugin describes protocol %d, the core speaks %d", ErrProtocolVersion, v, sdk.ProtocolVersion))
	}
	return inst, nil
}

// ensureDataDir creates a plugin's data directory, private to the user the
// core runs as (0700), and tightens one that exists with looser modes.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the plugin's data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("the plugin's data directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("making the plugin's data directory private: %w", err)
		}
	}
	return nil
}

// PluginDataDir is the data directory of the plugin called name under
// root (pluginhost Options.DataDir), as an absolute path.
func PluginDataDir(root, name string) (string, error) {
	if root == "" {
		return "", nil
	}
	abs, err := filepath.Abs(filepath.Join(root, name))
	if err != nil {
		return "", fmt.Errorf("plugin %q: data directory: %w", name, err)
	}
	return abs, nil
}

// classifyStartError turns go-plugin's start errors into refusals that say
// which rule the plugin broke.
func classifyStartError(path string, err error, stderr string) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return permanent(fmt.Errorf("refused: %w: %s changed after it was checked", ErrChecksumMismatch, path))
	case strings.Contains(stderr, "This binary is a plugin"):
		// go-plugin's plugin side prints this and exits when the cookie
		// in its environment is not the one it was built with.
		return permanent(fmt.Errorf("refused: %w: the plugin did not accept the core's handshake cookie (built for another host, or not with the EZSCALE SDK)", ErrMagicCookie))
	case strings.Contains(msg, "incompatible API version") || strings.Contains(msg, "incompatible core API version"):
		return permanent(fmt.Errorf("refused: %w: %s", ErrProtocolVersion, strings.SplitN(msg, "\n", 2)[0]))
	case strings.Contains(msg, "Unrecognized remote plugin message: "):
		line := strings.TrimPrefix(strings.SplitN(msg, "\n", 2)[0], "Unrecognized remote plugin message: ")
		if line != "" {
			return permanent(fmt.Errorf("refused: %w (plugins must log to stderr); first line was %q", ErrStdoutPollution, line))
		}
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, exec.ErrNotFound):
		return permanent(fmt.Errorf("starting %s: %w", path, err))
	}
	if s := strings.TrimSpace(stderr); s != "" {
		return fmt.Errorf("starting plugin: %w; stderr: %s", err, s)
	}
	return fmt.Errorf("starting plugin: %w", err)
}

// headBuffer keeps the first limit bytes written to it: enough of a plugin's
// stderr to explain a failed start, without growing for its whole life.
type headBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *headBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// defaultEnv is the environment plugins get unless Options.Env is set.
func defaultEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ", sdk.LogLevelEnv} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
