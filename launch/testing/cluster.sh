#!/usr/bin/env bash
# An emulated cluster on this machine, for the test suite and the network benchmarks (as root).
#
#   launch/testing/cluster.sh up        start it (idempotent); prints the environment to use it
#   launch/testing/cluster.sh down      stop everything it started and remove its namespaces
#   launch/testing/cluster.sh shape DELAY RATE
#                                       shape every host link: "200us 1gbit" (tc netem), "0 1gbit"
#                                       (rate alone, tc tbf: for kernels without netem), "none" clears
#   launch/testing/cluster.sh env       the environment (SLURM_CONF, hostfile, agent) as shell lines
#   launch/testing/cluster.sh check     exit 0 if this machine can run it (root, namespaces, Slurm, munge)
#
# Two kinds of hosts, both with their own hostname and private /tmp, so OpenMPI treats them as
# separate machines and talks TCP between them:
#   - Slurm nodes n1, n2: Debian's slurm-wlm, one slurmctld and a `slurmd -N nK` per node, each
#     slurmd in its own mount and UTS namespace. They share this host's network (127.0.0.1,
#     distinct ports), as Slurm's multiple-slurmd setups do.
#   - Network hosts h1, h2: network namespaces on a bridge (10.77.0.11, .12; this host is
#     10.77.0.1), reached by mpirun through launch/testing/netns-agent.sh. `shape` puts latency
#     and a rate limit on their links.
# State, logs and the cluster's shared directory live in $ELMAN_CLUSTER_DIR (default
# /var/tmp/elman-cluster), outside /tmp, which each host replaces with its own (a repository
# cloned under /tmp stays visible at its path).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${ELMAN_CLUSTER_DIR:-/var/tmp/elman-cluster}
nodes=(n1 n2)
hosts=(h1 h2)
net=10.77.0
bridge=elman-br0
ctld_port=${ELMAN_CLUSTER_PORT:-16817}
port_fixed=${ELMAN_CLUSTER_PORT:+1}
cpus=$(nproc)

log() { echo "cluster: $*" >&2; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

check() {
  [ "$(id -u)" -eq 0 ] || die "needs root (namespaces, slurmd, tc)"
  command -v slurmctld >/dev/null && command -v munged >/dev/null || die "needs slurm-wlm and munge (apt-get install -y slurm-wlm munge)"
  command -v ip >/dev/null && command -v tc >/dev/null || die "needs iproute2"
  unshare --mount --uts true 2>/dev/null || die "cannot create mount and UTS namespaces here"
  ip netns add elman-probe 2>/dev/null || die "cannot create network namespaces here"
  ip netns del elman-probe
}

environment() {
  echo "export SLURM_CONF=$dir/slurm.conf"
  echo "export ELMAN_CLUSTER_DIR=$dir"
  echo "export ELMAN_CLUSTER_SHARED=$dir/shared"
  echo "export ELMAN_CLUSTER_HOSTFILE=$dir/hostfile"
  echo "export ELMAN_CLUSTER_AGENT=$here/netns-agent.sh"
  echo "export ELMAN_CLUSTER_NETWORK=$net.0/24"
}

write_slurm_conf() {
  local node_lines="" k=0
  for n in "${nodes[@]}"; do
    k=$((k + 1))
    node_lines+="NodeName=$n NodeHostname=$(hostname) NodeAddr=127.0.0.1 Port=$((ctld_port + k)) CPUs=$cpus State=UNKNOWN"$'\n'
  done
  cat >"$dir/slurm.conf" <<EOF
ClusterName=elman
SlurmctldHost=$(hostname)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=30
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
$node_lines
PartitionName=test Nodes=$(
    IFS=,
    echo "${nodes[*]}"
  ) Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null && chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key; }
  su -s /bin/sh munge -c /usr/sbin/munged
  touch "$dir/started-munge"
  munge -n | unmunge >/dev/null || die "munged did not start"
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The shell commands that keep the repository visible in a host whose /tmp is replaced by
# PRIVATE: a clone under /tmp (CI's, a test's) is bound to the same path inside it.
expose() {
  case "$root" in
    /tmp/*) echo "mkdir -p $1/${root#/tmp/} && mount --bind $root $1/${root#/tmp/} && " ;;
  esac
}

start_slurm() {
  alive "$dir/slurmctld.pid" || slurmctld -f "$dir/slurm.conf"
  for n in "${nodes[@]}"; do
    alive "$dir/slurmd-$n.pid" && continue
    mkdir -p "$dir/tmp-$n" "$dir/spool/$n"
    chmod 1777 "$dir/tmp-$n"
    # Its own hostname and /tmp: job steps on different nodes then look like different machines.
    unshare --mount --uts --propagation private sh -c \
      "hostname $n && $(expose "$dir/tmp-$n")mount --rbind $dir/tmp-$n /tmp && exec slurmd -f $dir/slurm.conf -N $n"
  done
  local waited=0
  until [ "$(SLURM_CONF=$dir/slurm.conf sinfo -h -N -o '%t' 2>/dev/null | grep -c idle || true)" -eq ${#nodes[@]} ]; do
    SLURM_CONF=$dir/slurm.conf scontrol update nodename="$(
      IFS=,
      echo "${nodes[*]}"
    )" state=resume >/dev/null 2>&1 || true
    sleep 1
    waited=$((waited + 1))
    [ $waited -lt 60 ] || die "Slurm nodes did not become idle: $(SLURM_CONF=$dir/slurm.conf sinfo -N 2>&1 | tr '\n' ' ')"
  done
}

start_hosts() {
  ip link show "$bridge" >/dev/null 2>&1 || {
    ip link add "$bridge" type bridge
    ip addr add "$net.1/24" dev "$bridge"
    ip link set "$bridge" up
  }
  local k=0
  for h in "${hosts[@]}"; do
    k=$((k + 1))
    local ns=elman-$h
    ip netns list | grep -qw "$ns" && continue
    ip netns add "$ns"
    ip link add "elman-v$k" type veth peer name eth0 netns "$ns"
    ip link set "elman-v$k" master "$bridge" up
    ip -n "$ns" addr add "$net.$((10 + k))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    mkdir -p "$dir/tmp-$h"
    chmod 1777 "$dir/tmp-$h"
  done
  : >"$dir/hostfile"
  k=0
  for h in "${hosts[@]}"; do
    k=$((k + 1))
    echo "$net.$((10 + k)) slots=$cpus" >>"$dir/hostfile"
  done
}

# Shapes each host's outgoing traffic (so each direction of a link once): netem for latency
# and rate; with no latency ("0"), a token bucket (tbf) for the rate alone, which kernels
# without netem have too.
shape() {
  local delay=$1 rate=${2:-}
  if [ "$delay" != none ] && [ "$delay" != 0 ] && ! netem_available; then
    die "this kernel has no netem (sch_netem): latency cannot be emulated here; 'shape 0 RATE' shapes the rate alone"
  fi
  for h in "${hosts[@]}"; do
    local ns=elman-$h
    ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
    if [ "$delay" = none ]; then
      continue
    elif [ "$delay" = 0 ]; then
      # The bucket holds 2 ms of traffic (at least 256 KiB, above a 64 KiB segment offload).
      local bits=${rate%bit}
      bits=${bits/g/000000000}
      bits=${bits/m/000000}
      local burst=$((bits / 8 / 500))
      [ $burst -ge 262144 ] || burst=262144
      ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms
    else
      ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "$delay" rate "$rate" limit 100000
    fi
  done
}

netem_available() {
  ip netns exec "elman-${hosts[0]}" tc qdisc add dev lo root netem delay 1us 2>/dev/null || return 1
  ip netns exec "elman-${hosts[0]}" tc qdisc del dev lo root
}

# Whether something listens on 127.0.0.1:PORT (bash's /dev/tcp: no extra tool needed).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports for slurmctld and one slurmd per node: ELMAN_CLUSTER_PORT and the next ones, refused
# with their number when in use; otherwise the first free run of ports from 16817. Another
# Slurm controller on this machine would otherwise take the cluster's jobs.
choose_ports() {
  local tries=0
  while :; do
    local busy=""
    for k in $(seq 0 ${#nodes[@]}); do
      port_in_use $((ctld_port + k)) && busy=$((ctld_port + k)) && break
    done
    [ -z "$busy" ] && return
    [ -z "$port_fixed" ] || die "port $busy (ELMAN_CLUSTER_PORT=$ctld_port and the next ${#nodes[@]}) is in use by another process"
    tries=$((tries + 1))
    [ $tries -lt 50 ] || die "no free run of $((${#nodes[@]} + 1)) ports from 16817 to $ctld_port"
    ctld_port=$((ctld_port + ${#nodes[@]} + 1))
  done
}

up() {
  check
  mkdir -p "$dir/ctld" "$dir/spool" "$dir/log" "$dir/shared"
  chmod 1777 "$dir/shared"
  # A cluster started from another checkout has that checkout in its hosts' private /tmp, not
  # this one: start it again from here.
  if alive "$dir/slurmctld.pid" && [ "$(cat "$dir/root" 2>/dev/null)" != "$root" ]; then
    log "restarting the cluster, started from $(cat "$dir/root" 2>/dev/null || echo 'another checkout')"
    down
    mkdir -p "$dir/ctld" "$dir/spool" "$dir/log" "$dir/shared"
    chmod 1777 "$dir/shared"
  fi
  echo "$root" >"$dir/root"
  # A cluster already up keeps its configuration and ports (up is idempotent).
  if alive "$dir/slurmctld.pid" && [ -s "$dir/slurm.conf" ]; then
    ctld_port=$(sed -n 's/^SlurmctldPort=//p' "$dir/slurm.conf")
  else
    choose_ports
  fi
  log "slurmctld on port $ctld_port"
  write_slurm_conf
  start_munge
  start_slurm
  start_hosts
  environment
}

down() {
  local pids=()
  for f in "$dir"/slurmd-*.pid "$dir/slurmctld.pid"; do
    [ -s "$f" ] && pids+=("$(cat "$f")")
  done
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  # Slurm's daemons take a moment to shut down; wait for them before their files go.
  for _ in $(seq 100); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
  if [ -e "$dir/started-munge" ]; then
    pkill -x munged 2>/dev/null || true
    rm -f "$dir/started-munge"
  fi
  for h in "${hosts[@]}"; do ip netns del "elman-$h" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  # Slurm's own files (and the hosts' /tmp); the shared directory's runs go with them.
  rm -rf "$dir"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) environment ;;
  check) check ;;
  shape)
    [ $# -ge 3 ] || [ "${2:-}" = none ] || die "usage: cluster.sh shape DELAY RATE | shape none"
    shape "$2" "${3:-}"
    ;;
  *) die "usage: cluster.sh up|down|env|check|shape DELAY RATE" ;;
esac
