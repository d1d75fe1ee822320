package ui

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Error codes of the API's JSON errors: {"error": {"code": ..., "message": ...}}.
const (
	ECodeBadRequest   = "bad_request"  // a parameter is malformed (where, sort, width, ...)
	ECodeNotFound     = "not_found"    // no such run, sweep or file
	ECodeAmbiguous    = "ambiguous"    // a short run id matches several runs
	ECodeForbidden    = "forbidden"    // a path leaves the run's directory
	ECodeUnauthorized = "unauthorized" // the token is missing or wrong
	ECodeMethod       = "read_only"    // anything but GET or HEAD
	ECodeInternal     = "internal"     // the ledger or a file could not be read
)

// Error is an API error with the code and HTTP status it is answered with.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	status  int
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Code: code, Message: msg, status: status}
}

// writeError answers err as JSON; an error that is not an *Error is an
// internal one.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errorf(http.StatusInternalServerError, ECodeInternal, err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]*Error{"error": e})
}

// writeJSON answers v as JSON. encoding/json escapes <, > and & in
// strings, so a value from a run cannot close a script element when the
// same JSON is inlined into a report.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
