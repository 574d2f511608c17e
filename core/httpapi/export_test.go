package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"
)

// StubHandler serves every registered route through the middleware Handle
// gives it, rate limits left out, with stub in place of the route's
// handler: the role matrix test calls each route as each role without
// running what the route does.
func (s *Server) StubHandler(stub HandlerFunc) http.Handler {
	router := mux.NewRouter()
	for _, rt := range s.routes {
		rt.Handler, rt.RateLimit = stub, nil
		router.Handle(rt.Path, s.adapt(rt.Path, s.chain(rt))).Methods(rt.Method)
	}
	return s.outer(router)
}
