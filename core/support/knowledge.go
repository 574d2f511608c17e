package support

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en" // the "en" analyzer: stemming and English stop words
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	bleveindex "github.com/blevesearch/bleve_index_api"
	"github.com/hashicorp/go-hclog"
)

// Article is one knowledge-base article: a markdown file of the configured
// folder.
type Article struct {
	// ID is the file's path under the folder without ".md"
	// ("billing/refunds"); answers cite it.
	ID    string `json:"id"`
	Title string `json:"title"`
	// URL is the article's public address (Options.KnowledgeURL + ID), or
	// empty.
	URL  string `json:"url"`
	Text string `json:"-"`
}

// maxArticleBytes bounds one article's text: the rest is not indexed or
// sent.
const maxArticleBytes = 64 << 10

// KnowledgeOptions configure a knowledge base.
type KnowledgeOptions struct {
	// BaseURL is the articles' public address: an article's URL is
	// BaseURL joined with its id (empty: articles have no URL).
	BaseURL string
	// Logger reports skipped articles and unreadable folders; nil: none.
	Logger hclog.Logger
	// Now is the clock of IndexedAt and CheckedAt; nil: the wall clock.
	Now func() time.Time
}

// Knowledge is the knowledge base: the articles of a folder, indexed in
// memory for full-text search ranked by BM25 (bleve's scorch index with
// the BM25 scoring model and the English analyzer: stemming, stop words).
//
// The index in use is never changed. Refresh (the periodic check) and
// Reload (staff's "reload now") build a new index off to the side and swap
// it in atomically: a search holds no lock that indexing takes, and one in
// flight on the old index finishes on it (the old index is closed once
// its last search is done). A folder that cannot be read, or that reads
// as empty after holding articles, keeps the index in use.
type Knowledge struct {
	fsys fs.FS
	opts KnowledgeOptions
	log  hclog.Logger

	cur atomic.Pointer[knowledgeIndex]

	// build serializes builds and Close; searches never take it.
	build  sync.Mutex
	closed bool

	mu        sync.Mutex // guards checkedAt and lastErr
	checkedAt time.Time
	lastErr   string
}

// knowledgeIndex is one immutable build of the knowledge base.
type knowledgeIndex struct {
	// mu is held shared by searches and exclusively by close, so the
	// index is closed only once no search uses it.
	mu       sync.RWMutex
	retired  bool
	index    bleve.Index
	articles map[string]Article
	// state is the fingerprint of the folder this index was built from;
	// skipped the articles that could not be read.
	state     string
	skipped   []string
	indexedAt time.Time
}

// errRetired: the index was swapped out and closed under a search.
var errRetired = errors.New("support: the knowledge index was replaced")

// LoadKnowledge indexes every *.md file under fsys (recursively; nil: no
// articles, ever). An article's title is its first "# " heading, else its
// file name. An article that cannot be read is skipped (logged); a folder
// that cannot be read at all is an error.
func LoadKnowledge(fsys fs.FS, opts KnowledgeOptions) (*Knowledge, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k := &Knowledge{fsys: fsys, opts: opts, log: opts.Logger}
	if k.log == nil {
		k.log = hclog.NewNullLogger()
	}
	var files []string
	var state string
	if fsys != nil {
		var err error
		if files, state, err = scanKnowledge(fsys); err != nil {
			return nil, fmt.Errorf("support: reading the knowledge base: %w", err)
		}
	}
	idx, err := k.index(files, state)
	if err != nil {
		return nil, err
	}
	k.cur.Store(idx)
	k.checked(nil)
	return k, nil
}

// LoadKnowledgeDir loads the articles of a folder; "" is an empty
// knowledge base.
func LoadKnowledgeDir(dir string, opts KnowledgeOptions) (*Knowledge, error) {
	if dir == "" {
		return LoadKnowledge(nil, opts)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("support: knowledge_dir %q is not a readable folder", dir)
	}
	return LoadKnowledge(os.DirFS(dir), opts)
}

// scanKnowledge walks the folder: the markdown files, and a fingerprint of
// their names, sizes and modification times (and of the subfolders that
// could not be listed). It reads no article. Only a folder whose root
// cannot be listed is an error.
func scanKnowledge(fsys fs.FS) ([]string, string, error) {
	var files []string
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			fmt.Fprintf(h, "%s\x00unlisted\n", p)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".md") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			fmt.Fprintf(h, "%s\x00gone\n", p)
			return nil
		}
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", p, info.Size(), strconv.FormatInt(info.ModTime().UnixNano(), 10))
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// index builds a new index of the files (not yet in use). An article that
// cannot be read is skipped with a warning naming it.
func (k *Knowledge) index(files []string, state string) (*knowledgeIndex, error) {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = "en"
	m.ScoringModel = bleveindex.BM25Scoring
	doc := bleve.NewDocumentMapping()
	title := bleve.NewTextFieldMapping()
	title.Analyzer = "en"
	text := bleve.NewTextFieldMapping()
	text.Analyzer = "en"
	text.Store = false
	doc.AddFieldMappingsAt("title", title)
	doc.AddFieldMappingsAt("text", text)
	m.DefaultMapping = doc
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("support: creating the knowledge index: %w", err)
	}
	out := &knowledgeIndex{index: idx, articles: map[string]Article{}, state: state, skipped: []string{}, indexedAt: k.opts.Now().UTC()}
	batch := idx.NewBatch()
	for _, p := range files {
		b, err := fs.ReadFile(k.fsys, p)
		if err != nil {
			k.log.Warn("knowledge-base article skipped: it cannot be read", "file", p, "error", err)
			out.skipped = append(out.skipped, p)
			continue
		}
		if len(b) > maxArticleBytes {
			b = b[:maxArticleBytes]
		}
		a := parseArticle(p, string(b), k.opts.BaseURL)
		out.articles[a.ID] = a
		if err := batch.Index(a.ID, map[string]any{"title": a.Title, "text": a.Text}); err != nil {
			_ = idx.Close()
			return nil, fmt.Errorf("support: indexing article %s: %w", p, err)
		}
	}
	if err := idx.Batch(batch); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("support: indexing the knowledge base: %w", err)
	}
	return out, nil
}

func parseArticle(p, body, baseURL string) Article {
	id := strings.TrimSuffix(p, path.Ext(p))
	a := Article{ID: id, Title: path.Base(id), Text: body}
	for _, line := range strings.Split(body, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok && strings.TrimSpace(t) != "" {
			a.Title = strings.TrimSpace(t)
			break
		}
	}
	if baseURL != "" {
		a.URL = strings.TrimSuffix(baseURL, "/") + "/" + id
	}
	return a
}

// Refresh is the periodic check: it walks the folder and, when a file was
// added, removed or changed (name, size or modification time) or a
// skipped article became readable, builds a new index and swaps it in. It
// reports whether it did. An unchanged folder costs one walk. A folder
// that cannot be read is an error, and a folder that now holds no article
// where the index in use has some is refused (a folder being replaced
// reads empty for a moment; Reload accepts it): either way the index in
// use stays.
func (k *Knowledge) Refresh() (bool, error) { return k.refresh(false) }

// Reload builds a new index now, whether or not the folder looks changed
// (an edit that kept a file's size and modification time), and swaps it
// in. An emptied folder is accepted; a folder that cannot be read, or
// whose every article fails to read, keeps the index in use (error).
func (k *Knowledge) Reload() error {
	_, err := k.refresh(true)
	return err
}

func (k *Knowledge) refresh(force bool) (bool, error) {
	if k.fsys == nil {
		k.checked(nil)
		return false, nil
	}
	k.build.Lock()
	defer k.build.Unlock()
	if k.closed {
		return false, errors.New("support: the knowledge base is closed")
	}
	old := k.cur.Load()
	files, state, err := scanKnowledge(k.fsys)
	if err != nil {
		err = fmt.Errorf("support: the knowledge folder cannot be read: %w", err)
		k.log.Error("the knowledge base was not refreshed: its folder cannot be read; the articles indexed before stay in use",
			"articles", len(old.articles), "indexed_at", old.indexedAt, "error", err)
		k.checked(err)
		return false, err
	}
	if !force && state == old.state && !old.readable(k.fsys) {
		k.checked(nil)
		return false, nil
	}
	next, err := k.index(files, state)
	if err != nil {
		k.log.Error("the knowledge base was not refreshed; the articles indexed before stay in use", "error", err)
		k.checked(err)
		return false, err
	}
	if len(next.articles) == 0 && len(old.articles) > 0 && (!force || len(next.skipped) > 0) {
		_ = next.index.Close()
		err := fmt.Errorf("support: the knowledge folder has no readable article (%d skipped); the %d articles indexed before stay in use",
			len(next.skipped), len(old.articles))
		k.log.Error("the knowledge base was not refreshed", "error", err)
		k.checked(err)
		return false, err
	}
	k.cur.Store(next)
	k.checked(nil)
	k.log.Info("support knowledge base indexed", "articles", len(next.articles), "skipped", len(next.skipped))
	old.close()
	return true, nil
}

// readable reports whether an article this index skipped can be read now.
func (x *knowledgeIndex) readable(fsys fs.FS) bool {
	for _, p := range x.skipped {
		if _, err := fs.ReadFile(fsys, p); err == nil {
			return true
		}
	}
	return false
}

// close closes the index once the searches in flight on it are done.
func (x *knowledgeIndex) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.retired {
		return nil
	}
	x.retired = true
	return x.index.Close()
}

func (k *Knowledge) checked(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.checkedAt = k.opts.Now().UTC()
	k.lastErr = ""
	if err != nil {
		k.lastErr = err.Error()
	}
}

// Watch runs Refresh on every tick until ctx ends. Failures are logged
// by Refresh; the index in use stays.
func (k *Knowledge) Watch(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		_, _ = k.Refresh()
	}
}

// KnowledgeStatus describes the knowledge base of this process.
type KnowledgeStatus struct {
	// Configured is false when no folder is set (no articles, ever).
	Configured bool `json:"configured"`
	// Articles is how many articles the index in use holds, indexed at
	// IndexedAt; Skipped the files it left out because they could not be
	// read.
	Articles  int       `json:"articles"`
	IndexedAt time.Time `json:"indexed_at"`
	Skipped   []string  `json:"skipped"`
	// CheckedAt is the last look at the folder; Error why it failed, or
	// empty.
	CheckedAt time.Time `json:"checked_at"`
	Error     string    `json:"error"`
}

// Status describes the index in use and the last check.
func (k *Knowledge) Status() KnowledgeStatus {
	x := k.cur.Load()
	k.mu.Lock()
	defer k.mu.Unlock()
	return KnowledgeStatus{Configured: k.fsys != nil, Articles: len(x.articles), IndexedAt: x.indexedAt, Skipped: append([]string{}, x.skipped...),
		CheckedAt: k.checkedAt, Error: k.lastErr}
}

// Len is the number of articles.
func (k *Knowledge) Len() int { return len(k.cur.Load().articles) }

// Article returns one article by id.
func (k *Knowledge) Article(id string) (Article, bool) {
	a, ok := k.cur.Load().articles[id]
	return a, ok
}

// Search returns the n articles that best match the question, best first
// (BM25 over the title, weighted double, and the text).
func (k *Knowledge) Search(question string, n int) ([]Article, error) {
	for {
		x := k.cur.Load()
		out, err := x.search(question, n)
		if errors.Is(err, errRetired) && k.cur.Load() != x {
			continue // swapped out under this search: ask the new index
		}
		return out, err
	}
}

func (x *knowledgeIndex) search(question string, n int) ([]Article, error) {
	if n <= 0 || len(x.articles) == 0 || strings.TrimSpace(question) == "" {
		return nil, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.retired {
		return nil, errRetired
	}
	title := query.NewMatchQuery(question)
	title.SetField("title")
	title.SetBoost(2)
	text := query.NewMatchQuery(question)
	text.SetField("text")
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery([]query.Query{title, text}), n, 0, false)
	res, err := x.index.Search(req)
	if err != nil {
		return nil, fmt.Errorf("support: searching the knowledge base: %w", err)
	}
	hits := res.Hits
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	out := make([]Article, 0, len(hits))
	for _, h := range hits {
		if a, ok := x.articles[h.ID]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// Close releases the index; the knowledge base is not refreshed after.
func (k *Knowledge) Close() error {
	k.build.Lock()
	defer k.build.Unlock()
	k.closed = true
	return k.cur.Load().close()
}
