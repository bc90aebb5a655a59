#!/usr/bin/env bash
# Loading a large CSV and taking one step, against pandas' read_csv of the same file:
# 5M rows x 3 columns (train --features a,b,y) and a long panel of 10,000 series x 1,000 rows
# (train --series id), alternating, ROUNDS times; median seconds and peak resident memory,
# beside the float32 values the run keeps (inputs and targets). With BEFORE=path/to/elman-dist,
# that build is measured in the same rounds.
# Usage: [BEFORE=...] bench/load.sh [ROUNDS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
python=${2:-python3}
bin=$PWD/.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" <<'PY'
import math, random, sys
work = sys.argv[1]
g = random.Random(1)
with open(f"{work}/five.csv", "w") as f:
    f.write("a,b,y\n")
    for i in range(5_000_000):
        f.write("%.6f,%.6f,%.6f\n" % (g.random(), g.gauss(0, 1), g.random() * 100))
g = random.Random(3)  # the panel of bench/panel.sh
with open(f"{work}/panel.csv", "w") as f:
    f.write("id,date,y\n")
    for s in range(10000):
        level, amp = g.uniform(10, 1000), g.uniform(0.05, 0.3)
        lines = []
        for t in range(1000):
            d = f"{2000 + t // 365}-{1 + (t % 365) // 31:02d}-{1 + (t % 31) % 28:02d}"
            lines.append(f"s{s},{d},{level * (1 + amp * math.sin(t / 7)) + g.gauss(0, 1):.3f}\n")
        f.write("".join(lines))
PY
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# "seconds kilobytes" of one command.
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
echo "| file | elman-dist s | peak MB | ${BEFORE:+before s | peak MB | }pandas s | peak MB | float32 kept MB |"
echo "| --- | --- | --- | ${BEFORE:+--- | --- | }--- | --- | --- |"
for spec in "five:--features a,b,y --target y:80" "panel:--series id --target y:80"; do
  IFS=: read -r name flags kept <<<"$spec"
  ours_s=() ours_m=() before_s=() before_m=() pandas_s=() pandas_m=()
  for _ in $(seq "$rounds"); do
    for who in ours before pandas; do
      case $who in
        ours | before)
          b=$bin
          if [ $who = before ]; then [ -n "${BEFORE:-}" ] || continue; b=$BEFORE; fi
          rm -rf "$work/ck"
          # shellcheck disable=SC2086 # flags are words
          read -r s k < <(measure "$b" train --data "$work/$name.csv" $flags --steps 1 --val-fraction 0 --progress none \
            --checkpoint-dir "$work/ck")
          ;;
        pandas) read -r s k < <(measure "$python" -c "import pandas; pandas.read_csv('$work/$name.csv')") ;;
      esac
      eval "${who}_s+=($s)"
      eval "${who}_m+=($((k / 1024)))"
    done
  done
  row="| $name | $(median "${ours_s[@]}") | $(median "${ours_m[@]}") |"
  [ -z "${BEFORE:-}" ] || row="$row $(median "${before_s[@]}") | $(median "${before_m[@]}") |"
  echo "$row $(median "${pandas_s[@]}") | $(median "${pandas_m[@]}") | $kept |"
done
