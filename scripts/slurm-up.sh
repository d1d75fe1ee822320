#!/usr/bin/env bash
# Brings up a one-node Slurm cluster on this machine for magelab's Slurm
# tests: Debian's slurm-wlm and munge (installed when missing), slurmctld
# and slurmd started directly (no systemd), and two fake GPUs declared as
# gres on device nodes that exist (/dev/tty1, /dev/tty2), so that Slurm
# sets CUDA_VISIBLE_DEVICES per task as it does for real GPUs.
#
# Idempotent: a cluster this script brought up earlier that still answers
# is left as it is (under a second). It writes /etc/slurm/slurm.conf only
# when there is none or when this script wrote the one there, so it never
# replaces a real cluster's configuration. Needs root (it installs
# packages and starts daemons).
#
#   scripts/slurm-up.sh          bring it up (or check it is up)
#   scripts/slurm-up.sh down     stop the daemons this script started
set -euo pipefail

conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
marker="# written by magelab scripts/slurm-up.sh"
node=$(hostname -s)
state=/var/spool/magelab-slurm
logs=/var/log/magelab-slurm

log() { echo "slurm-up: $*" >&2; }

down() {
  for d in slurmd slurmctld; do
    if [ -f "$state/$d.pid" ] && kill -0 "$(cat "$state/$d.pid")" 2>/dev/null; then
      kill "$(cat "$state/$d.pid")"
      log "stopped $d"
    fi
  done
}

if [ "${1:-}" = down ]; then
  down
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "needs root: it installs slurm-wlm and munge and starts slurmctld and slurmd"
  exit 1
fi

# A cluster that answers, with our node idle or busy, is reused.
if grep -qxF "$marker" "$conf" 2>/dev/null && timeout 5 sinfo --noheader -n "$node" -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; then
  log "up (reused): node $node, partition debug, 2 fake GPUs"
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

if [ -e "$conf" ] && ! grep -qxF "$marker" "$conf"; then
  log "$conf exists and was not written by this script: not touching a real cluster's configuration"
  exit 1
fi

# munge: the key must be owned by munge and mode 0600, or munged refuses it.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0600 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

mkdir -p "$conf_dir" "$state/ctld" "$state/d" "$logs"
cpus=8
mem=8000
cat >"$conf" <<EOF
$marker
ClusterName=magelab
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
# A requeued job may start again after cred_expire (120 s by default).
AuthInfo=cred_expire=5
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SchedulerType=sched/backfill
# Requeued and newly eligible jobs start within a second or two.
SchedulerParameters=sched_interval=1,bf_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
GresTypes=gpu
JobCompType=jobcomp/filetxt
JobCompLoc=$logs/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Finished jobs stay in scontrol's view for 10 minutes (no slurmdbd here).
MinJobAge=600
KillWait=10
InactiveLimit=0
Waittime=0
MaxArraySize=10001
MaxJobCount=20000
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$conf_dir/gres.conf" <<EOF
$marker
Name=gpu File=/dev/tty1
Name=gpu File=/dev/tty2
EOF
# With proctrack/linuxproc and task/none nothing here uses cgroups (slurmd
# comes up without this file); it names the hierarchy for the cgroup
# plugins, which do not detect the hybrid v1/v2 mount of these machines:
# v2 when /sys/fs/cgroup is the unified hierarchy, else v1.
cgroup=cgroup/v1
[ -f /sys/fs/cgroup/cgroup.controllers ] && cgroup=cgroup/v2
cat >"$conf_dir/cgroup.conf" <<EOF
$marker
CgroupPlugin=$cgroup
EOF

down
slurmctld -i
slurmd -N "$node"
for _ in $(seq 100); do
  if sinfo --noheader -n "$node" -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then
    log "up: node $node ($cpus CPUs, 2 fake GPUs as gres), partition debug"
    exit 0
  fi
  scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
  sleep 0.2
done
log "slurmd did not come up; the last lines of its logs:"
tail -n 20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2 || true
exit 1
