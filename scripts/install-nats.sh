#!/usr/bin/env bash
# Provides a nats-server >= 2.10 for the queue benchmark (bench/compare/queue.ts). The issue asks
# for NATS JetStream with every item synced to disk, which is `sync_interval: always`, a setting
# that arrived in nats-server 2.10; Debian bookworm's package is 2.9.10. Debian trixie packages
# 2.10, a static Go binary that runs on bookworm: this takes trixie's current nats-server .deb from
# the Debian archive (its SHA256 checked against trixie's package index), and puts the binary in
# bench/.bin/ (git-ignored), where bench/lib/server-process.ts looks first. Nothing is installed
# system-wide. Does nothing when a nats-server >= 2.10 is already on the PATH or in bench/.bin/.
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${NATS_DEBIAN_SUITE:-trixie}"
DEST="bench/.bin"

new_enough() { # $1: a nats-server binary
  local v
  v="$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 10 ]; }
}

if [ -x "$DEST/nats-server" ] && new_enough "$DEST/nats-server"; then exit 0; fi
if command -v nats-server >/dev/null 2>&1 && new_enough "$(command -v nats-server)"; then exit 0; fi

for tool in curl xz dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-nats.sh: needs $tool" >&2; exit 1; }
done

arch="$(dpkg --print-architecture)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

curl -fsS "$MIRROR/dists/$SUITE/main/binary-$arch/Packages.xz" -o "$work/Packages.xz"
# The package's stanza: its pool path and checksum.
stanza="$(xz -dc "$work/Packages.xz" | awk -v RS= '/(^|\n)Package: nats-server\n/')"
file="$(printf '%s\n' "$stanza" | sed -n 's/^Filename: //p' | head -1)"
sum="$(printf '%s\n' "$stanza" | sed -n 's/^SHA256: //p' | head -1)"
[ -n "$file" ] && [ -n "$sum" ] || { echo "install-nats.sh: no nats-server in $SUITE's index" >&2; exit 1; }

curl -fsS "$MIRROR/$file" -o "$work/nats.deb"
echo "$sum  $work/nats.deb" | sha256sum -c --quiet - || { echo "install-nats.sh: checksum mismatch for $file" >&2; exit 1; }
dpkg-deb -x "$work/nats.deb" "$work/x"
mkdir -p "$DEST"
install -m 0755 "$work/x/usr/sbin/nats-server" "$DEST/nats-server"
cp "$work/x/usr/share/doc/nats-server/copyright" "$DEST/nats-server.copyright"
new_enough "$DEST/nats-server" || { echo "install-nats.sh: $file is older than 2.10" >&2; exit 1; }
"$DEST/nats-server" --version
