package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
)

// DataDirEnv names the plugin's private data directory. The core sets it
// for every plugin process (by default data/plugins/<name>/ beside the
// core's database, created 0700, kept across restarts and upgrades); Serve
// reads it, and DataDir returns it to the plugin's code.
const DataDirEnv = "EZSCALE_PLUGIN_DATA_DIR"

// OutcomesFile is the file, in the plugin's data directory, where
// Outcomes records outcomes. Do not write it yourself.
const OutcomesFile = "sdk-outcomes.db"

// DefaultOutcomeRetention is how long Outcomes keeps an outcome unless told
// otherwise (KeepFor): well beyond the core's retries of one call (hours),
// and beyond an operator's restore of a day-old database backup.
const DefaultOutcomeRetention = 30 * 24 * time.Hour

// pluginEnv is what the SDK gives every call it serves, through its
// context: the data directory and the outcome store opened in it.
type pluginEnv struct {
	dataDir string
	logger  hclog.Logger
	now     func() time.Time

	mu      sync.Mutex
	store   *outcomeStore
	memory  map[string]outcomeRecord // RememberInMemory records
	flights map[string]*outcomeFlight
}

func newPluginEnv(dataDir string, logger hclog.Logger) *pluginEnv {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &pluginEnv{dataDir: dataDir, logger: logger, now: time.Now,
		memory: map[string]outcomeRecord{}, flights: map[string]*outcomeFlight{}}
}

type envKey struct{}

func withEnv(ctx context.Context, e *pluginEnv) context.Context {
	return context.WithValue(ctx, envKey{}, e)
}

func envFrom(ctx context.Context) *pluginEnv {
	e, _ := ctx.Value(envKey{}).(*pluginEnv)
	return e
}

// DataDir returns the plugin's private data directory, for state the
// plugin keeps across restarts. It is set in the context of every call the
// SDK serves (Configure and kind calls alike) and is "" when the plugin
// was started without one (by a core older than this SDK, or by hand
// without EZSCALE_PLUGIN_DATA_DIR). The directory is the plugin's alone:
// one directory per plugin block of the core's config.
func DataDir(ctx context.Context) string {
	if e := envFrom(ctx); e != nil {
		return e.dataDir
	}
	return ""
}

// close closes the outcome store, if it was opened.
func (e *pluginEnv) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store == nil {
		return nil
	}
	err := e.store.db.Close()
	e.store = nil
	return err
}

// openStore opens the outcome store on first use.
func (e *pluginEnv) openStore() (*outcomeStore, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil {
		return e.store, nil
	}
	if e.dataDir == "" {
		return nil, Errorf(Internal, "no data directory (%s is not set), so outcomes cannot be recorded: the call is refused rather than risk acting twice; run the plugin under an ezscale core that gives plugins a data directory", DataDirEnv)
	}
	if err := os.MkdirAll(e.dataDir, 0o700); err != nil {
		return nil, Errorf(Internal, "creating the data directory: %v", err)
	}
	db, err := bolt.Open(filepath.Join(e.dataDir, OutcomesFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, UnavailableError(5*time.Second, "the data directory %s is in use by another process of this plugin", e.dataDir)
	}
	if err != nil {
		return nil, Errorf(Internal, "opening the outcome store: %v", err)
	}
	e.store = &outcomeStore{db: db, now: e.now}
	if err := e.store.prune(); err != nil {
		e.logger.Warn("pruning expired outcomes", "error", err)
	}
	return e.store, nil
}

// outcomeRecord is one recorded outcome: a response (its proto encoding)
// or an error that replays.
type outcomeRecord struct {
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
	Value   []byte    `json:"value,omitempty"`
	Kind    ErrorKind `json:"kind,omitempty"`
	Message string    `json:"message,omitempty"`
	Field   string    `json:"field,omitempty"`
}

// outcomeStore is the bbolt file in the data directory: a bucket per
// operation, a record per key. Every write is committed with an fsync
// before Do returns.
type outcomeStore struct {
	db  *bolt.DB
	now func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

var outcomesBucket = []byte("outcomes")

func (s *outcomeStore) get(op, key string) (outcomeRecord, bool, error) {
	var rec outcomeRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(outcomesBucket)
		if b != nil {
			b = b.Bucket([]byte(op))
		}
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	if err != nil || !found || !s.now().Before(rec.Expires) {
		return outcomeRecord{}, false, err
	}
	return rec, true, nil
}

func (s *outcomeStore) put(op, key string, rec outcomeRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(outcomesBucket)
		if err != nil {
			return err
		}
		b, err := root.CreateBucketIfNotExists([]byte(op))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	due := s.now().Sub(s.lastPrune) >= time.Hour
	s.mu.Unlock()
	if due {
		return s.prune()
	}
	return nil
}

// prune deletes expired records.
func (s *outcomeStore) prune() error {
	now := s.now()
	s.mu.Lock()
	s.lastPrune = now
	s.mu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(outcomesBucket)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(op []byte) error {
			c := root.Bucket(op).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				var rec outcomeRecord
				if json.Unmarshal(v, &rec) != nil || !now.Before(rec.Expires) {
					if err := c.Delete(); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

type outcomeFlight struct {
	done chan struct{}
	val  proto.Message
	err  error
}

// replays reports whether an error outcome is recorded and returned to
// later calls with the same key: only a refusal that a repeat of the same
// request would meet again (InvalidInput, NotFound, NotSupported). A
// transient failure (Unavailable, Capacity, Conflict, Unauthenticated,
// Internal, a deadline) is not recorded: the next call with the key runs
// again, and may succeed.
func replays(err error) bool {
	switch KindOf(err) {
	case InvalidInput, NotFound, NotSupported:
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// Outcomes makes one operation of a plugin idempotent per key for a backend
// that has no idempotency keys of its own: Do records each key's outcome in
// the plugin's data directory, and a repeat with the same key returns it
// without acting again, also after the plugin restarted.
//
// The answers to an author's questions:
//
//   - Where: in OutcomesFile in the plugin's data directory (DataDir), a
//     bbolt file written with an fsync before Do returns. Without a data
//     directory Do refuses the call (Internal) rather than act unrecorded.
//   - What replays: a success, and the refusals a repeat would meet again:
//     InvalidInput, NotFound, NotSupported. Unavailable, Capacity, Conflict,
//     Unauthenticated and Internal are not recorded: the core retries them
//     with the same key, and the retry runs fn again.
//   - Scope: a key belongs to one plugin (its data directory) and one
//     operation (the name given to NewOutcomes): "k" of "create" and "k" of
//     "power" are two keys. Two operations must not share a name.
//   - How long: DefaultOutcomeRetention (30 days), or KeepFor; expired
//     records are deleted when the store opens and hourly as it is written.
//   - After a restart: the records are on disk, so a repeat replays. A call
//     that was in flight when the process died has no record: its repeat
//     runs fn again, so fn must reconcile first: find what an earlier
//     attempt may have made at the backend by the service id
//     (ServiceRef.service_id, e.g. in the object's name) before creating
//     anything. Reconciliation is also what saves you when the record is
//     lost (a new machine, a deleted directory, another core replica with
//     its own directory).
//   - Concurrency: calls with the same key share one run of fn; a caller
//     whose context ends while waiting gets its context's error.
//
// Create an Outcomes once, in a package variable or the plugin's
// constructor; T is the operation's response message:
//
//	var creates = sdk.NewOutcomes[*pb.CreateResponse]("create")
//
//	func (p *Plugin) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
//		return creates.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.CreateResponse, error) {
//			if s, err := p.findByServiceID(ctx, req.GetService().GetServiceId()); err != nil || s != nil {
//				return statusOf(s), err // made by an earlier attempt: adopt it
//			}
//			return p.create(ctx, req.GetService())
//		})
//	}
//
// Do works inside calls the SDK serves (Serve, plugintest), which carry the
// data directory in their context.
type Outcomes[T proto.Message] struct {
	op     string
	keep   time.Duration
	memory bool
}

// OutcomeOption configures NewOutcomes.
type OutcomeOption func(*outcomeOptions)

type outcomeOptions struct {
	keep   time.Duration
	memory bool
}

// KeepFor sets how long outcomes are kept (default
// DefaultOutcomeRetention). Keep them longer than the core may retry a
// call: at least a day.
func KeepFor(d time.Duration) OutcomeOption { return func(o *outcomeOptions) { o.keep = d } }

// RememberInMemory keeps outcomes in the process only, never on disk: for
// responses that carry a secret (a new password) where acting again after
// a restart is harmless. Concurrent and repeated calls are still answered
// once per process.
func RememberInMemory() OutcomeOption { return func(o *outcomeOptions) { o.memory = true } }

// NewOutcomes returns the outcome record of one operation, named
// operation ("create", "power"): the scope of its keys.
func NewOutcomes[T proto.Message](operation string, opts ...OutcomeOption) *Outcomes[T] {
	o := outcomeOptions{keep: DefaultOutcomeRetention}
	for _, opt := range opts {
		opt(&o)
	}
	if operation == "" {
		panic("sdk: NewOutcomes needs an operation name")
	}
	return &Outcomes[T]{op: operation, keep: o.keep, memory: o.memory}
}

// Do returns the recorded outcome of key, or runs fn once and records its
// outcome (see Outcomes for what is recorded and for how long).
func (o *Outcomes[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	e := envFrom(ctx)
	if e == nil {
		return zero, Errorf(Internal, "sdk: Outcomes.Do called outside a call served by the SDK (Serve or plugintest): no data directory")
	}
	if key == "" {
		return zero, FieldErrorf("idempotency_key", "is required for this call")
	}
	var store *outcomeStore
	if !o.memory {
		var err error
		if store, err = e.openStore(); err != nil {
			return zero, err
		}
	}
	id := o.op + "\x00" + key

	e.mu.Lock()
	if f, ok := e.flights[id]; ok {
		e.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
		if f.err != nil {
			return zero, f.err
		}
		return f.val.(T), nil
	}
	f := &outcomeFlight{done: make(chan struct{})}
	e.flights[id] = f
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.flights, id)
		e.mu.Unlock()
		close(f.done)
	}()

	rec, found, err := o.lookup(e, store, id, key)
	if err != nil {
		f.err = Errorf(Internal, "reading the recorded outcome: %v", err)
		return zero, f.err
	}
	if found {
		v, err := o.decode(rec)
		f.val, f.err = v, err
		return v, err
	}
	v, err := fn(ctx)
	f.val, f.err = v, err
	if err != nil && !replays(err) {
		return v, err
	}
	now := e.now()
	rec = outcomeRecord{At: now, Expires: now.Add(o.keep)}
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			rec.Kind, rec.Message, rec.Field = se.Kind, se.Message, se.Field
		} else {
			rec.Kind, rec.Message = KindOf(err), err.Error()
		}
	} else if rec.Value, err = proto.Marshal(v); err != nil {
		e.logger.Error("encoding an outcome to record it", "operation", o.op, "error", err)
		return v, nil
	}
	if o.memory {
		e.remember(id, rec)
	} else if werr := store.put(o.op, key, rec); werr != nil {
		// The backend acted: answer what happened, and say loudly that a
		// repeat will act again (reconciliation must catch it).
		e.logger.Error("recording an outcome failed; a repeat of this key will run again", "operation", o.op, "error", werr)
	}
	return v, f.err
}

// maxMemoryOutcomes bounds the records RememberInMemory keeps; past it the
// oldest go first.
const maxMemoryOutcomes = 10000

func (e *pluginEnv) remember(id string, rec outcomeRecord) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.memory[id] = rec
	if len(e.memory) <= maxMemoryOutcomes {
		return
	}
	now := e.now()
	oldest, at := "", time.Time{}
	for k, r := range e.memory {
		if !now.Before(r.Expires) {
			delete(e.memory, k)
			continue
		}
		if oldest == "" || r.At.Before(at) {
			oldest, at = k, r.At
		}
	}
	if len(e.memory) > maxMemoryOutcomes {
		delete(e.memory, oldest)
	}
}

func (o *Outcomes[T]) lookup(e *pluginEnv, store *outcomeStore, id, key string) (outcomeRecord, bool, error) {
	if o.memory {
		e.mu.Lock()
		defer e.mu.Unlock()
		rec, ok := e.memory[id]
		if ok && !e.now().Before(rec.Expires) {
			delete(e.memory, id)
			ok = false
		}
		return rec, ok, nil
	}
	return store.get(o.op, key)
}

func (o *Outcomes[T]) decode(rec outcomeRecord) (T, error) {
	var zero T
	if rec.Kind != 0 {
		return zero, &Error{Kind: rec.Kind, Message: rec.Message, Field: rec.Field}
	}
	m := zero.ProtoReflect().Type().New().Interface().(T)
	if err := proto.Unmarshal(rec.Value, m); err != nil {
		return zero, Errorf(Internal, "decoding the recorded outcome of %s: %v", o.op, err)
	}
	return m, nil
}

// String names the operation, for logs.
func (o *Outcomes[T]) String() string { return fmt.Sprintf("outcomes of %s", o.op) }
