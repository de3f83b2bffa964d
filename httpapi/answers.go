package httpapi

import (
	"net/http"

	"github.com/unistore-bench/unistore"
)

// handleSteps answers a find-max run's step history (what `find-max
// --json` lists under steps); [] for a run that is not one.
func (s *Server) handleSteps(w http.ResponseWriter, r *http.Request) {
	steps, err := unistore.FindMaxHistory(r.Context(), s.cfg.Store, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, steps)
}
