// Package targets is magelab's Mage targets as an importable package: a
// repository adopts magelab with a magefile that imports it,
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/magelab/magelab/targets"
//	)
//
// and every target, flag and doc line shows in that repository's
// `go tool mage -l`. The targets run in the current directory, the
// repository's root: its experiments/, python/ and runs/.
//
// A target only turns flags into one call into internal/ and prints what
// it returns; the first sentence of its doc comment is what `mage -l`
// shows. Exported functions here are targets: helpers stay unexported.
package targets
