#!/usr/bin/env bash
# mpirun's launcher agent for the emulated cluster's network hosts (in place of ssh):
#   netns-agent.sh ADDRESS COMMAND…
# runs COMMAND inside the namespace host with that address (10.77.0.1K → elman-hK), with the
# host's own hostname and /tmp, as ssh would run it on a machine of its own.
set -euo pipefail
address=$1
shift
dir=${ELMAN_CLUSTER_DIR:-/var/tmp/elman-cluster}
last=${address##*.}
[[ $address == 10.77.0.* && $last -gt 10 ]] || {
  echo "netns-agent: $address is not an emulated host" >&2
  exit 255
}
host=h$((last - 10))
private=$dir/tmp-$host
# A repository cloned under /tmp stays visible at its path once /tmp is the host's own.
root=$(cd "$(dirname "$0")/../.." && pwd)
keep=/nonexistent
case "$root" in /tmp/*) keep=$root ;; esac
exec ip netns exec "elman-$host" unshare --mount --uts --propagation private sh -c '
  hostname "$1" || exit 1
  if [ "$3" != /nonexistent ]; then
    mkdir -p "$2/${3#/tmp/}" && mount --bind "$3" "$2/${3#/tmp/}" || exit 1
  fi
  mount --rbind "$2" /tmp && shift 3 && exec sh -c "$*"' sh "$host" "$private" "$keep" "$@"
