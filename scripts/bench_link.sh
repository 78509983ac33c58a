#!/usr/bin/env bash
# `make bench`, emulated real links: a 256 MiB file (and, on the 60 ms link, 1,000 × 64 KiB
# files) uploaded through the link emulator of tests/src/link_emulator.rs (fixed delay each
# way, one rate budget shared by every connection, a bounded queue), with our defaults, with
# the old fixed defaults, with resumable.js 1.1.0 in headless Chromium (its defaults, and
# Twake Drive's web settings: tests/browser/bench.mjs), and curl's one request through the
# same link as the reference of what the emulated link carries. On the 60 ms link, ours over
# TLS too, HTTP/1.1 against HTTP/2 (nginx as the TLS front: our receiver speaks plain
# HTTP/1.1; the client built with the `http2` feature). Also the CPU an upload costs on
# loopback, ours vs curl. Writes the figures between the bench-link markers of
# bench/results.md.
#
#   PROFILES="60:400" bash scripts/bench_link.sh     # one profile (RTT_MS:MBIT) while iterating
#   BROWSER=0 TLS=0 bash scripts/bench_link.sh       # without the browser or the TLS rows
#   TLS_RUNS=1 NGINX_HTTP='ssl_buffer_size 4k;' …    # TLS rounds; more directives for nginx
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-$(mktemp -d -p "$PWD/target" bench-link.XXXX)}
trap 'kill "${server:-0}" "${link:-0}" "${nginx:-0}" "${tlink:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/recv"
build=(cargo build --release --locked -p twake-upload -p e2e-tests --bin twake-upload --bin link-emulator)
# The client with HTTP/2 (ALPN h2 over TLS) for the TLS rows: built first and set aside, so
# target/release/twake-upload is the default build afterwards.
if [ "${TLS:-1}" = 1 ]; then
  "${build[@]}" --features twake-upload/http2
  cp target/release/twake-upload "$work/twake-upload-http2"
fi
"${build[@]}"
bin=$PWD/target/release/twake-upload
emu=$PWD/target/release/link-emulator
if [ "${BROWSER:-1}" = 1 ]; then
  bash tests/browser/run.sh --setup # npm packages and Debian's chromium, when missing
fi
export TWAKE_UPLOADER_DB=$work/queue.sqlite3
# --cors: the browser rows post from the harness's page, another origin.
"$bin" serve --dir "$work/recv" --max-chunk-size 2GiB --cors > "$work/serve.out" 2>/dev/null &
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
# seconds of one resumable.js upload in Chromium to $1 with settings $2 of $big (or, with
# $3 = small, of the 1,000 small files picked together), on the page's own clock (the
# browser's start is left out), after checking that every byte arrived.
browser() {
  local what=${3:-big} t f
  local files=("$big"); [ "$what" = small ] && files=("$small"/*)
  for f in "${files[@]}"; do rm -f "$work/recv/${f##*/}"; done
  t=$(node tests/browser/bench.mjs "$1" "$([ "$what" = small ] && echo "$small" || echo "$big")" "$2" 2> "$work/last.err") ||
    { cat "$work/last.err" >&2; exit 1; }
  for f in "${files[@]}"; do
    cmp -s "$f" "$work/recv/${f##*/}" || { echo "resumable.js ($2): $work/recv/${f##*/} is not $f" >&2; exit 1; }
  done
  echo "$t"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A link emulator of profile $1 ms / $2 Mbit/s in front of $3 (host:port): sets `tlink` to its
# pid and `taddr` to its address.
start_link() {
  rm -f "$work/tlink.out" # the wait below must not read the last emulator's address
  "$emu" "$3" "$1" "$2" > "$work/tlink.out" &
  tlink=$!
  for _ in $(seq 1 100); do [ -s "$work/tlink.out" ] && break; sleep 0.1; done
  taddr=$(sed -n 's/^listening on //p' "$work/tlink.out")
}

# The TLS front of the TLS rows: nginx with a certificate of an authority made here, proxying
# to the receiver. Four ports (`port[h1]`, `port[h2]`, `port[h1-buf]`, `port[h2-buf]`): HTTP/1.1
# only, or HTTP/2 offered (ALPN); with nginx's default body buffers, or with larger ones
# (`-buf`: a 4 MiB HTTP/2 window per request before nginx reads it, 16 MiB in memory). Every
# request is logged with its protocol, so each row checks which one it really used.
declare -A port
tls_front() {
  if ! command -v nginx > /dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y -qq -o DPkg::Lock::Timeout=600 nginx-light > /dev/null ||
        { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 nginx-light > /dev/null; }
    else
      echo "no nginx: the TLS rows need Debian's nginx-light (apt-get install nginx-light as root)" >&2
      return 1
    fi
  fi
  local t=$work/tls ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$t"
  openssl req -x509 -days 2 -subj "/CN=Bench CA" "${ec[@]}" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$t/ca.key" -out "$t/ca.pem" 2> /dev/null
  openssl req -subj /CN=127.0.0.1 "${ec[@]}" -keyout "$t/server.key" -out "$t/server.csr" 2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$t/ext"
  openssl x509 -req -days 2 -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -extfile "$t/ext" -out "$t/server.pem" 2> /dev/null
  local site='ssl_certificate '"$t"'/server.pem; ssl_certificate_key '"$t"'/server.key;
      location / { proxy_pass http://receiver; proxy_http_version 1.1; proxy_set_header Connection ""; }'
  local buffers='client_body_buffer_size 16m; http2_body_preread_size 4m;' servers='' v
  for v in h1 h2 h1-buf h2-buf; do
    port[$v]=$(free_port)
    servers+="  server { listen 127.0.0.1:${port[$v]} ssl$([[ $v = h2* ]] && echo ' http2' || true); $([[ $v = *-buf ]] && echo "$buffers" || true) $site }"$'\n'
  done
  cat > "$t/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
user root;
pid $t/nginx.pid;
error_log $t/error.log warn;
events { worker_connections 1024; }
http {
  log_format proto '\$server_port \$server_protocol \$status';
  access_log $t/access.log proto;
  client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fcgi;
  uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;
  client_max_body_size 0;
  keepalive_requests 100000;
  ${NGINX_HTTP:-}
  upstream receiver { server $upstream; keepalive 64; }
$servers}
NGINX
  nginx -c "$t/nginx.conf" -p "$t" &
  nginx=$!
  for _ in $(seq 1 100); do [ -s "$t/nginx.pid" ] && return 0; sleep 0.1; done
  echo "nginx did not start: $(cat "$t/error.log")" >&2
  return 1
}
# Fails unless every request nginx logged on port $1 since the log was emptied used protocol $2.
used_only() {
  local log=$work/tls/access.log
  awk -v p="$1" '$1 == p { print $2 }' "$log" | sort | uniq -c > "$work/protocols"
  grep -q " $2\$" "$work/protocols" && [ "$(wc -l < "$work/protocols")" = 1 ] ||
    { echo "port $1 was to carry $2 only, nginx logged: $(cat "$work/protocols")" >&2; exit 1; }
  : > "$log" # nginx appends: the next row's lines start the emptied log
}

# The browser's own ceiling: Chromium straight to the receiver, no emulator, and ours the same.
if [ "${BROWSER:-1}" = 1 ]; then
  t=$(browser "$url" defaults); echo "loopback resumable $t" >> "$out"
  t=$(browser "$url" twake); echo "loopback twake $t" >> "$out"
  t=$(timed "$bin" --in-memory upload "$big" --to "$url"); echo "loopback ours $t" >> "$out"
  cat "$out"
fi

for p in ${PROFILES:-5:1000 60:400 200:50}; do
  rtt=${p%:*}; mbit=${p#*:}
  rm -f "$work/link.out" # the wait below must not read the last profile's address
  "$emu" "$upstream" "$rtt" "$mbit" > "$work/link.out" &
  link=$!
  for _ in $(seq 1 100); do [ -s "$work/link.out" ] && break; sleep 0.1; done
  lurl="http://$(sed -n 's/^listening on //p' "$work/link.out")/upload"
  echo "link ${rtt} ms / ${mbit} Mbit/s: $lurl"
  t=$(timed "$curl_one" "$lurl" "$big"); echo "$rtt $mbit big curl $t" >> "$out"
  t=$(timed "$bin" --in-memory upload "$big" --to "$lurl"); echo "$rtt $mbit big ours $t" >> "$out"
  t=$(timed "$bin" --in-memory upload "$big" --to "$lurl" --parallel 3 --files 2 --chunk-size 1MiB)
  echo "$rtt $mbit big fixed $t" >> "$out"
  if [ "${BROWSER:-1}" = 1 ]; then
    t=$(browser "$lurl" defaults); echo "$rtt $mbit big resumable $t" >> "$out"
    t=$(browser "$lurl" twake); echo "$rtt $mbit big twake $t" >> "$out"
  fi
  if [ "$rtt" = 60 ]; then
    t=$(timed "$bin" --in-memory upload "$small" --to "$lurl"); echo "$rtt $mbit small ours $t" >> "$out"
    t=$(timed "$bin" --in-memory upload "$small" --to "$lurl" --parallel 3 --files 2)
    echo "$rtt $mbit small fixed $t" >> "$out"
    if [ "${BROWSER:-1}" = 1 ]; then
      t=$(browser "$lurl" defaults small); echo "$rtt $mbit small resumable $t" >> "$out"
      t=$(browser "$lurl" twake small); echo "$rtt $mbit small twake $t" >> "$out"
    fi
  fi
  if [ "${TLS:-1}" = 1 ] && [ "$rtt" = 60 ] && tls_front; then
    ca=(--ca-cert "$work/tls/ca.pem")
    # Small differences, a noisy machine: TLS_RUNS rounds (3), each front in turn.
    for _ in $(seq 1 "${TLS_RUNS:-3}"); do
      for v in h1 h2 h1-buf h2-buf; do
        start_link "$rtt" "$mbit" "127.0.0.1:${port[$v]}"
        turl="https://$taddr/upload"
        t=$(timed "$work/twake-upload-http2" --in-memory "${ca[@]}" upload "$big" --to "$turl")
        echo "$rtt $mbit big tls-$v $t" >> "$out"
        t=$(timed "$work/twake-upload-http2" --in-memory "${ca[@]}" upload "$small" --to "$turl")
        echo "$rtt $mbit small tls-$v $t" >> "$out"
        expected=HTTP/1.1; [[ $v = h2* ]] && expected=HTTP/2.0
        used_only "${port[$v]}" "$expected"
        kill "$tlink"; wait "$tlink" 2>/dev/null || true
      done
    done
    kill "$nginx"; wait "$nginx" 2>/dev/null || true
  fi
  kill "$link"; wait "$link" 2>/dev/null || true
  grep "^$rtt $mbit " "$out"
done

# CPU of 512 MiB on loopback: user + system seconds, ours (defaults) and curl's one request.
cpu_of() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}'; }
half=$work/half.bin
head -c $((512 << 20)) /dev/urandom > "$half"
# One run each is noisy on a shared machine (the same build varied by half between runs), so
# five of each, in turn, and their medians.
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ours_cpu= curl_cpu=
for _ in 1 2 3 4 5; do
  rm -f "$work/recv/half.bin"; touch "$half"
  ours_cpu+=" $(cpu_of "$bin" --in-memory upload "$half" --to "$url")"
  rm -f "$work/recv/curl.bin"
  curl_cpu+=" $(cpu_of "$curl_one" "$url" "$half")"
done
echo "cpu ours runs:$ours_cpu; curl runs:$curl_cpu"
echo "cpu ours $(echo "$ours_cpu" | median)" >> "$out"
echo "cpu curl $(echo "$curl_cpu" | median)" >> "$out"
tail -n 2 "$out"
python3 scripts/bench_link_report.py "$out"
