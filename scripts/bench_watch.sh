#!/usr/bin/env bash
# Folder sync benchmarks (issue 6), in release mode on loopback:
#   - file stable -> first chunk acknowledged (goal: <= settle time + 1 s)
#   - initial scan of 100,000 files already in the sync index (goal: <= 5 s)
# Prints the figures and whether each goal is met; exits 1 if one is not.
# Environment: BENCH_SCAN_FILES (default 100000), BENCH_SETTLE_SECS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(cargo test --release -q -p e2e-tests --test watch_bench -- --ignored --nocapture \
        --test-threads 1 2>&1) || { echo "$out" >&2; exit 1; }
# With --nocapture a test's first line shares the line of libtest's "test name ... ".
figure() { echo "$out" | grep -o 'BENCH .*' | awk -v k="$1" '$2 == k { print $3 }'; }

settle=$(figure settle_time)
best=$(figure stable_to_first_chunk_best)
worst=$(figure stable_to_first_chunk_worst)
files=$(figure initial_scan_files)
scan=$(figure initial_scan_secs)

verdict() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; then echo ok; else echo MISSED; fi; }
goal1=$(awk -v s="$settle" 'BEGIN { printf "%.2f", s + 1 }')
v1=$(verdict "$worst" "$goal1")
v2=$(verdict "$scan" 5)
echo "watch: file stable -> first chunk acknowledged: best ${best} s, worst ${worst} s (settle ${settle} s; goal <= ${goal1} s): $v1"
echo "watch: initial scan of ${files} files already in the index: ${scan} s (goal <= 5 s): $v2"
[ "$v1" = ok ] && [ "$v2" = ok ]
