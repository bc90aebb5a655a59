#!/usr/bin/env bash
# Installs what is missing, builds in release mode, and trains on bundled real data with
# 4 MPI ranks: hourly Seattle temperatures, then scores the model against the naive forecast.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install-deps.sh
swift build -c release
bin=.build/release/elman-dist
# A fresh run each time: a checkpoint directory belongs to one run (`--resume latest` continues one).
rm -rf runs/seattle-temps
mkdir -p runs
launch/mpirun-local.sh 4 "$bin" train \
  --data examples/data/seattle-temps.csv --target temp \
  --checkpoint-dir runs/seattle-temps --metrics runs/seattle-temps/metrics.jsonl "$@"
"$bin" eval --checkpoint runs/seattle-temps
"$bin" plot --metrics runs/seattle-temps/metrics.jsonl --out runs/seattle-temps/loss.svg
"$bin" plot --checkpoint runs/seattle-temps --out runs/seattle-temps/forecast.svg
