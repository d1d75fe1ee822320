package gpu

import "encoding/json"

// dump shows a value with its pointers followed.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
