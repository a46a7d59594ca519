package api

import "net/http"

// getLeader answers GET /api/v1/leader with the Lease's current holder,
// from whichever replica is asked. Anyone who may list projects may see it.
func (s *Server) getLeader(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, "list", "") {
		return
	}
	st, err := s.opts.Leader.Leader(r.Context())
	if err != nil {
		s.log.Error("read leader", "err", err)
		writeError(w, http.StatusInternalServerError, "could not read the leader Lease")
		return
	}
	writeJSON(w, http.StatusOK, st)
}
