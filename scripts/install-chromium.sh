#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (package `chromium`) for the web explorer's browser
# test (test/ui/explorer.test.ts, driven by playwright-core), only when /usr/bin/chromium is
# missing. playwright-core downloads no browser of its own. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-chromium.sh: chromium is missing and this is not root (no sudo): run as root: apt-get install -y chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium.sh: chromium is missing and apt-get is not available: install Chromium at /usr/bin/chromium by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core

[ -x /usr/bin/chromium ] || { echo "install-chromium.sh: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
/usr/bin/chromium --version 2>/dev/null | head -1 || true
