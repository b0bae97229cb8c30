#!/usr/bin/env bash
# Installs Debian's python3-etcd3gw (a JSON-gateway client) and python3-tooz (OpenStack's
# coordination library; its etcd3 driver runs on python3-etcd3) for the OpenStack clients test
# (test/e2e/openstack-clients.test.ts), only when Debian's python3 cannot import them.
set -euo pipefail

CHECK='import etcd3gw, tooz.coordination, etcd3'
if /usr/bin/python3 -c "$CHECK" >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" install-openstack-clients.sh --no-install-recommends python3-etcd3gw python3-tooz python3-etcd3
/usr/bin/python3 -c "$CHECK" || { echo "install-openstack-clients.sh: installed, but /usr/bin/python3 cannot import etcd3gw, tooz and etcd3" >&2; exit 1; }
