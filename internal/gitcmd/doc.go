// Package gitcmd is the one way magelab runs the git command line: the
// stamp reads a run's dirty state and patch with it, and reproduce checks
// out, patches and removes worktrees with it.
//
// Every call finds its repository through -C: the variables by which an
// outer git (a hook running magelab) would point it at another repository,
// index or directory are dropped; the user's hooks, pager and colours are
// off; paths come unquoted; and no call takes an optional lock, so that a
// read never rewrites the index under a concurrent git. Each call has a
// timeout, and its error names the command and carries what git said on
// stderr, capped.
//
// It owns no git logic of its own: what to ask git belongs to its callers.
package gitcmd
