package adopt

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/magelab/magelab/internal/proc"
)

//go:embed argparse_options.py
var argparseHelper string

// Option is one add_argument call of a script, as the helper read it.
type Option struct {
	Flags    []string        `json:"flags"`
	Line     int             `json:"line"`
	Type     string          `json:"type"`
	Action   string          `json:"action"`
	Default  json.RawMessage `json:"default"` // absent when not a literal
	Source   string          `json:"default_source"`
	Choices  []any           `json:"choices"`
	Nargs    any             `json:"nargs"`
	Required bool            `json:"required"`
	Help     string          `json:"help"`
	Dest     string          `json:"dest"`
}

// Skipped is an add_argument call the helper could not read.
type Skipped struct {
	Line int    `json:"line"`
	Why  string `json:"why"`
}

// Parser is what a script's argparse parser takes.
type Parser struct {
	Options []Option  `json:"options"`
	Skipped []Skipped `json:"skipped"`
}

// ReadOptions reads the argparse options of script with the helper,
// run by python (any Python 3.9+; only its standard library is used).
func ReadOptions(ctx context.Context, python, script string) (*Parser, error) {
	var out, errOut bytes.Buffer
	res, err := proc.Run(ctx, proc.Command{Path: python, Args: []string{"-c", argparseHelper, script}, Output: &out, Stderr: &errOut})
	if err != nil {
		return nil, fmt.Errorf("read the options of %s: start %s: %w (set MAGELAB_PYTHON=/path/to/python3)", script, python, err)
	}
	if res.ExitCode != 0 {
		msg := strings.TrimSpace(errOut.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("read the options of %s with %s: %s (is it a Python script this interpreter can parse?)", script, python, msg)
	}
	var p Parser
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		return nil, fmt.Errorf("read the options of %s: the helper's output is not JSON: %w", script, err)
	}
	return &p, nil
}

// long is the option's first --long flag, else its first flag.
func (o Option) long() string {
	for _, f := range o.Flags {
		if strings.HasPrefix(f, "--") {
			return f
		}
	}
	return o.Flags[0]
}

// positional reports whether the option is a positional argument.
func (o Option) positional() bool { return !strings.HasPrefix(o.Flags[0], "-") }

// Key is the param key of the option: its long flag without dashes,
// hyphens and dots as underscores (--work-dir → work_dir); a short-only
// option takes its dest when it has one.
func (o Option) Key() string {
	f := o.long()
	if !strings.HasPrefix(f, "--") && o.Dest != "" {
		f = o.Dest
	}
	f = strings.TrimLeft(f, "-")
	return strings.NewReplacer("-", "_", ".", "_").Replace(f)
}
