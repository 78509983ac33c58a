#!/usr/bin/env bash
# `make bench`: upload benchmarks against our receiver on loopback, each measured as a ratio
# to a reference run in the same benchmark (curl), since these machines are noisy.
# Writes the upload figures of bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing="${apt_missing:-} $1"; }
need hyperfine; need time; need curl; need python3
if [ -n "${apt_missing:-}" ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $apt_missing
fi
cargo build --release --locked -p twake-upload
bin=$PWD/target/release/twake-upload
work=${BENCH_DIR:-$(mktemp -d -p "$PWD/target" bench.XXXX)}
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/recv" "$work/json"
# The benchmarks use a queue of their own, never the user's.
export TWAKE_UPLOADER_DB=$work/queue.sqlite3
"$bin" serve --dir "$work/recv" --max-chunk-size 2GiB > "$work/serve.out" 2>/dev/null &
server=$!
for _ in $(seq 1 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "receiver: $url (work dir $work)"

big=$work/big.bin
size=$((1 << 30))
[ -f "$big" ] || head -c $size /dev/urandom > "$big"
# curl: the whole file as one single-chunk request, a fresh identifier each run.
cat > "$work/curl-one.sh" <<CURL
#!/usr/bin/env bash
id=curl-\$RANDOM\$RANDOM
code=\$(curl -s -o /dev/null -w '%{http_code}' -F "file=@$big" \
  "$url?resumableChunkNumber=1&resumableChunkSize=$size&resumableCurrentChunkSize=$size&resumableTotalSize=$size&resumableType=&resumableIdentifier=\$id&resumableFilename=curl.bin&resumableRelativePath=curl.bin&resumableTotalChunks=1")
[ "\$code" = 200 ] || { echo "curl got \$code" >&2; exit 1; }
CURL
chmod +x "$work/curl-one.sh"
# A touch gives the file a new mtime, hence a new identifier: every run uploads for real.
prep="touch $big; rm -f $work/recv/big.bin $work/recv/curl.bin"
hyperfine --runs "${RUNS:-3}" --warmup 1 --prepare "$prep" --export-json "$work/json/big.json" \
  -n curl-single-request "$work/curl-one.sh" \
  -n default-1MiB "$bin upload $big --to $url" \
  -n chunk-4MiB "$bin upload $big --to $url --chunk-size 4MiB" \
  -n chunk-16MiB "$bin upload $big --to $url --chunk-size 16MiB"

rss() { # peak RSS in KiB of one upload of $1
  touch "$1"
  /usr/bin/time -v "$bin" upload "$1" --to "$url" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
}
rss1=$(rss "$big")
big4=$work/big4.bin
[ -f "$big4" ] || head -c $((4 << 30)) /dev/urandom > "$big4"
rss4=$(rss "$big4")
rm -f "$big4" "$work/recv/big4.bin"

small=$work/small
if [ ! -d "$small" ]; then
  mkdir -p "$small"
  python3 - "$small" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(10000):
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(4096))
PY
fi
cat > "$work/curl-loop.sh" <<CURL
#!/usr/bin/env bash
for f in $small/*; do
  n=\$(basename "\$f")
  curl -s -o /dev/null -F "file=@\$f" \
    "$url?resumableChunkNumber=1&resumableChunkSize=1048576&resumableCurrentChunkSize=4096&resumableTotalSize=4096&resumableType=&resumableIdentifier=c\$RANDOM-\$n&resumableFilename=\$n&resumableRelativePath=loop/\$n&resumableTotalChunks=1"
done
CURL
chmod +x "$work/curl-loop.sh"
hyperfine --runs 1 --prepare "find $small -type f -exec touch {} +; rm -rf $work/recv/small $work/recv/loop; rm -f $work/queue.sqlite3*" \
  --export-json "$work/json/small.json" \
  -n curl-sequential-loop "$work/curl-loop.sh" \
  -n twake-upload "$bin upload $small --to $url" \
  -n twake-upload-in-memory "$bin --in-memory upload $small --to $url"

# Bytes sent again after kill -9: 10 kills at random moments of a 1 GiB upload with 4 MiB
# chunks, each followed by `resume`; what the receiver accepted beyond the file's size.
before=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_accepted"])')
touch "$big"; rm -f "$work/recv/big.bin"
kills=10
for i in $(seq 1 $kills); do
  if [ "$i" = 1 ]; then "$bin" upload "$big" --to "$url" --chunk-size 4MiB >/dev/null 2>&1 & p=$!
  else "$bin" resume >/dev/null 2>&1 & p=$!; fi
  sleep "0.$((RANDOM % 9 + 1))"; kill -9 $p 2>/dev/null || true; wait $p 2>/dev/null || true
done
"$bin" resume >/dev/null 2>&1
after=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_accepted"])')
cmp -s "$big" "$work/recv/big.bin" || { echo "kill -9 bench: file differs" >&2; exit 1; }
resent=$(( after - before - size ))
echo "$kills $resent $((4 << 20)) 3" > "$work/json/kill.txt"

# Network back -> first acknowledged chunk, from the 20 s outage test (release build).
cargo test --release --locked -p e2e-tests --test durable a_20_second -- --nocapture 2>&1 \
  | sed -n 's/.*network back -> first acknowledged chunk: //p' > "$work/json/offline.txt"

python3 scripts/bench_report.py "$work/json" "$rss1" "$rss4"
