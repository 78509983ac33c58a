//! The report of `scripts/bench_link.sh` (`scripts/bench_link_report.py`) on a sample of
//! figures: the rows it derives (shares of the link, ours vs the browser libraries, HTTP/2 vs
//! HTTP/1.1) and how it rewrites only what lies between the markers of bench/results.md. No
//! timing is measured here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_link_report.py")
}

fn report(figures: &str, page: &str) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let (fig, md) = (
        dir.path().join("figures.txt"),
        dir.path().join("results.md"),
    );
    std::fs::write(&fig, figures).unwrap();
    std::fs::write(&md, page).unwrap();
    let out = Command::new("python3")
        .arg(script())
        .arg(&fig)
        .arg(&md)
        .output()
        .expect("python3 (Debian package python3)");
    (out, std::fs::read_to_string(&md).unwrap())
}

const PAGE: &str = "# Figures\n\nbefore\n\n<!-- bench-link:start -->\nold table\n<!-- bench-link:end -->\n\nafter\n";

/// A 60 ms / 400 Mbit/s link carries 50,000,000 bytes a second: 256 MiB take 5.37 s at
/// full rate, so 6.71 s is a share of 0.80.
const FIGURES: &str = "\
60 400 big curl 6.000
60 400 big ours 6.710
60 400 big resumable 13.420
60 400 big twake 10.060
60 400 big tls-h1 6.710
60 400 big tls-h2 13.420
60 400 big tls-h1-buf 7.000
60 400 big tls-h2-buf 7.000
60 400 big tls-h2-buf 5.000
60 400 big tls-h1-buf 6.000
60 400 big tls-h2-buf 6.000
60 400 small ours 2.000
60 400 small twake 8.000
60 400 small tls-h1 2.000
60 400 small tls-h2 1.000
200 50 big ours 45.000
200 50 big twake 45.000
cpu ours 1.000
cpu curl 0.500
loopback twake 2.684
loopback ours 1.342
";

fn row<'a>(page: &'a str, starts: &str) -> &'a str {
    page.lines()
        .find(|l| l.starts_with(starts))
        .unwrap_or_else(|| panic!("no row starting {starts:?} in:\n{page}"))
}

#[test]
fn the_report_derives_shares_and_ratios_from_the_figures() {
    let (out, page) = report(FIGURES, PAGE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = row(
        &page,
        "| 60 ms / 400 Mbit/s | 256 MiB, `twake-upload upload`",
    );
    assert!(
        ours.contains("| 6.71 s | 0.80 | 0.89× curl's speed | ≥ 0.90 |"),
        "{ours}"
    );
    let twake = row(
        &page,
        "| 60 ms / 400 Mbit/s | 256 MiB, resumable.js with Twake Drive's",
    );
    assert!(twake.contains("| 10.06 s | 0.53 |"), "{twake}");
    // Ours against the browser: 13.42 ÷ 6.71 and 10.06 ÷ 6.71; the far link has no
    // resumable.js defaults run and says so.
    let vs = row(&page, "| 60 ms / 400 Mbit/s, 256 MiB | 6.71 s |");
    assert!(
        vs.contains("| 13.42 s | 10.06 s | 2.00× | 1.50× | ≥ 1.30× |"),
        "{vs}"
    );
    let far = row(&page, "| 200 ms / 50 Mbit/s, 256 MiB | 45.00 s |");
    assert!(far.contains("| not run | 45.00 s |  | 1.00× |"), "{far}");
    // The small files: no goal of 1.3× on that row.
    let small = row(&page, "| 60 ms / 400 Mbit/s, 1,000 × 64 KiB | 2.00 s |");
    assert!(
        small.ends_with("| not run | 8.00 s |  | 4.00× |  |"),
        "{small}"
    );
    // HTTP/2 against HTTP/1.1, each size and front on its own row; repeated runs give
    // their median (of two: the mean of both) and range.
    let big = row(
        &page,
        "| 60 ms / 400 Mbit/s, 256 MiB, nginx's default buffers |",
    );
    assert!(big.contains("| 6.71 s | 13.42 s | 0.50× |"), "{big}");
    let small = row(
        &page,
        "| 60 ms / 400 Mbit/s, 1,000 × 64 KiB, nginx's default buffers |",
    );
    assert!(small.contains("| 2.00 s | 1.00 s | 2.00× |"), "{small}");
    let buffers = row(
        &page,
        "| 60 ms / 400 Mbit/s, 256 MiB, larger body buffers |",
    );
    assert!(
        buffers.contains("| 6.50 s (6.00–7.00, 2 runs) | 6.00 s (5.00–7.00, 3 runs) | 1.08× |"),
        "{buffers}"
    );
    assert!(
        !page.contains("1,000 × 64 KiB, larger body buffers"),
        "{page}"
    );
    let repeated = row(
        &page,
        "| 60 ms / 400 Mbit/s | 256 MiB, ours over TLS (nginx, larger body buffers), HTTP/2 |",
    );
    assert!(
        repeated.contains("| 6.00 s (5.00–7.00, 3 runs) | 0.89 |"),
        "{repeated}"
    );
    // CPU per GiB from the 512 MiB runs.
    assert!(row(&page, "| `twake-upload upload`, defaults | 2.00 |").ends_with("| 2.00 | ≤ 1.2 |"));
    // The loopback ceiling in MB/s (256 MiB = 268.4 MB); resumable.js defaults not run.
    assert!(row(
        &page,
        "| resumable.js with Twake Drive's web settings in Chromium |"
    )
    .ends_with("| 2.68 s | 100 |"));
    assert!(row(&page, "| `twake-upload upload`, defaults | 1.34 s").ends_with("| 200 |"));
    assert!(
        !page.contains("| resumable.js 1.1.0 defaults in Chromium |"),
        "{page}"
    );
    // Only the marked part changed, and the report printed what it wrote.
    assert!(page.starts_with("# Figures\n\nbefore\n\n<!-- bench-link:start -->\nMeasured "));
    assert!(page.ends_with("<!-- bench-link:end -->\n\nafter\n"));
    assert!(!page.contains("old table"));
    assert!(String::from_utf8_lossy(&out.stdout).contains(vs));
}

#[test]
fn rows_that_were_not_run_are_left_out() {
    let (out, page) = report("5 1000 big curl 2.0\n5 1000 big ours 2.5\n", PAGE);
    assert!(out.status.success());
    assert!(!page.contains("resumable.js"), "{page}");
    assert!(!page.contains("HTTP/2"), "{page}");
    assert!(!page.contains("CPU"), "{page}");
    assert!(row(&page, "| 5 ms / 1000 Mbit/s | 256 MiB, `twake-upload").contains("0.80× curl"));
}

#[test]
fn a_page_without_markers_or_a_bad_line_is_refused_and_left_alone() {
    let (out, page) = report(FIGURES, "# Figures\nno markers\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("results.md has lost its <!-- bench-link:start -->"),
        "{err}"
    );
    assert_eq!(page, "# Figures\nno markers\n");

    let (out, page) = report("60 400 big ours six\n", PAGE);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1 is not `RTT MBIT big|small WHO SECONDS`"),
        "{err}"
    );
    assert!(err.contains("60 400 big ours six"), "{err}");
    assert_eq!(page, PAGE);
}
