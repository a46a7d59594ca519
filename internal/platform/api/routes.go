package api

import (
	"net/http"
	"strings"
)

// routes builds the handler: metrics around a ServeMux whose API routes all
// require authentication. Only /healthz and /readyz are anonymous.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+projectsPath, s.authenticate(s.listProjects))
	mux.Handle("POST "+projectsPath, s.authenticate(s.createProject))
	mux.Handle("GET "+projectsPath+"/{name}", s.authenticate(s.getProject))
	mux.Handle("PUT "+projectsPath+"/{name}", s.authenticate(s.updateProject))
	mux.Handle("DELETE "+projectsPath+"/{name}", s.authenticate(s.deleteProject))
	mux.Handle("GET /api/v1/leader", s.authenticate(s.getLeader))

	// The same paths with another method: 405 in JSON, after authentication
	// so that anonymous callers learn nothing about the API.
	mux.Handle(projectsPath, s.authenticate(methodNotAllowed("GET, POST")))
	mux.Handle(projectsPath+"/{name}", s.authenticate(methodNotAllowed("GET, PUT, DELETE")))
	mux.Handle("/api/v1/leader", s.authenticate(methodNotAllowed("GET")))
	mux.Handle("/", s.authenticate(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Ready(r); err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s.opts.Metrics.instrument(s.log, mux)
}

// methodNotAllowed answers 405 with the allowed methods.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+allow)
	}
}

// routeOf returns the path of the route that served r ("/api/v1/projects/{name}"),
// which bounds the metrics' path label, or "unmatched".
func routeOf(r *http.Request) string {
	pattern := r.Pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	return pattern
}
