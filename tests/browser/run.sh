#!/usr/bin/env bash
# Real resumable.js and flow.js, in headless Debian Chromium, against `twake-upload serve`.
# Installs what is missing (npm packages from the lockfile; Debian's chromium when root),
# builds the receiver binary if there is none, then runs node:test. Exits non-zero on
# any failure. Needs no display.
#
#   tests/browser/run.sh                      # from anywhere
#   TWAKE_UPLOAD_BIN=/path/to/twake-upload tests/browser/run.sh
#   CHROMIUM_BIN=/usr/bin/chromium tests/browser/run.sh
#   tests/browser/run.sh --setup              # only install what is missing (the benchmarks)
set -euo pipefail
setup_only=false
[ "${1:-}" = --setup ] && setup_only=true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v node >/dev/null 2>&1 || { echo "run.sh: node (20 or later) is required" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "run.sh: node 20 or later is required (found $(node --version))" >&2
  exit 1
fi

# npm packages, exactly as locked (playwright-core never downloads a browser).
if [ ! -f "$here/node_modules/resumablejs/resumable.js" ] ||
   [ ! -f "$here/node_modules/@flowjs/flow.js/dist/flow.js" ] ||
   [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "run.sh: installing npm packages (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# Chromium from Debian only.
chromium_bin="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [ ! -x "$chromium_bin" ]; then
  if [ "$(id -u)" -eq 0 ] && [ "$chromium_bin" = /usr/bin/chromium ]; then
    echo "run.sh: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium ||
      { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
        apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium; }
  else
    echo "run.sh: no Chromium at $chromium_bin. Install Debian's package as root:" >&2
    echo "  apt-get install -y -o DPkg::Lock::Timeout=600 chromium" >&2
    echo "or point CHROMIUM_BIN at a Chromium binary." >&2
    exit 1
  fi
fi
export CHROMIUM_BIN="$chromium_bin"
$setup_only && exit 0

# The receiver binary.
if [ -n "${TWAKE_UPLOAD_BIN:-}" ]; then
  [ -x "$TWAKE_UPLOAD_BIN" ] || { echo "run.sh: TWAKE_UPLOAD_BIN=$TWAKE_UPLOAD_BIN is not an executable" >&2; exit 1; }
elif [ ! -x "$root/target/debug/twake-upload" ]; then
  echo "run.sh: building the receiver (cargo build -p twake-upload)"
  (cd "$root" && cargo build -p twake-upload --locked)
fi

cd "$root"
# TAP reporter on every terminal, so the summary lines (# tests, # pass, # fail) always print.
exec node --test --test-reporter=tap tests/browser/*.test.mjs
