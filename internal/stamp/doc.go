// Package stamp records what a run is made from, into its run directory:
// the git state (Git: commit, branch, remote with credentials removed,
// dirty state, the uncommitted changes as git.patch and the untracked files
// under untracked/), the environment (Env: the venv's package list as
// pip-freeze.txt, Python, host, allow-listed variables) and the process
// that owns the run (ThisProcess).
//
// Nothing here fails a run: what cannot be read becomes a warning. Facts a
// later step decides on travel as fields, never as wording: a diff that
// could not be recorded whole is Git.PatchIncomplete, saved files whose
// credentials were replaced are Git.Redacted; the warnings only say so to
// people. The git CLI does status and patch (faster, honours global
// excludes), through the gitcmd package; go-git reads HEAD, branch and
// remotes and is the fallback.
package stamp
