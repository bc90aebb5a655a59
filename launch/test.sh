#!/usr/bin/env bash
# Installs what is missing and runs every test: unit, PyTorch fixtures, fuzzing, and
# end-to-end runs of the binary alone and under mpirun with 1–4 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install-deps.sh
# mpirun refuses root without these; the tests run it as the current user either way.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build --build-tests
swift test --skip-build "$@"
