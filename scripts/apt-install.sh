#!/usr/bin/env bash
# Installs Debian packages that a test or benchmark needs, with apt-get, as root or through sudo.
# Usage: apt-install.sh <caller> [apt-get install options] <package>...
# Fails with a message saying how to install them by hand when there is no root/sudo or no apt-get.
set -euo pipefail

caller=$1
shift

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "$caller: missing, and this is not root (no sudo): run as root: apt-get install -y $*" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$caller: missing, and apt-get is not available: install by hand (Debian packages: $*)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "$@"
