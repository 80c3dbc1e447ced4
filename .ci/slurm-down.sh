#!/usr/bin/env bash
# Stop the daemons that .ci/slurm-up.sh started, each by the PID in its pid file, and only if
# that PID still runs the expected program (never by name). Safe to run twice.
stop_pidfile() {  # stop_pidfile <pid file> <program name>
  local f=$1 name=$2 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$name" ] || { rm -f "$f"; return 0; }
  kill "$pid"
  for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || { echo "slurm-down: stopped $name ($pid)"; return 0; }; sleep 0.25; done
  echo "slurm-down: SIGKILL $name ($pid)"; kill -9 "$pid" 2>/dev/null || true
}
stop_pidfile /run/slurmd.pid       slurmd
stop_pidfile /run/slurmctld.pid    slurmctld
stop_pidfile /run/munge/munged.pid munged
