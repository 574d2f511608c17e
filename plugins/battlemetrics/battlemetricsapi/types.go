package battlemetricsapi

import (
	"encoding/json"
	"time"
)

// Server is a BattleMetrics server resource ("type":"server").
type Server struct {
	Type          string           `json:"type"`
	ID            string           `json:"id"`
	Attributes    ServerAttributes `json:"attributes"`
	Relationships Relationships    `json:"relationships"`
}

// Game returns the id of the server's game ("rust", "minecraft", …).
func (s *Server) Game() string { return s.Relationships.Game.Data.ID }

// ServerAttributes are a server's public attributes. Rank is nil when the
// server is de-ranked; Address (a DNS name) may be nil.
type ServerAttributes struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Address    *string         `json:"address"`
	IP         string          `json:"ip"`
	Port       int             `json:"port"`
	PortQuery  int             `json:"portQuery"`
	Players    int             `json:"players"`
	MaxPlayers int             `json:"maxPlayers"`
	Rank       *int            `json:"rank"`
	Location   []float64       `json:"location"`
	Status     string          `json:"status"`
	Details    json.RawMessage `json:"details"`
	Private    bool            `json:"private"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Country    string          `json:"country"`
	// QueryStatus is BattleMetrics' last query of the server itself
	// ("valid", "timeout", …).
	QueryStatus string `json:"queryStatus,omitempty"`
}

// Map returns details.map, which most games report ("" otherwise).
func (a *ServerAttributes) Map() string {
	var d struct {
		Map string `json:"map"`
	}
	if len(a.Details) > 0 {
		_ = json.Unmarshal(a.Details, &d)
	}
	return d.Map
}

// Relationships are a server's links to other resources.
type Relationships struct {
	Game struct {
		Data ResourceID `json:"data"`
	} `json:"game"`
}

// ResourceID identifies a JSON:API resource.
type ResourceID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Links are a list document's cursor links: full URLs, absent at the end.
type Links struct {
	Next string `json:"next,omitempty"`
	Prev string `json:"prev,omitempty"`
}

// ServerPage is one page of GET /servers.
type ServerPage struct {
	Data     []Server          `json:"data"`
	Included []json.RawMessage `json:"included"`
	Links    Links             `json:"links"`
}

// serverDocument is GET /servers/{id}.
type serverDocument struct {
	Data     Server            `json:"data"`
	Included []json.RawMessage `json:"included"`
}

// DataPoint is one point of a history series ("type":"dataPoint").
type DataPoint struct {
	Type       string `json:"type"`
	Attributes struct {
		Timestamp time.Time `json:"timestamp"`
		Value     int       `json:"value"`
		Min       *int      `json:"min,omitempty"`
		Max       *int      `json:"max,omitempty"`
	} `json:"attributes"`
}

type historyDocument struct {
	Data []DataPoint `json:"data"`
}

// ErrorDocument is a JSON:API error body.
type ErrorDocument struct {
	Errors []ErrorObject `json:"errors"`
}

// ErrorObject is one JSON:API error.
type ErrorObject struct {
	Status string `json:"status,omitempty"`
	Code   string `json:"code,omitempty"`
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
}
