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
status=0
swift test --skip-build --disable-xctest "$@" 2>&1 | tee "$log" || status=$?
# One closing line with the counts, read from the runner's own lines: a test (every case of a
# parameterised one together) that passed, failed or was skipped.
count() { grep -cE "$1" "$log" || true; }
passed=$(count '^✔ Test ".*" (with [0-9]+ test cases )?passed after')
failed=$(count '^✘ Test ".*" (with [0-9]+ test cases )?failed after')
skipped=$(count '^➜ Test "(.*)" skipped')
# The runner's own total, when it printed one: under parallel output a test's line can land
# inside another's (seen once: 140 counted of 206), so the passes are the total less the rest.
total=$(grep -oE 'Test run with [0-9]+ tests' "$log" | tail -1 | grep -oE '[0-9]+' || true)
if [ -n "$total" ]; then passed=$((total - failed - skipped)); fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$passed" -gt 0 ] || exit $((status == 0 ? 1 : status))
