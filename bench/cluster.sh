#!/usr/bin/env bash
# The emulated-network rows of bench/README.md: two hosts in network namespaces
# (launch/testing/cluster.sh, as root), one rank on each, talking TCP over links shaped to
# each RATE in turn. First each bench shape on one node (one process), then for each link:
# the all-reduce's times and α–β fit (bench --allreduce), and the bench shapes with the
# layer-by-layer overlap of all-reduce and backward on and off, alternating; ROUNDS rounds,
# medians. `bench/cluster.sh | python3 bench/project.py` gives the projection to more nodes.
#   bench/cluster.sh [ROUNDS] [RATE…]        e.g. bench/cluster.sh 5 unshaped 10gbit 1gbit
# The cluster stays up afterwards, links unshaped; `launch/testing/cluster.sh down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
rates=(unshaped 10gbit 1gbit)
[ $# -eq 0 ] || rates=("$@")
bin=$PWD/.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
eval "$(launch/testing/cluster.sh up)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { NETWORK=$ELMAN_CLUSTER_NETWORK AGENT=$ELMAN_CLUSTER_AGENT launch/mpirun-hosts.sh "$ELMAN_CLUSTER_HOSTFILE" 2 "$bin" "$@"; }
shapes=(
  "--input-size 1 --hidden 32 --seq-len 16 --batch-size 64"
  "--input-size 8 --hidden 128 --seq-len 32 --batch-size 64"
  "--input-size 64 --hidden 512 --seq-len 32 --batch-size 128 --steps 40 --warmup 5"
  "--input-size 8 --hidden 128 --layers 2 --seq-len 32 --batch-size 64 --head every"
  "--input-size 64 --hidden 512 --layers 2 --seq-len 32 --batch-size 128 --steps 40 --warmup 5"
)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Each shape on one node (one process, every core), the compute side of bench/project.py.
for shape in "${shapes[@]}"; do
  times=()
  for _ in $(seq "$rounds"); do
    # shellcheck disable=SC2086 # a shape is a list of flags
    line=$("$bin" bench $shape | tail -1)
    times+=("$(grep -oE '[0-9.]+ ms/step' <<<"$line" | cut -d' ' -f1) $line")
  done
  echo "one node: $(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((rounds + 1) / 2))p" | cut -d' ' -f2-)"
done
for rate in "${rates[@]}"; do
  if [ "$rate" = unshaped ]; then launch/testing/cluster.sh shape none; else launch/testing/cluster.sh shape 0 "$rate"; fi
  echo "## link: $rate"
  run bench --allreduce --steps 100
  for shape in "${shapes[@]}"; do
    on=() off=() share=()
    for _ in $(seq "$rounds"); do
      # shellcheck disable=SC2086 # a shape is a list of flags
      a=$(run bench $shape --threads 1 --overlap | tail -1)
      # shellcheck disable=SC2086
      b=$(run bench $shape --threads 1 --no-overlap | tail -1)
      on+=("$(grep -oE '[0-9.]+ ms/step' <<<"$a" | cut -d' ' -f1)")
      off+=("$(grep -oE '[0-9.]+ ms/step' <<<"$b" | cut -d' ' -f1)")
      share+=("$(grep -oE 'all-reduce [0-9.]+%' <<<"$b" | grep -oE '[0-9.]+')")
    done
    m_on=$(printf '%s\n' "${on[@]}" | median) m_off=$(printf '%s\n' "${off[@]}" | median)
    m_share=$(printf '%s\n' "${share[@]}" | median)
    printf '%s | %s ms/step without overlap (all-reduce %s%%) | %s ms/step with | %.3f×\n' \
      "$shape" "$m_off" "$m_share" "$m_on" "$(echo "$m_off / $m_on" | bc -l)"
  done
done
launch/testing/cluster.sh shape none
