// Package venv builds and checks the Python environments stages run in: a
// venv made by uv when it is on PATH, else by python3 -m venv and pip,
// optionally on another interpreter's packages (MAGELAB_PYTHON, a GPU
// image's venv), installing the requirements and writing its ready marker
// (MarkerName) only after a successful install. The requirements hash
// reads no process, so that the up-to-date check stays fast.
//
// A venv is built in place, never in a temporary directory renamed into
// place: python -m venv and uv write the venv's absolute path into it (the
// #! line of every script in bin/ — pip, and the console scripts that
// requirements install, such as pytest or torchrun — activate, and
// pyvenv.cfg), so a renamed venv's scripts would run the interpreter of a
// directory that no longer exists. Instead the marker is the proof of a
// complete build: a directory without one (a build cut short by kill -9,
// where ensurepip had not installed pip yet) is rebuilt, never reused, and
// a venv about to be updated loses its marker first. The processes that
// build one venv at once take turns on a lock beside it (DIR.lock), so
// concurrent first runs share one build; the build's children (ensurepip,
// pip, uv) run under the proc package's supervisor, so none outlives a
// magelab killed in the middle.
//
// ChildEnv is the environment every process of a venv's python starts
// from: stages, the GPU checks and the BentoML server.
package venv
