// Package venv builds and checks the Python environments stages run in: a
// venv made by uv when it is on PATH, else by python3 -m venv and pip,
// optionally on another interpreter's packages (MAGELAB_PYTHON, a GPU
// image's venv), installing the requirements and writing its ready marker
// (MarkerName) only after a successful install. The requirements hash
// reads no process, so that the up-to-date check stays fast.
//
// ChildEnv is the environment every process of a venv's python starts
// from: stages, the GPU checks and the BentoML server.
package venv
