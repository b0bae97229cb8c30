#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (package `chromium`) for the web explorer's browser
# test (test/ui/explorer.test.ts, driven by playwright-core), only when /usr/bin/chromium is
# missing. playwright-core downloads no browser of its own.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" install-chromium.sh --no-install-recommends chromium fonts-dejavu-core
[ -x /usr/bin/chromium ] || { echo "install-chromium.sh: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
/usr/bin/chromium --version 2>/dev/null | head -1 || true
