#!/usr/bin/env bash
# Installs OpenMPI and OpenBLAS from Debian's packages if they are missing (as root, or with sudo).
set -euo pipefail
if pkg-config --exists ompi-c openblas 2>/dev/null && command -v mpirun >/dev/null; then
  exit 0
fi
packages=(libopenmpi-dev openmpi-bin libopenblas-dev pkg-config)
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing ${packages[*]}"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${packages[@]}"
