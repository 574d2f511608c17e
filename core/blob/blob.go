package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/ezscale/platform/core/apperr"
)

// Backends.
const (
	BackendFile = "file"
	BackendS3   = "s3"
)

// Options say where blobs live.
type Options struct {
	// Backend is BackendFile (default) or BackendS3.
	Backend string
	// Dir is the file backend's directory (default "data/blobs").
	Dir string
	// Endpoint is the S3 endpoint URL ("" = AWS's own for Region).
	Endpoint string
	// Region is the S3 region (default "us-east-1").
	Region string
	// Bucket is the S3 bucket; it must exist.
	Bucket string
	// PathStyle addresses the bucket as a path (endpoint/bucket/key), as
	// most S3-compatible servers want, instead of a host name.
	PathStyle bool
	// Prefix is put before every key in the bucket or directory.
	Prefix string
	// SpoolDir holds the spool files of uploads in progress ("" = the
	// system's temporary directory).
	SpoolDir string
	// Env reads the credentials (nil: os.Getenv).
	Env func(string) string
}

// DefaultOptions are the defaults of the `blob` configuration block.
func DefaultOptions() Options {
	return Options{Backend: BackendFile, Dir: "data/blobs", Region: "us-east-1"}
}

// Info describes a stored blob.
type Info struct {
	// SHA256 is the hex SHA-256 of the bytes: the blob's address.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Store is a content-addressed blob store. It is safe for concurrent use.
type Store struct {
	opts Options

	mu     sync.Mutex
	bucket *gcblob.Bucket
}

// Open opens the store the options describe.
func Open(ctx context.Context, opts Options) (*Store, error) {
	d := DefaultOptions()
	if opts.Backend == "" {
		opts.Backend = d.Backend
	}
	if opts.Dir == "" {
		opts.Dir = d.Dir
	}
	if opts.Region == "" {
		opts.Region = d.Region
	}
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	s := &Store{opts: opts}
	switch opts.Backend {
	case BackendFile:
		// The directory is created when the store is first used, so a
		// process that never keeps a document leaves none behind.
		return s, nil
	case BackendS3:
		b, err := openS3(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("blob: opening the s3 store: %w", err)
		}
		s.bucket = s.prefixed(b)
		return s, nil
	}
	return nil, fmt.Errorf("blob: unknown backend %q (file or s3)", opts.Backend)
}

func (s *Store) prefixed(b *gcblob.Bucket) *gcblob.Bucket {
	if s.opts.Prefix == "" {
		return b
	}
	return gcblob.PrefixedBucket(b, strings.TrimSuffix(s.opts.Prefix, "/")+"/")
}

// b returns the bucket, opening the file backend's directory on first use.
func (s *Store) b() (*gcblob.Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket != nil {
		return s.bucket, nil
	}
	if err := os.MkdirAll(s.opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob: creating %s: %w", s.opts.Dir, err)
	}
	// Files are renamed into place from beside them (the same
	// filesystem), with no attribute side files.
	b, err := fileblob.OpenBucket(s.opts.Dir, &fileblob.Options{NoTempDir: true, DirFileMode: 0o750, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("blob: opening %s: %w", s.opts.Dir, err)
	}
	s.bucket = s.prefixed(b)
	return s.bucket, nil
}

func openS3(ctx context.Context, opts Options) (*gcblob.Bucket, error) {
	if opts.Bucket == "" {
		return nil, errors.New("blob.bucket is required with the s3 backend")
	}
	id, secret := opts.Env("AWS_ACCESS_KEY_ID"), opts.Env("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New("the s3 backend needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
	}
	cfg := aws.Config{
		Region:      opts.Region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, opts.Env("AWS_SESSION_TOKEN")),
		// S3-compatible stores do not all accept the trailing checksums
		// the SDK now sends by default; the store checks SHA-256 itself.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
	})
	return s3blob.OpenBucket(ctx, client, opts.Bucket, &s3blob.Options{RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
}

// Close releases the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket == nil {
		return nil
	}
	return s.bucket.Close()
}

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidHash reports whether h is a lower-case hex SHA-256.
func ValidHash(h string) bool { return hashPattern.MatchString(h) }

// key is where the blob of hash h lives: sha256/ab/abcdef….
func key(h string) string { return "sha256/" + h[:2] + "/" + h }

// ErrTooLarge is returned by Put when the bytes exceed its limit.
var ErrTooLarge = errors.New("blob: larger than the limit")

// Put stores the bytes r yields, at most limit of them (0: no limit),
// and returns their address. When want is not empty it is the hex SHA-256
// the caller claims for the bytes: on a mismatch nothing is stored and the
// error is Unprocessable (reason sha256_mismatch, field "sha256"). Bytes
// already stored are not written again (created is false). Errors:
// ErrTooLarge (wrapped in an Invalid application error, reason
// file_too_large), Invalid for a malformed want.
func (s *Store) Put(ctx context.Context, r io.Reader, want string, limit int64) (info Info, created bool, err error) {
	if want != "" && !ValidHash(want) {
		return Info{}, false, apperr.Field("sha256", "must be a lower-case hex SHA-256 (64 characters)")
	}
	spool, err := os.CreateTemp(s.opts.SpoolDir, "ezscale-blob-*")
	if err != nil {
		return Info{}, false, fmt.Errorf("blob: creating a spool file: %w", err)
	}
	defer func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}()
	h := sha256.New()
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(spool, h), src)
	if err != nil {
		return Info{}, false, fmt.Errorf("blob: reading the upload: %w", err)
	}
	if limit > 0 && n > limit {
		return Info{}, false, tooLarge(limit)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return Info{}, false, &apperr.Error{Code: apperr.Unprocessable, Reason: "sha256_mismatch",
			Message: "the uploaded bytes do not have the SHA-256 the request names; nothing was stored",
			Fields:  []apperr.FieldError{{Field: "sha256", Message: fmt.Sprintf("the bytes received hash to %s", got)}}}
	}
	info = Info{SHA256: got, Size: n}
	k := key(got)
	bucket, err := s.b()
	if err != nil {
		return Info{}, false, err
	}
	if ok, err := bucket.Exists(ctx, k); err != nil {
		return Info{}, false, fmt.Errorf("blob: looking up %s: %w", got, err)
	} else if ok {
		return info, false, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return Info{}, false, fmt.Errorf("blob: rewinding the spool file: %w", err)
	}
	err = bucket.Upload(ctx, k, spool, &gcblob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		// Written by another writer meanwhile: the same bytes.
		return info, false, nil
	}
	if err != nil {
		return Info{}, false, fmt.Errorf("blob: writing %s: %w", got, err)
	}
	return info, true, nil
}

// TooLarge is the error of a file over limit bytes: Invalid, reason
// file_too_large, naming the field "file"; it wraps ErrTooLarge.
func TooLarge(limit int64) error { return tooLarge(limit) }

func tooLarge(limit int64) error {
	return &apperr.Error{Code: apperr.Invalid, Reason: "file_too_large", Err: ErrTooLarge,
		Message: fmt.Sprintf("the file is larger than %d bytes", limit),
		Fields:  []apperr.FieldError{{Field: "file", Message: fmt.Sprintf("must be at most %d bytes", limit)}}}
}

// Stat returns the blob of hash h. Errors: NotFound.
func (s *Store) Stat(ctx context.Context, h string) (Info, error) {
	if !ValidHash(h) {
		return Info{}, apperr.NotFoundf("no such file")
	}
	bucket, err := s.b()
	if err != nil {
		return Info{}, err
	}
	a, err := bucket.Attributes(ctx, key(h))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return Info{}, apperr.NotFoundf("no such file")
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: reading the attributes of %s: %w", h, err)
	}
	return Info{SHA256: h, Size: a.Size}, nil
}

// Open streams the blob of hash h; the caller closes it. Errors: NotFound.
func (s *Store) Open(ctx context.Context, h string) (io.ReadCloser, Info, error) {
	if !ValidHash(h) {
		return nil, Info{}, apperr.NotFoundf("no such file")
	}
	bucket, err := s.b()
	if err != nil {
		return nil, Info{}, err
	}
	rd, err := bucket.NewReader(ctx, key(h), nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, Info{}, apperr.NotFoundf("no such file")
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: opening %s: %w", h, err)
	}
	return rd, Info{SHA256: h, Size: rd.Size()}, nil
}

// Verified wraps a blob's reader so that reading it to the end fails
// unless the bytes hash to want (a blob changed behind the store's back).
func Verified(r io.Reader, want string) io.Reader {
	return &verifier{r: r, h: sha256.New(), want: want}
}

type verifier struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	_, _ = v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("blob: stored file %s now hashes to %s: it was changed outside the store", v.want, got)
		}
	}
	return n, err
}

// Path is where the file backend keeps the blob of hash h (for tests and
// operators; "" for other backends).
func (s *Store) Path(h string) string {
	if s.opts.Backend != BackendFile || !ValidHash(h) {
		return ""
	}
	return filepath.Join(s.opts.Dir, filepath.FromSlash(strings.TrimSuffix(s.opts.Prefix, "/")), filepath.FromSlash(key(h)))
}
