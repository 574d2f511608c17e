package httpapi

import "net/http"

// InstanceAPI tells a client about this installation before anyone logs in:
// the console reads it at start (product name; in a sandbox, where its mail
// catcher is).
type InstanceAPI struct {
	// ProductName is notifications.product_name.
	ProductName string
	// MailURL is sandbox.mail_url: the sandbox's mail catcher, "" outside
	// a sandbox.
	MailURL string
}

// InstanceView is GET /api/v1/instance.
type InstanceView struct {
	ProductName string `json:"product_name"`
	// Sandbox is null outside a sandbox.
	Sandbox *SandboxView `json:"sandbox"`
}

// SandboxView describes the tools beside a sandbox (make demo).
type SandboxView struct {
	// MailURL is the web inbox holding every email the sandbox sent.
	MailURL string `json:"mail_url"`
}

// Routes implements Module.
func (m *InstanceAPI) Routes(s *Server) {
	s.Handle(Route{Method: "GET", Path: "/api/v1/instance", Auth: Public, Handler: m.get})
}

func (m *InstanceAPI) get(w http.ResponseWriter, _ *http.Request) error {
	v := InstanceView{ProductName: m.ProductName}
	if m.MailURL != "" {
		v.Sandbox = &SandboxView{MailURL: m.MailURL}
	}
	return writeJSON(w, http.StatusOK, v)
}
