#!/usr/bin/env bash
# Runs N ranks on this machine: mpirun-local.sh N COMMAND [ARGS...]
#
# Adds --oversubscribe when N exceeds the cores, --allow-run-as-root when run by root, and
# gives each rank cores/N BLAS threads (at least 1) so ranks do not fight over cores.
#
# SIGTERM, SIGINT and SIGHUP are passed to the ranks themselves, not to mpirun: mpirun's own
# answer to them is to kill the job (SIGKILL a few seconds after SIGTERM) and exit non-zero,
# while elman-dist's ranks finish the step, write a checkpoint and exit 0, and so does this script.
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
mpirun "${args[@]}" -x OPENBLAS_NUM_THREADS="$threads" "$@" &
job=$!
# On one machine the ranks are mpirun's children.
forward() { pkill -"$1" -P "$job" || true; }
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP
# `wait` returns early when a trapped signal arrives; wait again until mpirun has ended.
status=0
while kill -0 "$job" 2>/dev/null; do
  wait "$job" && status=0 || status=$?
done
exit "$status"
