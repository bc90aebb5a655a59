#!/usr/bin/env bash
# A 2-layer 256-unit character model, stateful, 2 epochs on a 1 MB text (bench/make_text.py):
# elman-dist against the same loop in PyTorch (bench/pytorch_char_model.py), alternating,
# ROUNDS times, medians; the whole run's nominal GFLOP/s (training and validation, one-hot
# inputs counted as products, as PyTorch computes them) against sgemm 1024³ in the same sitting.
#
# Usage: bench/char_model.sh [ROUNDS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${2:-python3}
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=$work/text-1mb.txt
"$python" bench/make_text.py 1 "$text"
H=256 L=2 T=64 B=64 E=2
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=() theirs=() ours_ce=() theirs_ce=()
for _ in $(seq "$rounds"); do
  rm -f "$work/m.jsonl"
  start=$(date +%s.%N)
  "$bin" train --data "$text" --stateful --layers $L --hidden $H --seq-len $T --batch-size $B --epochs $E --lr 0.002 \
    --clip-norm 5 --val-fraction 0.1 --progress none --log-every 1000000 --metrics "$work/m.jsonl" >/dev/null
  ours+=("$(echo "$(date +%s.%N) - $start" | bc -l)")
  ours_ce+=("$(grep val_loss "$work/m.jsonl" | tail -1 | grep -oE '"val_loss":[0-9.]+' | cut -d: -f2)")
  line=$("$python" bench/pytorch_char_model.py "$text" --hidden $H --layers $L --seq-len $T --lanes $B --epochs $E)
  theirs+=("$(echo "$line" | grep -oE 'total [0-9.]+' | cut -d' ' -f2)")
  theirs_ce+=("$(echo "$line" | grep -oE 'cross-entropy [0-9.]+' | cut -d' ' -f2)")
done
classes=$(echo "$line" | grep -oE '^pytorch: [0-9]+' | cut -d' ' -f2)
gemm=$("$bin" bench --gemm | head -1)
rate=$(echo "$gemm" | grep -oE '[0-9.]+ GFLOP/s' | cut -d' ' -f1)
o=$(median "${ours[@]}") t=$(median "${theirs[@]}")
# Nominal FLOPs: 6·(multiply-adds a row) for each training row, 2· for each validation row.
flops=$("$python" -c "
V, H, rows = $classes, $H, 1_000_000
mac = H * (V + H) + H * (2 * H) + H * V
print(int((6 * mac * 0.9 * rows + 2 * mac * 0.1 * rows) * $E))")
echo "$gemm"
printf 'elman-dist %.1f s (validation CE %s), PyTorch %.1f s (validation CE %s): %.2f×; elman-dist %.0f GFLOP/s, %.0f%% of sgemm\n' \
  "$o" "$(median "${ours_ce[@]}")" "$t" "$(median "${theirs_ce[@]}")" "$(echo "$t / $o" | bc -l)" \
  "$(echo "$flops / $o / 1000000000" | bc -l)" "$(echo "100 * $flops / $o / 1000000000 / $rate" | bc -l)"
