package mailcatcher

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// ServeHTTP serves the web page and the JSON API (see the package doc).
func (c *Catcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.handler.ServeHTTP(w, r)
}

func (c *Catcher) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.inboxPage)
	mux.HandleFunc("GET /messages/{id}", c.messagePage)
	mux.HandleFunc("GET /messages/{id}/html", c.htmlPart)
	mux.HandleFunc("GET /api/v1/messages", c.listMessages)
	mux.HandleFunc("DELETE /api/v1/messages", func(w http.ResponseWriter, _ *http.Request) {
		c.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v1/messages/{id}", c.getMessage)
	mux.HandleFunc("GET /api/v1/messages/{id}/raw", c.rawMessage)
	return mux
}

// filtered returns the messages, newest first, sent to the "to" query
// parameter's address when there is one.
func (c *Catcher) filtered(r *http.Request) []Message {
	all := c.Messages()
	to := strings.TrimSpace(r.URL.Query().Get("to"))
	if to == "" {
		return all
	}
	out := make([]Message, 0, len(all))
	for _, m := range all {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, to) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func (c *Catcher) listMessages(w http.ResponseWriter, r *http.Request) {
	msgs := c.filtered(r)
	limit := len(msgs)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be a positive integer"})
			return
		}
		limit = min(n, limit)
	}
	data := make([]Summary, 0, limit)
	for _, m := range msgs[:limit] {
		data = append(data, m.Summary())
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total": len(msgs)})
}

func (c *Catcher) getMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := c.Message(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such message"})
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (c *Catcher) rawMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := c.Message(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Shown as text: a browser would otherwise offer to download it.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(m.Raw)
}

// htmlPart serves a message's HTML part under a sandbox policy: no script
// runs and nothing it loads can reach this origin.
func (c *Catcher) htmlPart(w http.ResponseWriter, r *http.Request) {
	m, ok := c.Message(r.PathValue("id"))
	if !ok || m.HTML == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(m.HTML))
}

func (c *Catcher) inboxPage(w http.ResponseWriter, r *http.Request) {
	page(w, http.StatusOK, inboxTmpl, map[string]any{"Messages": c.filtered(r), "To": r.URL.Query().Get("to")})
}

func (c *Catcher) messagePage(w http.ResponseWriter, r *http.Request) {
	m, ok := c.Message(r.PathValue("id"))
	if !ok {
		page(w, http.StatusNotFound, notFoundTmpl, nil)
		return
	}
	page(w, http.StatusOK, messageTmpl, m)
}

func page(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const layout = `{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · sandbox mail</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:.7rem 1.2rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:60rem;margin:1.2rem auto;padding:0 1.2rem}
table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ea}
th{font-weight:600;background:#eef0f3}td a{color:#0b57d0}
pre{white-space:pre-wrap;background:#fff;border:1px solid #e3e6ea;padding:.8rem;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;background:#fff;border:1px solid #e3e6ea;padding:.8rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
iframe{width:100%;height:32rem;border:1px solid #e3e6ea;background:#fff}
.empty{background:#fff;border:1px solid #e3e6ea;padding:1rem}
</style></head><body><header><a href="/">Sandbox mail</a></header><main>{{end}}`

var (
	inboxTmpl = template.Must(template.Must(template.New("inbox").Parse(layout)).Parse(`{{template "head" "Inbox"}}
<h1>Inbox{{if .To}} of {{.To}}{{end}}</h1>
<p>Every message the platform sent in this sandbox. Nothing left this machine. <a href="/api/v1/messages">JSON</a></p>
{{if .Messages}}<table><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead><tbody>
{{range .Messages}}<tr><td>{{.ReceivedAt.Format "15:04:05"}}</td><td>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</td><td><a href="/messages/{{.ID}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No mail yet. Sign up in the sandbox and the verification mail appears here (reload the page).</p>{{end}}
</main></body></html>`))

	messageTmpl = template.Must(template.Must(template.New("message").Parse(layout)).Parse(`{{template "head" .Subject}}
<h1>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h1>
<dl><dt>From</dt><dd>{{.From}}</dd><dt>To</dt><dd>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</dd>
<dt>Received</dt><dd>{{.ReceivedAt.Format "2006-01-02 15:04:05 UTC"}}</dd><dt>Size</dt><dd>{{.Size}} bytes</dd></dl>
{{if .Links}}<h2>Links</h2><ul>{{range .Links}}<li><a href="{{.}}" rel="noreferrer">{{.}}</a></li>{{end}}</ul>{{end}}
{{if .Text}}<h2>Text</h2><pre>{{.Text}}</pre>{{end}}
{{if .HTML}}<h2>HTML</h2><iframe sandbox src="/messages/{{.ID}}/html" title="HTML part"></iframe>{{end}}
<p><a href="/api/v1/messages/{{.ID}}/raw">Raw message</a> · <a href="/api/v1/messages/{{.ID}}">JSON</a></p>
</main></body></html>`))

	notFoundTmpl = template.Must(template.Must(template.New("notfound").Parse(layout)).Parse(`{{template "head" "Not found"}}
<h1>No such message</h1><p><a href="/">Back to the inbox</a></p></main></body></html>`))
)
