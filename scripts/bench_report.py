#!/usr/bin/env python3
"""Turns the hyperfine JSON of scripts/bench.sh into the upload figures of bench/results.md
(between its bench:start / bench:end markers; the rest of the page is written by hand)."""
import json, os, platform, re, subprocess, sys, datetime

jdir, rss1, rss4 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
big = {r["command"]: r for r in json.load(open(os.path.join(jdir, "big.json")))["results"]}
small = {r["command"]: r for r in json.load(open(os.path.join(jdir, "small.json")))["results"]}
ref = big["curl-single-request"]["mean"]
kills, resent, chunk, inflight = (int(x) for x in open(os.path.join(jdir, "kill.txt")).read().split())
resent_ratio = max(resent, 0) / kills / (chunk * inflight)
offline_text = open(os.path.join(jdir, "offline.txt")).read().strip()
# Rust prints durations like "1.796948331s" or "950.2ms".
m = re.match(r"([0-9.]+)(ms|s)$", offline_text)
offline = f"{float(m.group(1)) / (1000 if m.group(2) == 'ms' else 1):.1f} s" if m else "n/a"
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [
    f"Measured {datetime.date.today()} on {platform.machine()}, {cpu} cores, loopback, release build, with `make bench`.",
    "",
    "| benchmark | time (mean ± σ) | ratio to reference | goal |",
    "|---|---|---|---|",
    f"| 1 GiB, curl, one single-chunk request (reference) | {ref:.2f} s ± {big['curl-single-request']['stddev']:.2f} | 1.00 | |",
]
for name, label, goal in [("default-1MiB", "1 GiB, `twake-upload upload`, default 1 MiB chunks", "≤ 1.10"),
                          ("chunk-4MiB", "1 GiB, `--chunk-size 4MiB`", ""),
                          ("chunk-16MiB", "1 GiB, `--chunk-size 16MiB`", "")]:
    r = big[name]
    lines.append(f"| {label} | {r['mean']:.2f} s ± {r['stddev']:.2f} | {r['mean'] / ref:.2f} | {goal} |")
loop = small["curl-sequential-loop"]["mean"]
ours = small["twake-upload"]["mean"]
lines += [
    f"| 10,000 × 4 KiB, sequential curl loop (reference) | {loop:.1f} s | 1.00 | |",
    f"| 10,000 × 4 KiB, `twake-upload upload DIR` | {ours:.1f} s | {loop / ours:.1f}× faster | ≥ 5× faster |",
    f"| 10,000 × 4 KiB, `--in-memory` (no durable queue) | {small['twake-upload-in-memory']['mean']:.1f} s | store overhead {100 * (ours / small['twake-upload-in-memory']['mean'] - 1):+.0f} % | ≤ +10 % |",
    "",
    "| durability | figure | goal |",
    "|---|---|---|",
    f"| bytes re-sent after kill -9 ÷ (chunk size × chunks in flight), {kills} kills of a 1 GiB upload with 4 MiB chunks (bytes the receiver accepted twice; bodies cut by a kill are not counted) | {resent_ratio:.2f} | ≤ 1 |",
    f"| network back → first acknowledged chunk (20 s outage through the fault proxy) | {offline} | ≤ 5 s |",
    "",
    "| peak RSS of `twake-upload upload` | KiB | goal |",
    "|---|---|---|",
    f"| 1 GiB file | {rss1} ({rss1 / 1024:.1f} MiB) | ≤ 64 MiB, flat |",
    f"| 4 GiB file | {rss4} ({rss4 / 1024:.1f} MiB) | ≤ 64 MiB, flat |",
]
body = "\n".join(lines) + "\n"
page = open("bench/results.md").read()
if "<!-- bench:start -->" not in page:
    sys.exit("bench/results.md has lost its <!-- bench:start --> / <!-- bench:end --> markers: put them back")
new = re.sub(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)", lambda m: m.group(1) + body + m.group(2), page, flags=re.S)
open("bench/results.md", "w").write(new)
print(body)
