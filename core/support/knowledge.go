package support

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en" // the "en" analyzer: stemming and English stop words
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	bleveindex "github.com/blevesearch/bleve_index_api"
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

// Knowledge is the knowledge base: the articles of a folder, indexed in
// memory for full-text search ranked by BM25 (bleve's scorch index with
// the BM25 scoring model and the English analyzer: stemming, stop words).
// It is read-only once loaded.
type Knowledge struct {
	index    bleve.Index
	articles map[string]Article
}

// LoadKnowledge indexes every *.md file under fsys (recursively; nil: no
// articles). An
// article's title is its first "# " heading, else its file name; its URL
// is baseURL joined with its id when baseURL is set.
func LoadKnowledge(fsys fs.FS, baseURL string) (*Knowledge, error) {
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
	k := &Knowledge{index: idx, articles: map[string]Article{}}
	if fsys == nil {
		return k, nil
	}
	batch := idx.NewBatch()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".md") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if len(b) > maxArticleBytes {
			b = b[:maxArticleBytes]
		}
		a := parseArticle(p, string(b), baseURL)
		k.articles[a.ID] = a
		return batch.Index(a.ID, map[string]any{"title": a.Title, "text": a.Text})
	})
	if err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("support: reading the knowledge base: %w", err)
	}
	if err := idx.Batch(batch); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("support: indexing the knowledge base: %w", err)
	}
	return k, nil
}

// LoadKnowledgeDir loads the articles of a folder; "" is an empty
// knowledge base.
func LoadKnowledgeDir(dir, baseURL string) (*Knowledge, error) {
	if dir == "" {
		return LoadKnowledge(nil, baseURL)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("support: knowledge_dir %q is not a readable folder", dir)
	}
	return LoadKnowledge(os.DirFS(dir), baseURL)
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

// Len is the number of articles.
func (k *Knowledge) Len() int { return len(k.articles) }

// Article returns one article by id.
func (k *Knowledge) Article(id string) (Article, bool) {
	a, ok := k.articles[id]
	return a, ok
}

// Search returns the n articles that best match the question, best first
// (BM25 over the title, weighted double, and the text).
func (k *Knowledge) Search(question string, n int) ([]Article, error) {
	if n <= 0 || len(k.articles) == 0 || strings.TrimSpace(question) == "" {
		return nil, nil
	}
	title := query.NewMatchQuery(question)
	title.SetField("title")
	title.SetBoost(2)
	text := query.NewMatchQuery(question)
	text.SetField("text")
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery([]query.Query{title, text}), n, 0, false)
	res, err := k.index.Search(req)
	if err != nil {
		return nil, fmt.Errorf("support: searching the knowledge base: %w", err)
	}
	hits := res.Hits
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	out := make([]Article, 0, len(hits))
	for _, h := range hits {
		if a, ok := k.articles[h.ID]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// Close releases the index.
func (k *Knowledge) Close() error { return k.index.Close() }
