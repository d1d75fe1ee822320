package config

import (
	"fmt"
)

// ParseParams reads params back from their JSON (a run's params.json, as
// Params.JSON wrote it), keeping integers as int, so that the params, their
// JSON and their Hash are those of the run. A run.json decoded as plain JSON
// would turn `epochs: 30` into 30.0.
func ParseParams(b []byte) (Params, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("params: want a JSON object, got %T", v)
	}
	return Params(m), nil
}
