#!/usr/bin/env bash
# Installs a real etcd and etcdctl (Debian packages etcd-server and etcd-client, 3.4) for the
# side-by-side benchmarks and the differential tests, only when `etcd` or `etcdctl` is not on the
# PATH (etcd-server only suggests etcd-client, so it must be named).
set -euo pipefail

if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
  exit 0
fi

bash "$(dirname "$0")/apt-install.sh" install-etcd.sh etcd-server etcd-client

# The package starts an etcd service on :2379 where an init system runs; the benchmarks start their
# own etcd on free ports, so stop it to leave the cores to the benchmark (ignored without systemd).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then systemctl stop etcd || true; else sudo systemctl stop etcd || true; fi
fi

command -v etcd >/dev/null 2>&1 || { echo "install-etcd.sh: etcd-server installed but etcd is not on PATH" >&2; exit 1; }
command -v etcdctl >/dev/null 2>&1 || { echo "install-etcd.sh: etcd-client installed but etcdctl is not on PATH" >&2; exit 1; }
etcd --version | head -1
