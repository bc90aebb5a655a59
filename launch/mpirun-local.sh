#!/usr/bin/env bash
# Runs N ranks on this machine: mpirun-local.sh N COMMAND [ARGS...]
#
# Adds --oversubscribe when N exceeds the cores, --allow-run-as-root when run by root, and
# gives each rank cores/N BLAS threads (at least 1) so ranks do not fight over cores.
set -euo pipefail
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 RANKS COMMAND [ARGS...]" >&2
  exit 64
fi
ranks=$1; shift
cores=$(nproc)
args=(-n "$ranks")
[ "$ranks" -gt "$cores" ] && args+=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
threads=$(( cores / ranks )); [ "$threads" -lt 1 ] && threads=1
exec mpirun "${args[@]}" -x OPENBLAS_NUM_THREADS="$threads" "$@"
