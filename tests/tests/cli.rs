//! The `twake-upload` binary as a user runs it: its first line, exit statuses, JSON events,
//! Ctrl-C, and a run through a proxy that resets, stalls and refuses requests.

use e2e_tests::cli_run::Cli;
use e2e_tests::fault_proxy::{FaultConfig, FaultProxy};
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn serve_prints_its_url_first_and_receives_an_upload() {
    let store = tempfile::tempdir().unwrap();
    let mut server = Cli::new()
        .cmd()
        .args(["serve", "--dir"])
        .arg(store.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/upload"),
        "{url}"
    );
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "hello.bin", 3 << 20, 5);
    let out = Cli::new()
        .cmd()
        .args(["upload", "--to", &url])
        .arg(&file)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256_file(&store.path().join("hello.bin")),
        sha256_file(&file)
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let out = Cli::new()
        .cmd()
        .args(["upload", "x", "--to"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Cli::new()
        .cmd()
        .args(["upload", "x", "--to", "ftp://h/u"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only http"));
    let out = Cli::new()
        .cmd()
        .args(["upload", "x", "--to", "http://h/u", "--chunk-size", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a size"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_path_fails_with_1_and_the_other_files_still_go_up() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let good = write_file(src.path(), "good.bin", 1000, 1);
    let missing = src.path().join("missing.bin");
    let out = Cli::new()
        .cmd()
        .args(["upload", "--to", &server.url()])
        .arg(&good)
        .arg(&missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");
    assert!(stderr.contains("1 of 2 files uploaded"), "{stderr}");
    assert_eq!(sha256_file(&server.stored("good.bin")), sha256_file(&good));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_mode_prints_one_event_object_per_line() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().join("tree");
    write_file(&dir, "a.bin", 5000, 1);
    write_file(&dir, "sub/b.bin", 2_500_000, 2);
    let out = Cli::new()
        .cmd()
        .args([
            "upload",
            "--json",
            "--chunk-size",
            "1MiB",
            "--to",
            &server.url(),
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let done = events
        .iter()
        .filter(|e| e["type"] == "file" && e["state"]["state"] == "done")
        .count();
    assert_eq!(done, 2);
    let added: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "added")
        .map(|e| e["upload"]["relative_path"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["tree/a.bin", "tree/sub/b.bin"]);
    assert!(events
        .iter()
        .any(|e| e["type"] == "chunk" && e["state"]["state"] == "done"));
    assert!(server.stored("tree/sub/b.bin").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_says_how_to_resume_and_resume_sends_only_the_rest() {
    let cli = Cli::new();
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::slow(server.receiver.local_addr(), Duration::from_millis(20))
        .await
        .unwrap();
    let url = proxy.url_for(&server.url());
    let src = tempfile::tempdir().unwrap();
    let cs: u64 = 256 * 1024;
    let file = write_file(src.path(), "long.bin", 100 * cs, 8);
    let mut child = cli
        .cmd()
        .args(["upload", "--json", "--chunk-size", "256KiB", "--to", &url])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for a few acknowledged chunks, then interrupt like Ctrl-C does.
    let mut acked = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains(r#""type":"chunk""#) && line.contains(r#""state":"done""#) {
            acked += 1;
            if acked == 5 {
                break;
            }
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let notes = rest.join("\n");
    assert!(notes.contains("twake-upload resume"), "{notes}");
    assert!(!server.stored("long.bin").exists());
    let posts_before = server.receiver.stats().posts_accepted;
    assert!(posts_before < 100, "interrupted before the end");

    // The queue remembers the upload (through the proxy's URL); the proxy is still there.
    let out = cli.cmd().arg("resume").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256_file(&server.stored("long.bin")), sha256_file(&file));
    let sent_again = server.receiver.stats().posts_accepted - posts_before;
    // Only the chunks the server did not have (plus any in flight at the interrupt).
    assert!(
        sent_again <= 100 - posts_before + 3,
        "rerun sent {sent_again} chunks, server had {posts_before} of 100"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_arrives_identical_through_resets_stalls_503s_and_429s() {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::start(
        server.receiver.local_addr(),
        FaultConfig {
            reset_before: 0.05,
            reset_after: 0.05,
            stall: 0.03,
            status_503: 0.08,
            status_429: 0.04,
            retry_after_secs: 1,
            seed: 2026,
            ..FaultConfig::default()
        },
    )
    .await
    .unwrap();
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().join("batch");
    let mut files = Vec::new();
    for i in 0..6u64 {
        files.push(write_file(
            &dir,
            &format!("f{i}.bin"),
            300_000 + i * 777_777,
            i,
        ));
    }
    let out = Cli::new()
        .cmd()
        .args([
            "upload",
            "--chunk-size",
            "256KiB",
            "--stall-timeout",
            "1",
            "--retries",
            "30",
            "--to",
            &proxy.url_for(&server.url()),
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, f) in files.iter().enumerate() {
        let stored = server.stored(&format!("batch/f{i}.bin"));
        assert_eq!(sha256_file(&stored), sha256_file(f), "{}", stored.display());
    }
    let faults = proxy.stats();
    assert!(
        faults.faults_injected() >= 5,
        "faults were injected: {faults:?}"
    );
}
