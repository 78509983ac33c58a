#!/usr/bin/env python3
"""Turns the figures of scripts/bench_link.sh into the emulated-link tables of
bench/results.md (between its bench-link:start / bench-link:end markers).

    python3 scripts/bench_link_report.py FIGURES [RESULTS_MD]

FIGURES has one line per run: `RTT_MS MBIT big|small WHO SECONDS`, `cpu WHO SECONDS`, or
`loopback WHO SECONDS` (256 MiB straight to the receiver, no emulator).
A run repeated gives several lines: the tables show their median (and their range).
RESULTS_MD defaults to bench/results.md. The tables are printed too."""
import datetime, os, platform, re, sys

MIB = 1 << 20
SIZES = {"big": 256 * MIB, "small": 1000 * 64 * 1024}
START, END = "<!-- bench-link:start -->", "<!-- bench-link:end -->"

# (what, who, label, goal) in the order of the main table's rows.
ROWS = [
    ("big", "curl", "256 MiB, curl, one request (reference)", ""),
    ("big", "ours", "256 MiB, `twake-upload upload`, defaults", "≥ 0.90"),
    ("big", "fixed", "256 MiB, old fixed defaults (`--parallel 3 --files 2 --chunk-size 1MiB`)", ""),
    ("big", "resumable", "256 MiB, resumable.js 1.1.0 defaults in Chromium (1 MiB chunks, 3 at once, a test GET each)", ""),
    ("big", "twake", "256 MiB, resumable.js with Twake Drive's web settings (5,000,000-byte chunks, 5 at once, no test GETs)", ""),
    ("big", "tls-h1", "256 MiB, ours over TLS (nginx, default buffers), HTTP/1.1", ""),
    ("big", "tls-h2", "256 MiB, ours over TLS (nginx, default buffers), HTTP/2", ""),
    ("big", "tls-h1-buf", "256 MiB, ours over TLS (nginx, larger body buffers), HTTP/1.1", ""),
    ("big", "tls-h2-buf", "256 MiB, ours over TLS (nginx, larger body buffers), HTTP/2", ""),
    ("small", "ours", "1,000 × 64 KiB, defaults", "≥ 0.80"),
    ("small", "fixed", "1,000 × 64 KiB, `--parallel 3 --files 2`", ""),
    ("small", "resumable", "1,000 × 64 KiB, resumable.js 1.1.0 defaults in Chromium, picked together", ""),
    ("small", "twake", "1,000 × 64 KiB, resumable.js with Twake Drive's web settings, picked together", ""),
    ("small", "tls-h1", "1,000 × 64 KiB, ours over TLS (nginx, default buffers), HTTP/1.1", ""),
    ("small", "tls-h2", "1,000 × 64 KiB, ours over TLS (nginx, default buffers), HTTP/2", ""),
    ("small", "tls-h1-buf", "1,000 × 64 KiB, ours over TLS (nginx, larger body buffers), HTTP/1.1", ""),
    ("small", "tls-h2-buf", "1,000 × 64 KiB, ours over TLS (nginx, larger body buffers), HTTP/2", ""),
]


class FiguresError(Exception):
    pass


def parse(lines):
    """The runs {(rtt, mbit, what, who): [seconds, …]}; the CPU and the loopback figures
    {who: seconds}, each under its own key of `runs`: ("cpu",) and ("loopback",)."""
    runs, cpu, loopback = {}, {}, {}
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] in ("cpu", "loopback") and len(parts) == 3:
                (cpu if parts[0] == "cpu" else loopback)[parts[1]] = float(parts[2])
            elif len(parts) == 5 and parts[2] in SIZES:
                rtt, mbit, what, who, secs = parts
                runs.setdefault((int(rtt), int(mbit), what, who), []).append(float(secs))
            else:
                raise ValueError
        except ValueError:
            raise FiguresError(
                f"line {number} is not `RTT MBIT big|small WHO SECONDS`, `cpu WHO SECONDS` nor `loopback WHO SECONDS`: {line.strip()!r}"
            )
    return runs, cpu, loopback


def median(times):
    times = sorted(times)
    middle = len(times) // 2
    return times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2


def seconds(times):
    """`5.96 s`, or for repeated runs their median and range: `5.96 s (5.90–6.10, 3 runs)`."""
    if len(times) == 1:
        return f"{times[0]:.2f} s"
    return f"{median(times):.2f} s ({min(times):.2f}–{max(times):.2f}, {len(times)} runs)"


def ratio(slow, fast):
    """How many times faster `fast` is than `slow` (the same bytes), as `1.23×`."""
    return f"{slow / fast:.2f}×"


LOOPBACK = [
    ("resumable", "resumable.js 1.1.0 defaults in Chromium"),
    ("twake", "resumable.js with Twake Drive's web settings in Chromium"),
    ("ours", "`twake-upload upload`, defaults"),
]


def tables(all_runs, cpu, loopback, header):
    runs = {key: median(times) for key, times in all_runs.items()}
    lines = [
        header,
        "",
        "| link | upload | time | share of the link | vs curl through the link | goal |",
        "|---|---|---|---|---|---|",
    ]
    links = sorted({(k[0], k[1]) for k in runs})
    for rtt, mbit in links:
        rate = mbit * 1e6 / 8
        ref = runs.get((rtt, mbit, "big", "curl"))
        for what, who, label, goal in ROWS:
            t = runs.get((rtt, mbit, what, who))
            if t is None:
                continue
            vs = f"{ratio(ref, t)} curl's speed" if ref and what == "big" else ""
            time = seconds(all_runs[(rtt, mbit, what, who)])
            lines.append(f"| {rtt} ms / {mbit} Mbit/s | {label} | {time} | {SIZES[what] / t / rate:.2f} | {vs} | {goal} |")
    browser = [
        (l, w, *(runs.get((*l, w, who)) for who in ("ours", "resumable", "twake")))
        for l in links
        for w in SIZES
    ]
    browser = [b for b in browser if b[2] and (b[3] or b[4])]
    if browser:
        lines += [
            "",
            "| link, upload | ours, defaults | resumable.js defaults | Twake Drive's settings | ours vs resumable.js defaults | ours vs Twake's settings | goal |",
            "|---|---|---|---|---|---|---|",
        ]
        cell = lambda t: f"{t:.2f} s" if t else "not run"
        vs = lambda t, ours: ratio(t, ours) if t else ""
        for (rtt, mbit), what, ours, res, twake in browser:
            files, goal = ("256 MiB", "≥ 1.30×") if what == "big" else ("1,000 × 64 KiB", "")
            lines.append(
                f"| {rtt} ms / {mbit} Mbit/s, {files} | {ours:.2f} s | {cell(res)} | {cell(twake)} | {vs(res, ours)} | {vs(twake, ours)} | {goal} |"
            )
    tls = [
        (l, w, buf, (*l, w, "tls-h1" + buf), (*l, w, "tls-h2" + buf))
        for l in links
        for buf in ("", "-buf")
        for w in SIZES
    ]
    tls = [x for x in tls if x[3] in runs and x[4] in runs]
    if tls:
        lines += [
            "",
            "| ours over TLS through nginx | HTTP/1.1 | HTTP/2 | HTTP/2's speed vs HTTP/1.1 |",
            "|---|---|---|---|",
        ]
        for (rtt, mbit), what, buf, h1, h2 in tls:
            files = "256 MiB" if what == "big" else "1,000 × 64 KiB"
            front = "larger body buffers" if buf else "nginx's default buffers"
            lines.append(
                f"| {rtt} ms / {mbit} Mbit/s, {files}, {front} | {seconds(all_runs[h1])} | {seconds(all_runs[h2])} | {ratio(runs[h1], runs[h2])} |"
            )
    if loopback:
        lines += [
            "",
            "| 256 MiB on loopback, no emulator (the uploaders' own ceiling) | time | MB/s |",
            "|---|---|---|",
        ]
        for who, label in LOOPBACK:
            if who in loopback:
                t = loopback[who]
                lines.append(f"| {label} | {t:.2f} s | {SIZES['big'] / t / 1e6:.0f} |")
    if "ours" in cpu and "curl" in cpu:
        per = lambda s: s * 2  # 512 MiB measured: seconds per GiB
        lines += [
            "",
            "| CPU, loopback, 512 MiB (user + system, median of 5 runs, ours and curl in turn) | s per GiB | ratio to curl | goal |",
            "|---|---|---|---|",
            f"| curl, one request (reference) | {per(cpu['curl']):.2f} | 1.00 | |",
            f"| `twake-upload upload`, defaults | {per(cpu['ours']):.2f} | {cpu['ours'] / cpu['curl']:.2f} | ≤ 1.2 |",
        ]
    return "\n".join(lines) + "\n"


def splice(page, body, where):
    """`page` with `body` between the markers; `where` names the file in the error."""
    if START not in page or END not in page:
        raise FiguresError(f"{where} has lost its {START} / {END} markers: put them back around the emulated-link table")
    return re.sub(re.escape(START) + r"\n.*?" + re.escape(END), lambda m: START + "\n" + body + END, page, flags=re.S)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    figures, results = argv[1], argv[2] if len(argv) == 3 else "bench/results.md"
    load = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"
    header = (
        f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores (load average {load} at the end), "
        "release build, through the link emulator (`bash scripts/bench_link.sh`). Share = bytes ÷ time ÷ the link's nominal rate."
    )
    try:
        with open(figures) as f:
            runs, cpu, loopback = parse(f)
        body = tables(runs, cpu, loopback, header)
        print(body)
        with open(results) as f:
            page = splice(f.read(), body, results)
    except (FiguresError, OSError) as e:
        sys.exit(f"bench_link_report: {e}")
    with open(results, "w") as f:
        f.write(page)


if __name__ == "__main__":
    main(sys.argv)
