//! The `twake-upload` binary under a hostile user and a hostile server: what an adversarial
//! probe found, each as the user met it on the command line.

use e2e_tests::cli_run::{text, Cli};
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use e2e_tests::scripted_server::{Answer, ScriptedServer};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_page_in_front_of_the_server_is_not_reported_as_uploaded() {
    let server = ScriptedServer::start(|_| {
        Answer::new(200, "<!DOCTYPE html><html><body>Sign in</body></html>")
    })
    .await;
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "contract.pdf", 50_000, 1);
    let out = Cli::new()
        .cmd()
        .args(["upload", "--to", &server.url()])
        .arg(&file)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0 of 1 files uploaded"), "{all}");
    assert!(all.contains("web page"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_chunk_size_on_a_second_run_never_mixes_two_plans() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "video.bin", 20 << 20, 4);
    let cli = Cli::new();
    // A first run that stops after some 1 MiB chunks are on the server.
    let mut child = cli
        .cmd()
        .args([
            "upload",
            "--json",
            "--chunk-size",
            "1MiB",
            "--limit-rate",
            "4MiB",
        ])
        .args(["--to", &server.url()])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    for line in lines.map_while(Result::ok) {
        if line.contains(r#""type":"chunk""#) && line.contains(r#""state":"done""#) {
            acked += 1;
            if acked == 3 {
                break;
            }
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        !server.stored("video.bin").exists(),
        "interrupted before the end"
    );

    // The same file again, with another chunk size and no memory of the first run.
    let out = cli
        .cmd()
        .args(["upload", "--in-memory", "--chunk-size", "512KiB"])
        .args(["--to", &server.url()])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha256_file(&server.stored("video.bin")), sha256_file(&file));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_reports_every_file_of_twenty_thousand() {
    const FILES: usize = 20_000;
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let top = src.path().join("many");
    for i in 0..FILES {
        write_file(&top, &format!("d{}/f{i}.txt", i % 100), 10, i as u64);
    }
    let cli = Cli::new();
    let mut cmd = cli.cmd();
    cmd.args(["upload", "--json", "--files", "8", "--parallel", "16"])
        .args(["--to", &server.url()])
        .arg(&top);
    // Waited for on a blocking thread: the receiver needs both runtime threads.
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut added = HashSet::new();
    let mut done = HashSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        match v["type"].as_str() {
            Some("added") => {
                added.insert(v["upload"]["id"].as_u64().unwrap());
            }
            Some("file") if v["state"]["state"] == "done" => {
                assert!(
                    done.insert(v["id"].as_u64().unwrap()),
                    "a file's result is reported once: {line}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(added.len(), FILES, "every file announced");
    assert_eq!(done.len(), FILES, "every file's result reported");
    assert!(done.is_subset(&added));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_a_finished_upload_again_sends_nothing_and_queues_nothing() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let top = src.path().join("album");
    for i in 0..20 {
        write_file(&top, &format!("p{i}.jpg"), 30_000, i);
    }
    let cli = Cli::new();
    let upload = || {
        cli.cmd()
            .args(["upload", "--to", &server.url()])
            .arg(&top)
            .output()
            .unwrap()
    };
    let first = upload();
    assert!(first.status.success(), "{}", text(&first));
    let posts = server.receiver.stats().posts_accepted;
    let second = upload();
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("20 of 20 files uploaded"),
        "{}",
        text(&second)
    );
    assert_eq!(
        server.receiver.stats().posts_accepted,
        posts,
        "nothing is sent again"
    );
    let status = cli.cmd().args(["status", "--json"]).output().unwrap();
    let entries = String::from_utf8_lossy(&status.stdout).lines().count();
    assert_eq!(
        entries, 20,
        "one queue entry a file, however often it is run"
    );
}

#[test]
fn a_password_in_the_url_is_refused_and_never_printed() {
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "a.txt", 10, 1);
    let cli = Cli::new();
    let out = cli
        .cmd()
        .args(["upload", "--to", "http://alice:s3cret@127.0.0.1:9/upload"])
        .arg(&file)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("password"), "says why: {all}");
    assert!(!all.contains("s3cret"), "never shows it: {all}");
    let db = cli.dir.path().join("queue.sqlite3");
    if db.exists() {
        let stored = std::fs::read(&db).unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains("s3cret"));
    }
}

#[test]
fn a_zero_chunk_size_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "a.txt", 10, 1);
    let out = Cli::new()
        .cmd()
        .args([
            "upload",
            "--chunk-size",
            "0",
            "--to",
            "http://127.0.0.1:9/upload",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("too small"), "{}", text(&out));
}

#[test]
fn status_into_a_closed_pipe_ends_quietly() {
    let mut child = Cli::new()
        .cmd()
        .arg("status")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before anything is written, as `status | head -0` does.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_entries_of_a_folder_are_named_and_the_rest_goes_up() {
    use std::os::unix::ffi::OsStrExt;
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let top = src.path().join("inbox");
    write_file(&top, "good.txt", 100, 1);
    write_file(&top, "sub/also good.txt", 100, 2);
    for bytes in [&b"x\xff.txt"[..], &b"x\xfe.txt"[..]] {
        std::fs::write(top.join(std::ffi::OsStr::from_bytes(bytes)), b"1").unwrap();
    }
    std::fs::write(top.join("line\nbreak.txt"), b"2").unwrap();
    let fifo = top.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = Cli::new()
        .cmd()
        .args(["upload", "--to", &server.url()])
        .arg(&top)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "bad names are failures: {all}");
    assert!(
        all.contains("x\\xFF.txt") && all.contains("x\\xFE.txt"),
        "{all}"
    );
    assert!(
        all.contains("line\\u{a}break.txt"),
        "escaped, not raw: {all}"
    );
    assert!(all.contains("skipped") && all.contains("FIFO"), "{all}");
    assert!(all.contains("2 of 5 files uploaded"), "{all}");
    assert!(server.stored("inbox/good.txt").is_file());
    assert!(server.stored("inbox/sub/also good.txt").is_file());
    let stored: Vec<_> = std::fs::read_dir(server.stored("inbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stored.len(), 2, "nothing merged or renamed: {stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_puts_the_mtime_back_is_still_uploaded() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "notes.txt", 300_000, 5);
    let upload = || {
        Cli::new()
            .cmd()
            .args(["upload", "--in-memory", "--to", &server.url()])
            .arg(&file)
            .output()
            .unwrap()
    };
    let first = upload();
    assert!(first.status.success(), "{}", text(&first));
    // Same size, same mtime, other bytes: what `touch -r` after an edit leaves.
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 0xFF;
    std::fs::write(&file, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let second = upload();
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        sha256_file(&server.stored("notes.txt")),
        sha256_file(&file),
        "the server holds the new bytes"
    );
}
