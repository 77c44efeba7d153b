#!/usr/bin/env bash
# Start a one-node Slurm cluster on localhost (Debian 12, root, no systemd, no accounting).
# Idempotent: installs only what is missing, starts only daemons that are not running,
# and exits 0 once the node is idle. Stop it with .ci/slurm_down.sh.
# Exit 77 (skip) when not root or without apt.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "slurm_up: needs root" >&2; exit 77; }
T0=$(date +%s%N)
ts() { echo "[slurm_up $(( ($(date +%s%N) - T0) / 1000000 )) ms] $*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null \
          && [ "$(ps -o stat= -p "$(cat "$1")" 2>/dev/null | cut -c1)" != Z ]; }

PKGS="slurmctld slurmd slurm-client munge"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { echo "slurm_up: apt-get not found" >&2; exit 77; }
  export DEBIAN_FRONTEND=noninteractive
  # refresh the package lists only when the install fails (missing or stale lists)
  apt-get install -y -qq --no-install-recommends $PKGS >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $PKGS >/dev/null; }
  ts "packages installed"
fi

NODE=$(hostname -s)
getent hosts "$NODE" >/dev/null || echo "127.0.0.1 $NODE" >> /etc/hosts

if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
munge -n >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null
ts "munged up"

# `slurmd -C` gives this machine's real CPUs/sockets/cores/RealMemory
NODELINE=$(slurmd -C | head -1)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
CONF="ClusterName=ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
# no cgroups: plain process tracking, no containment (so no memory/CPU enforcement)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# schedule on the 1 s tick instead of the default batch delay
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# reject requests larger than the node instead of leaving them pending forever
EnforcePartLimits=ALL
KillWait=5
# a requeued (pre-empted) job waits cred_expire seconds before it may start again (default 120)
AuthInfo=cred_expire=10
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP"
CHANGED=0
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$CONF" ]; then
  printf '%s\n' "$CONF" > /etc/slurm/slurm.conf
  CHANGED=1
fi

alive /run/slurmctld.pid || /usr/sbin/slurmctld
alive /run/slurmd.pid || /usr/sbin/slurmd
if [ "$CHANGED" = 1 ]; then scontrol reconfigure >/dev/null 2>&1 || true; fi
state=""
for _ in $(seq 1 150); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  case "$state" in
    idle|mixed|allocated) break ;;
    down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.2
done
case "$state" in
  idle|mixed|allocated) ts "node $NODE $state" ;;
  *) echo "slurm_up: node $NODE is '$state'" >&2
     tail -n 30 /var/log/slurm/slurm*.log >&2 || true
     exit 1 ;;
esac
