package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// maxBody bounds request bodies; a Project is a few kilobytes.
const maxBody = 1 << 20

// errorBody is the JSON of every error response.
type errorBody struct {
	// Error is one line for a human: for validation, every problem as
	// "field: message", joined by "; ".
	Error string `json:"error"`
	// Fields lists validation problems one by one.
	Fields []primusv1.FieldError `json:"fields,omitempty"`
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg} with status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeInvalid writes 400 with every validation problem.
func writeInvalid(w http.ResponseWriter, errs primusv1.ValidationErrors) {
	writeJSON(w, http.StatusBadRequest, errorBody{Error: errs.Error(), Fields: errs})
}

// writeKubeError maps an error of the Kubernetes API server to a response:
// the caller's mistakes keep their meaning (404, 409, 400), anything else
// is logged and answered 500 (503 when the Project CRD is not installed).
func writeKubeError(w http.ResponseWriter, log *slog.Logger, name string, err error) {
	switch {
	case apierrors.IsNotFound(err):
		writeError(w, http.StatusNotFound, fmt.Sprintf("project %q not found", name))
	case apierrors.IsAlreadyExists(err):
		writeError(w, http.StatusConflict, fmt.Sprintf("project %q already exists", name))
	case apierrors.IsConflict(err):
		writeError(w, http.StatusConflict, fmt.Sprintf("project %q was changed by someone else: read it again and retry", name))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		writeError(w, http.StatusBadRequest, apiMessage(err))
	case apimeta.IsNoMatchError(err):
		log.Error("projects API not installed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the projects.primus.dev CustomResourceDefinition is not installed")
	default:
		log.Error("kubernetes API request failed", "project", name, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// apiMessage returns the message of an API status error.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// decodeBody decodes a JSON body into v, refusing unknown fields, and
// returns a one-line problem for a 400 when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("request body is empty: send a Project as JSON")
		case errors.As(err, &typeErr):
			return fmt.Errorf("%s: must be a %s, got a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case errors.As(err, &syntaxErr):
			return fmt.Errorf("request body is not valid JSON at byte %d: %w", syntaxErr.Offset, err)
		case errors.As(err, &tooBig):
			return fmt.Errorf("request body is larger than %d bytes", maxBody)
		default:
			return fmt.Errorf("request body: %w", err)
		}
	}
	if dec.More() {
		return errors.New("request body holds more than one JSON value")
	}
	return nil
}
