#!/usr/bin/env bash
# Installs what is missing and runs every test: unit, PyTorch fixtures, fuzzing, and
# end-to-end runs of the binary alone, under mpirun with 1–4 ranks, and on an emulated cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install-deps.sh
# mpirun refuses root without these; the tests run it as the current user either way.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build --build-tests
# The emulated cluster (two Slurm nodes, two network hosts) for the cluster tests, where this
# machine allows it (root, namespaces, slurm-wlm and munge); otherwise those tests skip and say why.
if [ -z "${ELMAN_NO_CLUSTER:-}" ] && launch/testing/cluster.sh check 2>/dev/null; then
  trap 'launch/testing/cluster.sh down' EXIT
  if cluster=$(launch/testing/cluster.sh up); then
    eval "$cluster"
  else
    echo "the emulated cluster did not start (above); the cluster tests skip"
  fi
fi
log=$(mktemp)
# Every test is a Swift Testing test; XCTest would only report an empty run.
swift test --skip-build --disable-xctest "$@" 2>&1 | tee "$log"
# One closing line with the counts (swift test has already failed this script otherwise).
passed=$(grep -oE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' "$log" | grep -oE '[0-9]+' | head -1 || true)
echo "tests: ${passed:-0} passed, 0 failed"
