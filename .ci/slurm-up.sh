#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster (Debian's SLURM 22.05) on this machine for CI:
# slurmctld + slurmd + munge, started by hand (no systemd), one fake GPU (gres.conf File=/dev/null),
# two partitions (debug: default, gpu) on the one node. No accounting database: the CI profile
# (profiles/slurm-ci) uses `slurm-status-command: squeue`, and MinJobAge=300 keeps finished jobs
# visible to squeue/scontrol for 5 minutes.
#   sudo bash .ci/slurm-up.sh          # ~5 s once the packages are installed; idempotent
#   bash .ci/slurm-down.sh             # stops the daemons by the PIDs in their pid files
# Must run as root. The steps and the gotchas they avoid are described in docs/cluster.md.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if command -v scontrol >/dev/null && scontrol ping 2>/dev/null | grep -q UP; then
  echo "slurm-up: slurmctld already up"; sinfo; exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "slurm-up: must run as root (installs packages, starts daemons)" >&2; exit 1; fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

wait_for() {  # wait_for <seconds> <cmd...>: poll every 0.25 s
  local t=$1; shift
  for _ in $(seq 1 $((t * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "slurm-up: timeout waiting for: $*" >&2; return 1
}

# ---------------- munge (authentication between the SLURM daemons and clients) ----------------
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --force; fi
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged          # daemonizes; pid in /run/munge/munged.pid
  wait_for 10 bash -c 'munge -n | unmunge'
fi

# ---------------- slurm.conf + gres.conf ----------------
HOST=$(hostname -s)
# "NodeName=<host> CPUs=.. Boards=.. SocketsPerBoard=.. CoresPerSocket=.. ThreadsPerCore=.. RealMemory=.."
NODELINE=$(slurmd -C | head -1)
install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# keep finished jobs visible to squeue/scontrol (the plugin's squeue status mode needs this)
MinJobAge=300
# reject at submission a job that asks for more than the node has (instead of pending forever)
EnforcePartLimits=ALL
KillWait=5
${NODELINE} NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu   Nodes=${HOST} Default=NO  MaxTime=INFINITE State=UP
CONF
# one fake GPU: no device is needed; a job asking for it gets CUDA_VISIBLE_DEVICES=0
cat > /etc/slurm/gres.conf <<CONF
AutoDetect=off
NodeName=${HOST} Name=gpu File=/dev/null
CONF

# ---------------- slurmctld + slurmd ----------------
scontrol ping 2>/dev/null | grep -q UP || slurmctld     # daemonizes; pid in /run/slurmctld.pid
wait_for 30 bash -c 'scontrol ping | grep -q UP'
[ -s /run/slurmd.pid ] && kill -0 "$(cat /run/slurmd.pid)" 2>/dev/null || slurmd
wait_for 60 bash -c '[ "$(sinfo -h -n '"$HOST"' -o %t | head -1)" = idle ]'
sinfo
echo "slurm-up: SLURM is up (node $HOST, partitions debug and gpu, 1 fake GPU)"
