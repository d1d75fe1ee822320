// Package config loads experiment files: experiments/NAME.yaml is decoded onto
// defaults, checked against a strict schema (unknown keys, wrong types, missing
// scripts and unknown template names are errors positioned at file:line:col with
// the nearest valid spelling), overridden with dotted `-set` items typed by YAML,
// and turned into the pieces the runner needs: the resolved hyperparameters as
// canonical JSON, command templates expanded with shell quoting, the Python files
// a stage script imports from the project, content-addressed stage keys, and the
// typed sweep:, serve: and export: blocks (checked at load like every other
// key).
//
// Decisions worth knowing:
//
//   - Relative paths in an experiment are relative to the project root, never to
//     the experiments/ directory.
//   - Param sections (data, preprocess, train, eval) are free-form: their keys
//     are not checked, but values must be scalars, lists of scalars or nested
//     mappings, keys must not contain a dot, and floats must be finite.
//   - Integers stay int and floats stay float64: canonical JSON and params.yaml
//     write a float with an integral value as 1.0 so Python reads a float back.
//   - An override value is parsed as YAML, so train.lr=3e-4 is a float and
//     train.tag=3 an int; quotes in -set only group words, so a string that
//     looks like a number needs YAML quotes inside them: train.tag="'3'".
//   - Timestamps in YAML stay strings; YAML anchors, aliases and merge keys
//     (<<) work, with limits on depth and size.
package config
