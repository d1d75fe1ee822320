// Package proc is magelab's one process supervisor: every child it starts
// (stages, pip and uv, nvidia-smi, BentoML) runs as the leader of its own
// process group, with its output drained through a pipe, and with
// Pdeathsig so that the kernel kills it should magelab die without stopping
// it.
//
// Run waits for a command under a context: when the context ends, the
// group gets SIGINT and, after a grace period, SIGKILL; once the leader
// exits, whatever is left in its group is killed, and the output is drained
// with a timeout (a process that escaped the group may hold the pipe).
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
