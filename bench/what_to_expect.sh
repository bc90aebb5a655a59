#!/usr/bin/env bash
# The README's "What to expect" table: for every bundled series (and a trending one made here),
# train with the given flags (default: none) on the first 80% of the rows and score
# `eval --data` on a later file: the T+1 rows before the cut (the history a forecaster has)
# and the last 20%, so that every row of the last 20% is forecast and scored and none of those
# targets was seen in training. Prints model RMSE / last-value RMSE (below 1: the model wins).
# Usage: bench/what_to_expect.sh [TRAIN FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The history each forecast needs: T rows, one more for the first change.
args=" $* "
seq_len=16
[[ $args =~ \ --seq-len[\ =]([0-9]+)\  ]] && seq_len=${BASH_REMATCH[1]}
context=$((seq_len + 1))
[[ $args == *" --no-difference "* ]] && context=$seq_len
python3 - "$work" "$context" <<'PY'
import csv, math, random, sys
work = sys.argv[1]
context = int(sys.argv[2])
def split(src, name, column=None, value=None):
    rows = list(csv.reader(open(src)))
    head, body = rows[0], rows[1:]
    if column:
        k = head.index(column)
        body = [r for r in body if r[k] == value]
    cut = int(len(body) * 0.8)
    csv.writer(open(f"{work}/{name}-train.csv", "w")).writerows([head] + body[:cut])
    csv.writer(open(f"{work}/{name}-test.csv", "w")).writerows([head] + body[max(0, cut - context):])
split("examples/data/seattle-temps.csv", "temps")
split("examples/data/seattle-weather.csv", "weather")
for s in ["AMZN", "MSFT", "IBM", "AAPL", "GOOG"]:
    split("examples/data/stocks.csv", s, "symbol", s)
# A trending series (a seasonal wave on a rising line, like weekly CO2): the later slice leaves the training range.
r = random.Random(1)
rows = [[k, 300 + 0.05 * k + 3 * math.sin(2 * math.pi * k / 52) + r.gauss(0, 0.3)] for k in range(1200)]
csv.writer(open(f"{work}/trend.csv", "w")).writerows([["t", "v"]] + rows)
split(f"{work}/trend.csv", "trend")
PY
printf '| flags | hourly temp | daily max temp | trend | AMZN | MSFT | IBM | AAPL | GOOG |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n| %s |' "${*:-(defaults)}"
for s in temps:temp weather:temp_max trend:v AMZN:price MSFT:price IBM:price AAPL:price GOOG:price; do
  f=${s%%:*}; t=${s##*:}
  "$bin" train --data "$work/$f-train.csv" --target "$t" --quiet --checkpoint-dir "$work/ck-$f" "$@" >/dev/null
  "$bin" eval --checkpoint "$work/ck-$f" --data "$work/$f-test.csv" --json |
    python3 -c "import json,sys; o=json.load(sys.stdin); print(' %.3f |' % (o['rmse'] / o['naive']['rmse']), end='')"
done
echo
