#!/usr/bin/env bash
# elman-dist against PyTorch and oneDNN, alternating in one sitting, medians of ROUNDS.
#   bench/compare.sh [ROUNDS] [PYTHON]
# Prints three tables: the three implementations at the bench shapes (one process, every core;
# oneDNN only if libdnnl-dev is installed, built here, dispatching ONEDNN_ISA, default AVX2 to
# match OpenBLAS's Haswell kernels); one elman-dist process against `mpirun -n CORES
# --threads 1`; and the 2-layer, --head every and --stateful shapes with their share of the
# sgemm 1024³ rate measured in the same sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
python=${2:-python3}
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
onednn=.build/onednn_baseline
if [ -r /usr/include/oneapi/dnnl/dnnl.hpp ]; then
  [ "$onednn" -nt bench/onednn_baseline.cpp ] || g++ -O2 -std=c++17 bench/onednn_baseline.cpp -ldnnl -o "$onednn"
else
  onednn=""
fi
seqs() { grep -oE '[0-9.]+ seq/s' | grep -oE '^[0-9.]+'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The three bench shapes: I H L T B STEPS. The small one runs 4,000 steps (0.5 s): at 400 (50 ms)
# a plain process read anywhere from 0.5x to 1.1x of one started by MPI, whose 0.3 s start
# came before its timed steps; at 4,000 the two agree.
shapes="1 32 1 16 64 4000
8 128 1 32 64 200
64 512 1 32 128 40"
flags() { echo "--input-size $1 --hidden $2 --layers $3 --seq-len $4 --batch-size $5 --steps $6"; }

echo "| shape (I, H, L, T, B) | elman-dist seq/s | PyTorch seq/s | ratio | oneDNN ($cores threads, ${ONEDNN_ISA:-AVX2}) seq/s | ratio |"
echo "| --- | --- | --- | --- | --- | --- |"
while read -r I H L T B STEPS; do
  ours=() torch=() dnnl=()
  for _ in $(seq "$rounds"); do
    # shellcheck disable=SC2046 # flags are words
    ours+=("$("$bin" bench $(flags "$I" "$H" "$L" "$T" "$B" "$STEPS") | seqs)")
    # shellcheck disable=SC2046
    torch+=("$("$python" bench/pytorch_baseline.py $(flags "$I" "$H" "$L" "$T" "$B" "$STEPS") --processes 1 | seqs)")
    if [ -n "$onednn" ]; then
      # shellcheck disable=SC2046
      dnnl+=("$(ONEDNN_MAX_CPU_ISA=${ONEDNN_ISA:-AVX2} OMP_NUM_THREADS=$cores "$onednn" $(flags "$I" "$H" "$L" "$T" "$B" "$STEPS") | seqs)")
    fi
  done
  o=$(median "${ours[@]}") t=$(median "${torch[@]}")
  d=$([ -n "$onednn" ] && median "${dnnl[@]}" || echo 0)
  printf '| %s, %s, %s, %s, %s | %.0f | %.0f | %.2f× | %s | %s |\n' "$I" "$H" "$L" "$T" "$B" "$o" "$t" \
    "$(echo "$o / $t" | bc -l)" "$([ -n "$onednn" ] && printf '%.0f' "$d" || echo "not built")" \
    "$([ -n "$onednn" ] && printf '%.2f×' "$(echo "$o / $d" | bc -l)" || echo "-")"
done <<<"$shapes"

echo
echo "| shape (I, H, L, T, B) | one process, $cores cores seq/s | mpirun -n $cores --threads 1 seq/s | ratio |"
echo "| --- | --- | --- | --- |"
while read -r I H L T B STEPS; do
  one=() many=()
  for _ in $(seq "$rounds"); do
    # shellcheck disable=SC2046
    one+=("$("$bin" bench $(flags "$I" "$H" "$L" "$T" "$B" "$STEPS") | seqs)")
    # shellcheck disable=SC2046
    many+=("$(mpirun --oversubscribe -n "$cores" "$bin" bench $(flags "$I" "$H" "$L" "$T" "$B" "$STEPS") --threads 1 </dev/null | seqs)")
  done
  a=$(median "${one[@]}") b=$(median "${many[@]}")
  printf '| %s, %s, %s, %s, %s | %.0f | %.0f | %.2f× |\n' "$I" "$H" "$L" "$T" "$B" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done <<<"$shapes"

echo
echo "| shape | seq/s | GFLOP/s | of sgemm 1024³ |"
echo "| --- | --- | --- | --- |"
while read -r label extra; do
  rates=() gflops=() peaks=()
  for _ in $(seq "$rounds"); do
    peaks+=("$("$bin" bench --gemm | head -1 | grep -oE '[0-9.]+ GFLOP/s' | grep -oE '^[0-9.]+')")
    # shellcheck disable=SC2086 # extra is a list of flags
    line=$("$bin" bench $extra)
    rates+=("$(seqs <<<"$line")")
    gflops+=("$(grep -oE '[0-9.]+ GFLOP/s' <<<"$line" | grep -oE '^[0-9.]+')")
  done
  r=$(median "${rates[@]}") g=$(median "${gflops[@]}")
  p=$(median "${peaks[@]}")
  printf '| %s | %.0f | %.1f | %.0f%% (of %.0f) |\n' "$label" "$r" "$g" "$(echo "100 * $g / $p" | bc -l)" "$p"
done <<'SHAPES'
64/512/1/32/128 --input-size 64 --hidden 512 --seq-len 32 --batch-size 128 --steps 40
8/128/2/32/64 --input-size 8 --hidden 128 --layers 2 --seq-len 32 --batch-size 64 --steps 200
8/128/2/32/64,_head_every --input-size 8 --hidden 128 --layers 2 --seq-len 32 --batch-size 64 --head every --steps 200
64/512/2/32/128 --input-size 64 --hidden 512 --layers 2 --seq-len 32 --batch-size 128 --steps 30
8/128/1/32/64,_stateful --input-size 8 --hidden 128 --seq-len 32 --batch-size 64 --stateful --steps 200
SHAPES
