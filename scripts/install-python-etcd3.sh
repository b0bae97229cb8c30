#!/usr/bin/env bash
# Installs Debian's python3-etcd3 (python-etcd3 on grpcio's C-core gRPC stack) for the Python
# client test (test/api/grpc/python-etcd3.test.ts), only when Debian's python3 cannot import it.
set -euo pipefail

if /usr/bin/python3 -c 'import etcd3' >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" install-python-etcd3.sh --no-install-recommends python3-etcd3
/usr/bin/python3 -c 'import etcd3' || { echo "install-python-etcd3.sh: python3-etcd3 installed but /usr/bin/python3 cannot import etcd3" >&2; exit 1; }
