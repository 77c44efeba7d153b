#!/usr/bin/env bash
# Stop the daemons started by .ci/slurm_up.sh, by the pids in their pid files. Idempotent.
set -u
stop() {  # stop <pidfile> <name>
  [ -s "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      # PID 1 here may not reap orphans: a zombie counts as stopped
      [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
      sleep 0.1
    done
    echo "stopped $2 ($pid)"
  fi
  rm -f "$1"
}
stop /run/slurmd.pid slurmd
stop /run/slurmctld.pid slurmctld
stop /run/munge/munged.pid munged
exit 0
