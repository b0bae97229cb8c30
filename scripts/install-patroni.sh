#!/usr/bin/env bash
# Installs Debian's patroni (PostgreSQL HA; only its etcd3 DCS is used, no PostgreSQL) for the
# Patroni gateway-client test (test/e2e/patroni-etcd3.test.ts), only when Debian's python3
# cannot import it. python3-idna too: urllib3 (which Patroni speaks HTTP with) merely suggests it,
# yet needs it for https.
set -euo pipefail

if /usr/bin/python3 -c 'import patroni.dcs.etcd3, idna' >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" install-patroni.sh --no-install-recommends patroni python3-idna
/usr/bin/python3 -c 'import patroni.dcs.etcd3, idna' || { echo "install-patroni.sh: patroni installed but /usr/bin/python3 cannot import patroni.dcs.etcd3 and idna" >&2; exit 1; }
