#!/usr/bin/env bash
# Runs elman-dist bench and the PyTorch baseline alternately, ROUNDS times per shape, and
# prints the best seq/s of each and their ratio. Usage: bench/compare.sh [ROUNDS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${2:-python3}
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
seqs() { grep -oE '[0-9.]+ seq/s' | grep -oE '^[0-9.]+'; }
best() { sort -g | tail -1; }
printf '| shape (I, H, L, T, B) | ranks | elman-dist seq/s | PyTorch seq/s | ratio |\n| --- | --- | --- | --- | --- |\n'
while read -r I H L T B N STEPS; do
  ours=(); theirs=()
  for _ in $(seq "$rounds"); do
    if [ "$N" = 1 ]; then
      ours+=("$("$bin" bench --input-size "$I" --hidden "$H" --layers "$L" --seq-len "$T" --batch-size "$B" --steps "$STEPS" | seqs)")
    else
      ours+=("$(mpirun --oversubscribe -n "$N" "$bin" bench --input-size "$I" --hidden "$H" --layers "$L" --seq-len "$T" --batch-size "$B" --steps "$STEPS" | seqs)")
    fi
    theirs+=("$("$python" bench/pytorch_baseline.py --input-size "$I" --hidden "$H" --layers "$L" --seq-len "$T" --batch-size "$B" --steps "$STEPS" --processes "$N" | seqs)")
  done
  o=$(printf '%s\n' "${ours[@]}" | best); t=$(printf '%s\n' "${theirs[@]}" | best)
  printf '| %s, %s, %s, %s, %s | %s | %.0f | %.0f | %.2f× |\n' "$I" "$H" "$L" "$T" "$B" "$N" "$o" "$t" "$(echo "$o / $t" | bc -l)"
done <<'SHAPES'
1 32 1 16 64 1 400
8 128 1 32 64 1 200
64 512 1 32 128 1 40
8 128 1 32 64 2 200
SHAPES
