// Package adopt sets magelab up in an existing repository (`go tool mage
// init`): the .gitignore block for magelab's outputs, the experiments/
// directory and a first experiment, whose command stage passes every
// argparse option of the repository's training script from a param with
// the script's own default.
//
// The options are read statically: a small embedded Python helper parses
// the script with ast and reports each add_argument call's literals. The
// script is never imported or run, so init works before any venv exists,
// needs none of the script's packages (no torch import), and cannot start a
// training run or a download by accident. What a static read cannot know
// (a default computed at run time, options added in a loop) is passed
// through as "the script's own default" and said so in the file.
//
// It owns what init writes; it never overwrites a file, and it does not
// build venvs or run stages (runner does).
package adopt
