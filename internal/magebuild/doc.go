// Package magebuild builds a project's Mage targets into one binary, the
// way the Slurm backend's tasks and the end-to-end tests run them: `go tool
// mage -compile` in the project's root, CGO off (the binary runs on any
// node), -trimpath (it holds no local paths, so copies of a project share
// Go's build cache).
//
// Mage writes magefiles/mage_output_file.go while it builds and removes it
// after, so two builds in one project at once break each other ("open
// ./mage_output_file.go: no such file or directory"). Compile holds a lock
// per project root for the whole build, and writes the binary through a
// temporary file renamed into place, so that processes already running
// keep the binary they started with.
package magebuild
