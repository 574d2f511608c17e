// Package gtpage reads a GameTracker server page (…/server_info/{host}:{port}/).
// GameTracker has no API: the page's markup is the only source, and the
// ids and classes it is read by (#HTML_num_players, #HTML_max_players,
// #HTML_curr_map, .item_color_success "Alive", the "Name:" and "Rank:"
// labels of .item_color_title) come from community scrapers and change
// without notice. Parse therefore reports ErrLayout when the player counts
// cannot be found, and callers treat that as stale data, never as a
// failure of their own.
package gtpage

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// ErrLayout means the page parsed as HTML but does not carry the player
// counts where GameTracker's pages have had them.
var ErrLayout = errors.New("gametracker: the server page does not have the expected layout")

// Page is what a server page shows.
type Page struct {
	Name       string
	Online     bool // status "Alive"
	Players    int
	MaxPlayers int
	Map        string
	// Rank is 0 when the page shows none (N/A).
	Rank int
}

// Parse reads a server page. It returns ErrLayout when the player counts
// are missing or not numbers.
func Parse(r io.Reader) (*Page, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return nil, err
	}
	byID := map[string]*html.Node{}
	var titles []*html.Node
	online := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				byID[id] = n
			}
			classes := strings.Fields(attr(n, "class"))
			for _, c := range classes {
				switch c {
				case "item_color_title":
					titles = append(titles, n)
				case "item_color_success":
					if strings.EqualFold(text(n), "Alive") {
						online = true
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)

	p := &Page{Online: online}
	players, ok1 := number(byID["HTML_num_players"])
	maxPlayers, ok2 := number(byID["HTML_max_players"])
	if !ok1 || !ok2 {
		return nil, ErrLayout
	}
	p.Players, p.MaxPlayers = players, maxPlayers
	if m := byID["HTML_curr_map"]; m != nil {
		p.Map = text(m)
	}
	for _, t := range titles {
		switch strings.TrimSpace(text(t)) {
		case "Name:":
			p.Name = strings.TrimSpace(followingText(t, 1))
		case "Rank:":
			p.Rank = leadingInt(followingText(t, 2))
		}
	}
	return p, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the node's text content, spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// followingText joins the text of up to elements non-empty siblings after
// n, stopping at a <br>: a label's value follows it on the same line.
func followingText(n *html.Node, elements int) string {
	var parts []string
	for s := n.NextSibling; s != nil && elements > 0; s = s.NextSibling {
		if s.Type == html.ElementNode && s.Data == "br" {
			break
		}
		t := text(s)
		if s.Type == html.TextNode {
			t = strings.TrimSpace(s.Data)
		}
		if t == "" {
			continue
		}
		parts = append(parts, t)
		elements--
	}
	return strings.Join(parts, " ")
}

// number reads an element holding a whole number ("1,024" included).
func number(n *html.Node) (int, bool) {
	if n == nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.ReplaceAll(text(n), ",", ""))
	return v, err == nil && v >= 0
}

// leadingInt reads "1,085th …" as 1085; 0 when it starts with no digit.
func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != ',' })
	if end < 0 {
		end = len(s)
	}
	v, _ := strconv.Atoi(strings.ReplaceAll(s[:end], ",", ""))
	return v
}
