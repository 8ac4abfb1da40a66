#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the tests of the Slurm executor (CI runs it as
# root; Debian's slurm-wlm and munge must be installed: `.ci/run` installs them).
#   bash scripts/slurm_localhost.sh start   # munged, slurmctld, slurmd; waits for the node
#   bash scripts/slurm_localhost.sh stop    # stops the daemons this script started
# State, logs and the configuration live in $SLURM_LOCAL (default /tmp/imgloss-slurm). The
# configuration is written to /etc/slurm/slurm.conf (where the Slurm commands look for it) only
# when that file does not exist yet or was written by this script.
set -euo pipefail
STATE=${SLURM_LOCAL:-/tmp/imgloss-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by imgloss scripts/slurm_localhost.sh"

start() {
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "slurm_localhost: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
  done
  mkdir -p "$STATE"/{state,spool,log} /etc/slurm /etc/munge /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  if ! pgrep -x munged >/dev/null; then
    su -s /bin/sh munge -c /usr/sbin/munged
    echo "munged" >> "$STATE/started"
  fi
  if [ -f "$CONF" ] && ! grep -q "$MARK" "$CONF"; then
    echo "slurm_localhost: $CONF exists and is not ours: not touching it" >&2
  else
    local host cpus
    host=$(hostname)
    cpus=$(nproc)
    cat > "$CONF" <<EOF
$MARK
ClusterName=imgloss
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
ReturnToService=2
JobRequeue=1
KillWait=2
MinJobAge=300
NodeName=$host CPUs=$cpus RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  fi
  if ! pgrep -x slurmctld >/dev/null; then
    slurmctld
    echo "slurmctld" >> "$STATE/started"
  fi
  if ! pgrep -x slurmd >/dev/null; then
    slurmd
    echo "slurmd" >> "$STATE/started"
  fi
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE "idle|mix|alloc"; then
      echo "slurm_localhost: node up ($(sinfo -h -o '%N %t %c CPUs'))"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm_localhost: the node did not come up; logs in $STATE/log" >&2
  exit 1
}

stop() {
  [ -f "$STATE/started" ] || return 0
  for daemon in slurmd slurmctld munged; do
    if grep -qx "$daemon" "$STATE/started"; then
      pkill -x "$daemon" || true
    fi
  done
  rm -f "$STATE/started"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
