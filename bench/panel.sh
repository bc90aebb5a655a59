#!/usr/bin/env bash
# Panels: one global model of many series against the last value and against one model per
# series, on data none of the models saw (the last N rows of every series, scored with
# `eval --data FULL --test-size N`, each forecast from the rows before it), and 22 monthly
# employment series against NeuralForecast (bench/employment.py); then the cost of a
# large panel (10,000 series × 1,000 rows, long format with ids and dates): load and one step
# against pandas' read_csv of the same file, peak memory, and training speed per window.
# Usage: bench/panel.sh [quality|scale|all] (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.build/release/elman-dist
[ -x "$bin" ] || swift build -c release >/dev/null
what=${1:-all}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mean(series MASE) of an `eval --json` of a panel, and of its last value.
mase() {
  python3 -c 'import json,sys; j=json.load(sys.stdin); s=j.get("seasonal")
print("%.3f last value %.3f%s" % (j["mase"], j["naive"]["mase"], "; seasonal naive %.3f" % s["mase"] if s else ""))'
}

if [ "$what" != scale ]; then
  python3 - "$work" <<'PY'
import csv, math, random, sys
work = sys.argv[1]
# stocks.csv: the last 12 months of every symbol held out.
rows = list(csv.DictReader(open("examples/data/stocks.csv")))
by = {}
for r in rows: by.setdefault(r["symbol"], []).append(r)
with open(f"{work}/stocks-train.csv", "w") as f:
    f.write("symbol,date,price\n")
    for s, rs in by.items():
        for r in rs[:-12]: f.write(f'{s},{r["date"]},{r["price"]}\n')
# 200 monthly series of 120 months: a yearly season, a trend, noise, each at its own scale;
# the last 24 months held out.
g = random.Random(7)
with open(f"{work}/sales-full.csv", "w") as full, open(f"{work}/sales-train.csv", "w") as train:
    for f in (full, train): f.write("store,month,sales\n")
    for s in range(200):
        level, trend = g.uniform(10, 10000), g.uniform(-0.002, 0.01)
        amp, phase, noise = g.uniform(0.05, 0.4), g.uniform(0, 2 * math.pi), g.uniform(0.02, 0.1)
        v = level
        for m in range(120):
            v *= 1 + trend + g.gauss(0, noise / 3)
            y = v * (1 + amp * math.sin(2 * math.pi * m / 12 + phase)) * (1 + g.gauss(0, noise))
            line = f"s{s},{m},{y:.2f}\n"
            full.write(line)
            if m < 96: train.write(line)
PY
  for spec in "stocks:examples/data/stocks.csv:symbol:price:12:" "sales:$work/sales-full.csv:store:sales:24:--season 12"; do
    IFS=: read -r name full column target test season <<<"$spec"
    # One global model.
    start=$(date +%s.%N)
    $bin train --data "$work/$name-train.csv" --series "$column" --target "$target" $season --quiet \
      --checkpoint-dir "$work/$name-global" >/dev/null
    global_s=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
    read -r g n < <($bin eval --checkpoint "$work/$name-global" --data "$full" --test-size "$test" --json 2>/dev/null | mase)
    # One model per series (--where), each scored the same way; their MASE averaged.
    ids=$(python3 -c "import csv,sys; print(' '.join(dict.fromkeys(r['$column'] for r in csv.DictReader(open('$full')))))")
    start=$(date +%s.%N)
    sum=0
    count=0
    for id in $ids; do
      [ $count -lt 25 ] || break  # 25 series are enough to measure; the time is scaled to all
      $bin train --data "$work/$name-train.csv" --where "$column=$id" --target "$target" $season --quiet \
        --checkpoint-dir "$work/$name-$id" >/dev/null
      m=$($bin eval --checkpoint "$work/$name-$id" --data "$full" --where "$column=$id" --test-size "$test" --json 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["mase"])')
      sum=$(python3 -c "print($sum + $m)")
      count=$((count + 1))
    done
    total=$(echo $ids | wc -w)
    local_s=$(python3 -c "import time; print('%.1f' % ((time.time() - $start) * $total / $count))")
    local_m=$(python3 -c "print('%.3f' % ($sum / $count))")
    echo "$name ($total series, last $test held out): global model mean MASE $g in ${global_s}s; one model per series $local_m (over $count series) in ${local_s}s for all; $n"
  done
  # 22 monthly employment series, against NeuralForecast's RNN when it is installed.
  python3 bench/employment.py "$bin" 3 || true
fi

if [ "$what" != quality ]; then
  python3 - "$work/big.csv" <<'PY'
import math, random, sys
g = random.Random(3)
with open(sys.argv[1], "w") as f:
    f.write("id,date,y\n")
    for s in range(10000):
        level, amp = g.uniform(10, 1000), g.uniform(0.05, 0.3)
        lines = []
        for t in range(1000):
            d = f"{2000 + t // 365}-{1 + (t % 365) // 31:02d}-{1 + (t % 31) % 28:02d}"
            lines.append(f"s{s},{d},{level * (1 + amp * math.sin(t / 7)) + g.gauss(0, 1):.3f}\n")
        f.write("".join(lines))
PY
  ls -l "$work/big.csv" | awk '{printf "10,000 series × 1,000 rows: %.0f MB\n", $5 / 1e6}'
  for k in 1 2 3; do
    /usr/bin/time -f "pandas read_csv: %e s, peak %M KB" python3 -c "import pandas; pandas.read_csv('$work/big.csv')"
    /usr/bin/time -f "elman-dist load + 1 step: %e s, peak %M KB" $bin train --data "$work/big.csv" --series id --target y \
      --steps 1 --val-fraction 0 --progress none >/dev/null
  done 2>&1 | sort | uniq -c | sed 's/^ *[0-9]* //'
  # Windows per second: the panel against one long series of the same rows (every series' y, one after another).
  python3 -c "
import csv
with open('$work/one.csv','w') as f:
    f.write('y\n')
    for r in csv.DictReader(open('$work/big.csv')): f.write(r['y'] + '\n')
"
  for run in panel one; do
    if [ $run = panel ]; then data=(--data "$work/big.csv" --series id --target y); else data=(--data "$work/one.csv" --target y); fi
    for n in 1 2; do
      launcher=()
      [ $n = 1 ] || launcher=(mpirun --oversubscribe -n 2)
      "${launcher[@]}" $bin train "${data[@]}" --steps 400 --batch-size 256 --threads $((3 - n)) --val-fraction 0 --progress plain --log-every 100 \
        --checkpoint-dir "$work/speed-$run-$n" | grep -o '[0-9]* seq/s' | tail -1 | sed "s/^/$run, $n process(es): /"
    done
  done
fi
