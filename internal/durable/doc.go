// Package durable writes files that survive a crash or a power cut whole:
// the run record, the venv's ready marker, the stage cache's manifest and
// the hash and package-list caches go through WriteFile, so that a marker
// never claims what did not reach the disk. Lock is the one polling flock
// of processes that must not build the same thing at once: the venv, a
// stage-cache entry, a project's mage build.
//
// It owns no format: callers bring the bytes.
package durable
