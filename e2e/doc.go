// Package e2e tests magelab the way a user runs it: the targets of a binary
// built by `go tool mage -compile`, and `go tool mage` itself, in temporary
// copies of this repository, with real venvs, real packages and real
// processes. It has no code of its own besides these tests.
package e2e
