#!/usr/bin/env bash
# Installs Debian's python3-etcd3 (python-etcd3 on grpcio's C-core gRPC stack) for the Python
# client test (test/api/grpc/python-etcd3.test.ts), only when Debian's python3 cannot import it.
# Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

if /usr/bin/python3 -c 'import etcd3' >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-python-etcd3.sh: python3-etcd3 is missing and this is not root (no sudo): run as root: apt-get install -y python3-etcd3" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-python-etcd3.sh: python3-etcd3 is missing and apt-get is not available: install python-etcd3 for /usr/bin/python3 by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends python3-etcd3

/usr/bin/python3 -c 'import etcd3' || { echo "install-python-etcd3.sh: python3-etcd3 installed but /usr/bin/python3 cannot import etcd3" >&2; exit 1; }
