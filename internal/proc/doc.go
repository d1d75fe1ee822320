// Package proc is magelab's one process supervisor: every child it starts
// (stages, pip and uv, nvidia-smi, BentoML) runs in a process group of its
// own under a shim — magelab's own binary started again, which is a child
// subreaper (PR_SET_CHILD_SUBREAPER) — with its output drained through a
// pipe. Whatever the program leaves behind, in its group or not (a daemon
// that called setsid, the orphan of a double fork), is re-parented to the
// shim, which kills it when the program ends, when magelab asks, and when
// magelab dies, even by SIGKILL (its control pipe then closes).
//
// Run waits for a command under a context: when the context ends, the
// group gets SIGINT and, after a grace period, SIGKILL to the program and
// all its descendants; once the program exits, every descendant left is
// killed, and the output is drained with a timeout.
// Start does the same for a process that runs alongside (the telemetry
// sampler) and is stopped with Stop. RunTracked also follows the process
// tree, for servers whose workers leave the group. The package also holds
// the one /proc reader: a process's start time (a pid plus its start names
// one process for the life of the machine), whether it is alive, its
// descendants.
//
// It knows nothing of runs: what a stage is, and what its exit status
// means, is the runner's.
package proc
