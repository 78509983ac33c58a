#!/usr/bin/env bash
# `make bench`, emulated real links: a 256 MiB file (and, on the 60 ms link, 1,000 × 64 KiB
# files) uploaded through the link emulator of tests/src/link_emulator.rs (fixed delay each
# way, one rate budget shared by every connection, a bounded queue), with our defaults, with
# the old fixed defaults, and curl's one request through the same link as the reference of
# what the emulated link carries. Also the CPU an upload costs on loopback, ours vs curl.
# Writes the figures between the bench-link markers of bench/results.md.
#
#   PROFILES="60:400" bash scripts/bench_link.sh     # one profile (RTT_MS:MBIT) while iterating
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p twake-upload -p e2e-tests --bin twake-upload --bin link-emulator
bin=$PWD/target/release/twake-upload
emu=$PWD/target/release/link-emulator
work=${BENCH_DIR:-$(mktemp -d -p "$PWD/target" bench-link.XXXX)}
trap 'kill "${server:-0}" "${link:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/recv"
export TWAKE_UPLOADER_DB=$work/queue.sqlite3
"$bin" serve --dir "$work/recv" --max-chunk-size 2GiB > "$work/serve.out" 2>/dev/null &
server=$!
for _ in $(seq 1 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
upstream=$(echo "$url" | sed -E 's|http://([^/]+)/.*|\1|')
size=$((256 << 20))
big=$work/big.bin
head -c $size /dev/urandom > "$big"
small=$work/small
mkdir -p "$small"
for i in $(seq -w 1 1000); do head -c 65536 /dev/urandom > "$small/f$i.bin"; done
out=$work/figures.txt
: > "$out"

cat > "$work/curl-one.sh" <<'CURL'
#!/usr/bin/env bash
# One single-chunk request of the whole file $2 to $1, a fresh identifier each run.
size=$(stat -c %s "$2"); id=curl-$RANDOM$RANDOM
code=$(curl -s -o /dev/null -w '%{http_code}' -F "file=@$2" \
  "$1?resumableChunkNumber=1&resumableChunkSize=$size&resumableCurrentChunkSize=$size&resumableTotalSize=$size&resumableType=&resumableIdentifier=$id&resumableFilename=curl.bin&resumableRelativePath=curl.bin&resumableTotalChunks=1")
[ "$code" = 200 ] || { echo "curl got $code" >&2; exit 1; }
CURL
chmod +x "$work/curl-one.sh"
curl_one=$work/curl-one.sh
now() { date +%s.%N; }
# seconds of one command, after a fresh start: new mtimes (new identifiers), nothing stored.
timed() {
  touch "$big"; find "$small" -type f -exec touch {} +
  rm -rf "$work/recv/big.bin" "$work/recv/curl.bin" "$work/recv/small"
  local t0; t0=$(now)
  "$@" > /dev/null 2> "$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
}

for p in ${PROFILES:-5:1000 60:400 200:50}; do
  rtt=${p%:*}; mbit=${p#*:}
  "$emu" "$upstream" "$rtt" "$mbit" > "$work/link.out" &
  link=$!
  for _ in $(seq 1 100); do [ -s "$work/link.out" ] && break; sleep 0.1; done
  lurl="http://$(sed -n 's/^listening on //p' "$work/link.out")/upload"
  echo "link ${rtt} ms / ${mbit} Mbit/s: $lurl"
  t=$(timed "$curl_one" "$lurl" "$big"); echo "$rtt $mbit big curl $t" >> "$out"
  t=$(timed "$bin" --in-memory upload "$big" --to "$lurl"); echo "$rtt $mbit big ours $t" >> "$out"
  t=$(timed "$bin" --in-memory upload "$big" --to "$lurl" --parallel 3 --files 2 --chunk-size 1MiB)
  echo "$rtt $mbit big fixed $t" >> "$out"
  if [ "$rtt" = 60 ]; then
    t=$(timed "$bin" --in-memory upload "$small" --to "$lurl"); echo "$rtt $mbit small ours $t" >> "$out"
    t=$(timed "$bin" --in-memory upload "$small" --to "$lurl" --parallel 3 --files 2)
    echo "$rtt $mbit small fixed $t" >> "$out"
  fi
  kill "$link"; wait "$link" 2>/dev/null || true
  tail -n 5 "$out"
done

# CPU of 512 MiB on loopback: user + system seconds, ours (defaults) and curl's one request.
cpu_of() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}'; }
half=$work/half.bin
head -c $((512 << 20)) /dev/urandom > "$half"
echo "cpu ours $(cpu_of "$bin" --in-memory upload "$half" --to "$url")" >> "$out"
rm -f "$work/recv/half.bin"
echo "cpu curl $(cpu_of "$curl_one" "$url" "$half")" >> "$out"
tail -n 2 "$out"
python3 scripts/bench_link_report.py "$out"
