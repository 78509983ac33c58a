#!/usr/bin/env bash
# The `make run` demo: starts our receiver on a temporary folder, uploads a generated
# 200 MB file through the CLI with its progress bars, and checks the copy byte for byte.
set -euo pipefail
bin=${1:-target/debug/twake-upload}
work=$(mktemp -d)
# A queue of its own, so the demo never touches your real upload queue.
export TWAKE_UPLOADER_DB=$work/queue.sqlite3
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/received"
echo "Generating a 200 MB file in $work ..."
head -c 200000000 /dev/urandom > "$work/demo-200MB.bin"
"$bin" serve --dir "$work/received" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "Receiver listening on $url"
"$bin" upload "$work/demo-200MB.bin" --to "$url" --chunk-size 4MiB
sent=$(sha256sum < "$work/demo-200MB.bin" | cut -d' ' -f1)
got=$(sha256sum < "$work/received/demo-200MB.bin" | cut -d' ' -f1)
if [ "$sent" = "$got" ]; then
  echo "Verified: the received file is byte-identical (sha256 $got)."
else
  echo "MISMATCH: sent $sent, received $got" >&2
  exit 1
fi
