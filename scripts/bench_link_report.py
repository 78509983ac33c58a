#!/usr/bin/env python3
"""Turns the figures of scripts/bench_link.sh into the emulated-link table of
bench/results.md (between its bench-link:start / bench-link:end markers)."""
import datetime, os, platform, re, sys

MIB = 1 << 20
big, small = 256 * MIB, 1000 * 64 * 1024
runs, cpu = {}, {}
for line in open(sys.argv[1]):
    parts = line.split()
    if parts[0] == "cpu":
        cpu[parts[1]] = float(parts[2])
    else:
        rtt, mbit, what, who, secs = parts
        runs[(int(rtt), int(mbit), what, who)] = float(secs)

load = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"
lines = [
    f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores (load average {load} at the end), "
    "release build, through the link emulator (`bash scripts/bench_link.sh`). Share = bytes ÷ time ÷ the link's nominal rate.",
    "",
    "| link | upload | time | share of the link | vs curl through the link | goal |",
    "|---|---|---|---|---|---|",
]
for (rtt, mbit) in sorted({(k[0], k[1]) for k in runs}):
    rate = mbit * 1e6 / 8
    ref = runs.get((rtt, mbit, "big", "curl"))
    for what, who, label, goal in [
        ("big", "curl", "256 MiB, curl, one request (reference)", ""),
        ("big", "ours", "256 MiB, `twake-upload upload`, defaults", "≥ 0.90"),
        ("big", "fixed", "256 MiB, old fixed defaults (`--parallel 3 --files 2 --chunk-size 1MiB`)", ""),
        ("small", "ours", "1,000 × 64 KiB, defaults", "≥ 0.80"),
        ("small", "fixed", "1,000 × 64 KiB, `--parallel 3 --files 2`", ""),
    ]:
        t = runs.get((rtt, mbit, what, who))
        if t is None:
            continue
        size = big if what == "big" else small
        vs = f"{ref / t:.2f}× curl's speed" if ref and what == "big" else ""
        lines.append(f"| {rtt} ms / {mbit} Mbit/s | {label} | {t:.2f} s | {size / t / rate:.2f} | {vs} | {goal} |")
if cpu:
    per = lambda s: s * 2  # 512 MiB measured: seconds per GiB
    lines += [
        "",
        "| CPU, loopback, 512 MiB (user + system) | s per GiB | ratio to curl | goal |",
        "|---|---|---|---|",
        f"| curl, one request (reference) | {per(cpu['curl']):.2f} | 1.00 | |",
        f"| `twake-upload upload`, defaults | {per(cpu['ours']):.2f} | {cpu['ours'] / cpu['curl']:.2f} | ≤ 1.2 |",
    ]
body = "\n".join(lines) + "\n"
print(body)
page = open("bench/results.md").read()
if "<!-- bench-link:start -->" not in page:
    sys.exit("bench/results.md has lost its <!-- bench-link:start --> / <!-- bench-link:end --> markers")
new = re.sub(r"(<!-- bench-link:start -->\n).*?(<!-- bench-link:end -->)", lambda m: m.group(1) + body + m.group(2), page, flags=re.S)
open("bench/results.md", "w").write(new)
