package config

import (
	"slices"

	"gopkg.in/yaml.v3"
)

// Export is an experiment's export: block: where its runs are published
// without being asked.
type Export struct {
	// MLflow is "auto" to export each run to MLflow's tracking server
	// (MLFLOW_TRACKING_URI) as train or sweep finishes it, or "off" (the
	// default): export with runs:export -to=mlflow when you want to.
	MLflow string
}

// Auto reports whether runs go to MLflow as they finish.
func (e *Export) Auto() bool { return e != nil && e.MLflow == ExportAuto }

// The values of export.mlflow.
const (
	ExportAuto = "auto"
	ExportOff  = "off"
)

var exportModes = []string{ExportAuto, ExportOff}

func (d *decoder) export(n *yaml.Node, e *Experiment) {
	if isNull(n) {
		return
	}
	x := &Export{MLflow: ExportOff}
	fails := len(d.errs.list) + d.errs.extra
	for _, p := range d.block(n, "export", []string{"mlflow"}) {
		var s string
		if p.val.Kind != yaml.ScalarNode && !isNull(p.val) {
			d.errorf(p.val, "export.mlflow: expected auto or off, found %s", describe(p.val))
			continue
		}
		d.str(p.val, "export.mlflow", &s)
		if s == "" {
			continue
		}
		if !slices.Contains(exportModes, s) {
			d.errorf(p.val, "export.mlflow: expected auto (export each run as it finishes, when MLFLOW_TRACKING_URI is set) or off, found %q%s", s, didYouMean(s, exportModes))
			continue
		}
		x.MLflow = s
	}
	if len(d.errs.list)+d.errs.extra == fails && deref(n).Kind == yaml.MappingNode {
		e.Export = x
	}
}
