package mlflow

import (
	"fmt"
	"path"
	"unicode/utf8"
)

// MLflow's limits (mlflow/utils/validation.py): what one runs/log-batch
// request may hold, and how long a key, a param value and a tag value may
// be. Lengths are in characters, as MLflow counts them.
const (
	maxBatchMetrics  = 1000
	maxBatchParams   = 100
	maxBatchTags     = 100
	maxBatchEntities = 1000
	maxBatchBytes    = 1_000_000
	maxKeyLen        = 250
	maxParamLen      = 6000
	maxTagLen        = 8000
)

// truncated is value cut to limit characters, its end replaced by a marker
// that says how long it was; the warning says so too, and is "" when the
// value fits.
func truncated(kind, key, value string, limit int) (string, string) {
	n := utf8.RuneCountInString(value)
	if n <= limit {
		return value, ""
	}
	marker := fmt.Sprintf("…[truncated by magelab from %d characters]", n)
	keep := limit - utf8.RuneCountInString(marker)
	cut := 0
	for i := range value {
		if keep == 0 {
			cut = i
			break
		}
		keep--
	}
	where := "run.json"
	if kind == "param" {
		where = "params.yaml"
	}
	return value[:cut] + marker, fmt.Sprintf("%s %s is %d characters, over MLflow's limit of %d: truncated (the whole value is in the run's %s)", kind, key, n, limit, where)
}

// badKey says why MLflow would refuse key as the name of a param, metric
// or tag ("" when it is fine): too long, or not a clean relative path
// (MLflow's file stores use keys as file names).
func badKey(key string) string {
	switch {
	case key == "":
		return "it is empty"
	case utf8.RuneCountInString(key) > maxKeyLen:
		return fmt.Sprintf("it is over MLflow's limit of %d characters", maxKeyLen)
	case path.Clean(key) != key || key[0] == '/' || key == ".." || len(key) > 2 && key[:3] == "../":
		return "MLflow wants a name that is a clean relative path (no //, ./, ../, no leading or trailing /)"
	}
	return ""
}
