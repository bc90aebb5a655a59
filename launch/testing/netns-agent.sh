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
exec ip netns exec "elman-$host" unshare --mount --uts --propagation private \
  sh -c 'hostname "$1" && mount --bind "$2" /tmp && shift 2 && exec sh -c "$*"' sh "$host" "$dir/tmp-$host" "$@"
