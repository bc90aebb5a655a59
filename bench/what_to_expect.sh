#!/usr/bin/env bash
# The README's "What to expect" table: for every bundled series (and a trending one made here),
# train with the given flags (default: none) on the first 80% of the rows, then score the last
# 20% with `eval --data FULL --test-size N`: every row before each forecast is its history, and
# none of the scored targets was seen in training. Prints model RMSE over the last value's RMSE,
# and over the seasonal naive's of the series' natural period (below 1: the model wins).
# Usage: bench/what_to_expect.sh [TRAIN FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import csv, math, random, sys
work = sys.argv[1]
def split(src, name, column=None, value=None):
    rows = list(csv.reader(open(src)))
    head, body = rows[0], rows[1:]
    if column:
        k = head.index(column)
        body = [r for r in body if r[k] == value]
    cut = int(len(body) * 0.8)
    csv.writer(open(f"{work}/{name}-train.csv", "w")).writerows([head] + body[:cut])
    csv.writer(open(f"{work}/{name}-full.csv", "w")).writerows([head] + body)
    open(f"{work}/{name}-test-size", "w").write(str(len(body) - cut))
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
# series:target:period (the seasonal naive's: a day of hours, a week of days, the wave, a year of months)
for s in temps:temp:24 weather:temp_max:7 trend:v:52 AMZN:price:12 MSFT:price:12 IBM:price:12 AAPL:price:12 GOOG:price:12; do
  IFS=: read -r f t period <<<"$s"
  "$bin" train --data "$work/$f-train.csv" --target "$t" --quiet --checkpoint-dir "$work/ck-$f" "$@" >/dev/null 2>&1
  "$bin" eval --checkpoint "$work/ck-$f" --data "$work/$f-full.csv" --test-size "$(cat "$work/$f-test-size")" \
    --season "$period" --json 2>/dev/null |
    python3 -c "import json,sys; o=json.load(sys.stdin); print(' %.3f (%.3f) |' % (o['rmse'] / o['naive']['rmse'], o['rmse'] / o['seasonal']['rmse']), end='')"
done
echo
# Formulas (the seed's setup): the held-out tail lies beyond the training range.
for formula in 'x**2' '2*x+1'; do
  for activation in tanh relu; do
    "$bin" train --data "formula:$formula" --points 1000 --x-step 1 --seq-len 5 --hidden 10 --activation "$activation" \
      --quiet --checkpoint-dir "$work/ck-formula" "$@" >/dev/null 2>&1
    "$bin" eval --checkpoint "$work/ck-formula" --json 2>/dev/null |
      python3 -c "import json,sys; o=json.load(sys.stdin); print('formula:$formula ($activation), held-out tail: %.3f of the last value\'s RMSE' % (o['rmse'] / o['naive']['rmse']))"
    rm -rf "$work/ck-formula"
  done
done
# The 90% prediction interval's coverage on the later 20% (the checkpoints trained above).
for s in temps weather; do
  "$bin" eval --checkpoint "$work/ck-$s" --data "$work/$s-full.csv" --test-size "$(cat "$work/$s-test-size")" \
    --interval 0.9 --json 2>/dev/null |
    python3 -c "import json,sys; o=json.load(sys.stdin)['interval']; print('$s: 90%% interval covers %.1f%% of the later 20%%' % (100 * o['coverage']))"
done
