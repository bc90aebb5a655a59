#!/usr/bin/env bash
# The stateful text benchmark: a 20 MB generated text trained with --stateful.
#
# 1. Memory: peak RSS of a run on the 20 MB text minus that of the same run on 20 KB of it,
#    per character of text (the bound: under 2 bytes a character).
# 2. One full epoch with the default validation fraction: the epoch's training time against
#    its validation time (metrics: elapsed and val_seconds; the bound: validation under 10%).
# 3. Throughput: `bench --stateful` against `bench --head every` (windows) at equal B·T,
#    alternating, ROUNDS times, medians.
#
# Usage: bench/stateful.sh [ROUNDS] [HIDDEN]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
hidden=${2:-128}
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=$work/text-20mb.txt
python3 bench/make_text.py 20 "$text"
head -c 20000 "$text" > "$work/text-20kb.txt"
run=(train --stateful --hidden "$hidden" --seq-len 64 --batch-size 64 --lr 0.003 --quiet)

peak() { /usr/bin/time -f '%M' "$bin" "${run[@]}" --data "$1" --steps 1 --val-fraction 0.01 2>&1 >/dev/null | tail -1; }
small=$(peak "$work/text-20kb.txt"); large=$(peak "$text")
echo "memory: peak RSS $((large / 1024)) MiB on 20 MB, $((small / 1024)) MiB on 20 KB:" \
  "$(echo "($large - $small) * 1024 / 19980000" | bc -l | xargs printf '%.2f') bytes a character"

"$bin" "${run[@]}" --data "$text" --epochs 1 --log-every 1000000 --metrics "$work/m.jsonl"
python3 - "$work/m.jsonl" <<'PY'
import json, sys
line = [json.loads(l) for l in open(sys.argv[1]) if '"val_seconds"' in l][-1]
train = line["elapsed"] - line["val_seconds"]
print(f"epoch: {line['step']} steps, training {train:.1f} s, validation {line['val_seconds']:.1f} s "
      f"({100 * line['val_seconds'] / train:.1f}% of training)")
PY

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rows() { grep -oE '[0-9.]+ rows/s' | grep -oE '^[0-9.]+'; }
windows=(); lanes=()
for _ in $(seq "$rounds"); do
  windows+=("$("$bin" bench --input-size 64 --hidden "$hidden" --seq-len 64 --batch-size 64 --steps 100 --head every | rows)")
  lanes+=("$("$bin" bench --input-size 64 --hidden "$hidden" --seq-len 64 --batch-size 64 --steps 100 --stateful | rows)")
done
echo "throughput at B·T = 64·64, I = 64, H = $hidden (median of $rounds, alternating):" \
  "windows $(printf '%s\n' "${windows[@]}" | median) rows/s, stateful $(printf '%s\n' "${lanes[@]}" | median) rows/s"
