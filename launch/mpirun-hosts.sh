#!/usr/bin/env bash
# Data-parallel training across machines with mpirun and a hostfile, ranks talking TCP:
#   launch/mpirun-hosts.sh HOSTFILE RANKS elman-dist train …
# HOSTFILE has one machine a line ("node1 slots=4"); ranks are dealt round-robin over the
# machines (--map-by node). Every machine must see the binary, the data and the checkpoint
# directory at the same paths (a shared filesystem). Environment:
#   NETWORK=10.0.0.0/24   the interface (subnet or name) for MPI's traffic; default: OpenMPI's choice
#   AGENT=PATH            how mpirun starts its daemons on the other machines (default: ssh)
#   MPIRUN_FLAGS="…"      anything else for mpirun
set -euo pipefail
[ $# -ge 3 ] || {
  echo "usage: launch/mpirun-hosts.sh HOSTFILE RANKS elman-dist train …" >&2
  exit 64
}
hostfile=$1 ranks=$2
shift 2
[ -r "$hostfile" ] || {
  echo "mpirun-hosts: cannot read hostfile $hostfile" >&2
  exit 66
}
flags=(--hostfile "$hostfile" -n "$ranks" --map-by node --mca btl tcp,self)
[ -n "${NETWORK:-}" ] && flags+=(--mca oob_tcp_if_include "$NETWORK" --mca btl_tcp_if_include "$NETWORK")
[ -n "${AGENT:-}" ] && flags+=(--mca plm_rsh_agent "$AGENT")
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
# One BLAS thread a rank unless told otherwise: ranks on a machine share its cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# shellcheck disable=SC2086 # MPIRUN_FLAGS is a list of flags
exec mpirun "${flags[@]}" -x OPENBLAS_NUM_THREADS ${MPIRUN_FLAGS:-} "$@"
