//! Folder sync end to end: real temp folders, the real file-system watcher, the engine with a
//! durable queue, and loopback targets (our receiver; the Twake Drive double for renames).

use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use e2e_tests::twake_double::TwakeDouble;
use e2e_tests::twake_harness::signed_in_target;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{
    Dialect, Engine, EngineConfig, FileState, FolderState, FolderSummary, FolderSync, Limits,
    TargetSpec, UploadSummary, WatchConfig,
};

/// A watched folder "w" in a temp dir, and the queue database beside it.
struct Place {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
}

fn place() -> Place {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    let db = tmp.path().join("queue.sqlite3");
    Place { _tmp: tmp, dir, db }
}

async fn engine(db: &Path) -> Engine {
    Engine::open(EngineConfig {
        database: Some(db.to_path_buf()),
        limits: Limits {
            parallel_chunks: 8,
            parallel_files: 8,
        },
        ..EngineConfig::default()
    })
    .await
    .unwrap()
}

fn config(settle_ms: u64) -> WatchConfig {
    WatchConfig {
        settle: Duration::from_millis(settle_ms),
        tick: Duration::from_millis(100),
        debounce: Duration::from_millis(100),
        ..WatchConfig::default()
    }
}

fn resumable(server: &ReceiverServer) -> TargetSpec {
    TargetSpec::Resumable {
        url: server.url(),
        dialect: Dialect::Resumable,
    }
}

async fn summary(sync: &FolderSync) -> FolderSummary {
    sync.list().await.unwrap().remove(0)
}

/// Waits until the folder is up to date with nothing pending and `check` holds.
async fn until(sync: &FolderSync, what: &str, check: impl Fn(&FolderSummary) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = summary(sync).await;
        if s.state == FolderState::UpToDate && check(&s) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn uploads(engine: &Engine) -> Vec<UploadSummary> {
    engine.snapshot().await.unwrap()
}

fn rels(all: &[UploadSummary]) -> Vec<String> {
    let mut r: Vec<String> = all.iter().map(|u| u.relative_path.clone()).collect();
    r.sort();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_count_says_what_is_in_the_folder_now_after_a_delete() {
    let server = ReceiverServer::start().await;
    let p = place();
    for i in 0..3 {
        write_file(&p.dir, &format!("f{i}.txt"), 1000, i);
    }
    let engine = engine(&p.db).await;
    let sync = FolderSync::new(&engine, config(300)).unwrap();
    sync.add(&p.dir, resumable(&server)).await.unwrap();
    until(&sync, "the first sync", |s| s.uploaded == 3 && s.files == 3).await;
    std::fs::remove_file(p.dir.join("f1.txt")).unwrap();
    // Well before the rename window (30 s and more) lets the entry go from the index.
    let started = Instant::now();
    until(&sync, "the count after the delete", |s| s.files == 2).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        server.stored("w/f1.txt").exists(),
        "the server keeps its copy"
    );
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_slowly_over_5_s_is_uploaded_once_and_complete() {
    let server = ReceiverServer::start().await;
    let p = place();
    let engine = engine(&p.db).await;
    let sync = FolderSync::new(&engine, WatchConfig::default()).unwrap();
    sync.add(&p.dir, resumable(&server)).await.unwrap();
    until(&sync, "the first scan", |_| true).await;

    // 11 appends of 100 KiB, half a second apart: never quiet for the 3 s settle time.
    let path = p.dir.join("slow.bin");
    let piece = std::fs::read(write_file(&p.dir, "../piece", 100 * 1024, 7)).unwrap();
    for _ in 0..=10 {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&piece).unwrap();
        drop(f);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            uploads(&engine).await.is_empty(),
            "a file still being written was queued"
        );
    }
    until(&sync, "the upload", |s| s.uploaded == 1).await;
    let all = uploads(&engine).await;
    assert_eq!(rels(&all), ["w/slow.bin"]);
    assert_eq!(all[0].state, FileState::Done);
    assert_eq!(all[0].size, 11 * 100 * 1024);
    assert_eq!(
        sha256_file(&server.stored("w/slow.bin")),
        sha256_file(&path)
    );
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_file_renamed_to_its_final_name_is_uploaded_once_under_that_name() {
    let server = ReceiverServer::start().await;
    let p = place();
    let engine = engine(&p.db).await;
    let sync = FolderSync::new(&engine, config(500)).unwrap();
    sync.add(&p.dir, resumable(&server)).await.unwrap();
    until(&sync, "the first scan", |_| true).await;
    write_file(&p.dir, "x.part", 300_000, 1);
    // Long enough for a `.part` file to have settled, were it not ignored.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(uploads(&engine).await.is_empty());
    std::fs::rename(p.dir.join("x.part"), p.dir.join("x")).unwrap();
    until(&sync, "x", |s| s.uploaded == 1).await;
    assert_eq!(rels(&uploads(&engine).await), ["w/x"]);
    assert_eq!(
        sha256_file(&server.stored("w/x")),
        sha256_file(&p.dir.join("x"))
    );
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_patterns_apply_and_nested_unicode_folders_are_mirrored() {
    let server = ReceiverServer::start().await;
    let p = place();
    std::fs::write(p.dir.join(".twakeignore"), "*.log\nbuild/\n").unwrap();
    let kept = ["a.txt", "été/ü/naïve 文件.txt", "deep/er/f.bin"];
    let ignored = [
        "x.tmp",
        "~$doc.docx",
        ".~lock.notes.odt#",
        ".DS_Store",
        "sub/Thumbs.db",
        "dl.crdownload",
        ".git/HEAD",
        "skip.log",
        "build/o.bin",
    ];
    for (i, rel) in kept.iter().chain(ignored.iter()).enumerate() {
        write_file(&p.dir, rel, 1000 + i as u64, i as u64);
    }
    let engine = engine(&p.db).await;
    let mut cfg = config(300);
    cfg.ignore = vec!["*.bak".into()];
    write_file(&p.dir, "old.bak", 10, 99);
    let sync = FolderSync::new(&engine, cfg).unwrap();
    sync.add(&p.dir, resumable(&server)).await.unwrap();
    until(&sync, "the kept files", |s| s.uploaded == 3).await;
    let mut want: Vec<String> = kept.iter().map(|r| format!("w/{r}")).collect();
    want.sort();
    assert_eq!(rels(&uploads(&engine).await), want);
    for rel in kept {
        assert_eq!(
            sha256_file(&server.stored(&format!("w/{rel}"))),
            sha256_file(&p.dir.join(rel)),
            "{rel}"
        );
    }
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_uploads_nothing_unchanged_and_exactly_what_changed_while_stopped() {
    let server = ReceiverServer::start().await;
    let p = place();
    for (i, rel) in ["a.txt", "b.txt", "c.txt", "sub/d.txt"].iter().enumerate() {
        write_file(&p.dir, rel, 5000, i as u64);
    }
    {
        let engine = engine(&p.db).await;
        let sync = FolderSync::new(&engine, config(300)).unwrap();
        sync.add(&p.dir, resumable(&server)).await.unwrap();
        until(&sync, "the first sync", |s| s.uploaded == 4).await;
        sync.stop().await;
        engine.close().await;
    }
    {
        let engine = engine(&p.db).await;
        let sync = FolderSync::new(&engine, config(300)).unwrap();
        assert_eq!(sync.start_saved().await.unwrap(), 1);
        until(&sync, "the scan after restart", |s| s.files == 4).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        until(&sync, "nothing", |_| true).await;
        assert_eq!(summary(&sync).await.uploaded, 0);
        assert!(
            uploads(&engine).await.is_empty(),
            "nothing changed, nothing sent"
        );
        sync.stop().await;
        engine.close().await;
    }
    // While nothing watches: one file changed, one added, one deleted, one renamed.
    write_file(&p.dir, "b.txt", 6000, 42);
    write_file(&p.dir, "new/e.txt", 100, 43);
    std::fs::remove_file(p.dir.join("c.txt")).unwrap();
    {
        let engine = engine(&p.db).await;
        let sync = FolderSync::new(&engine, config(300)).unwrap();
        sync.start_saved().await.unwrap();
        until(&sync, "the changes", |s| s.uploaded == 2).await;
        assert_eq!(rels(&uploads(&engine).await), ["w/b.txt", "w/new/e.txt"]);
        assert_eq!(
            sha256_file(&server.stored("w/b.txt")),
            sha256_file(&p.dir.join("b.txt"))
        );
        assert!(
            server.stored("w/c.txt").exists(),
            "a local deletion never deletes on the server"
        );
        sync.stop().await;
        engine.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_and_moves_on_twake_drive_move_the_item_without_uploading_again() {
    let double = TwakeDouble::start().await;
    let (spec, target, _session) =
        signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
    let p = place();
    write_file(&p.dir, "a.txt", 3000, 1);
    write_file(&p.dir, "sub/b.txt", 3000, 2);
    write_file(&p.dir, "copy-source.txt", 3000, 3);
    let engine = engine(&p.db).await;
    engine.register_target(spec.clone(), target);
    let sync = FolderSync::new(&engine, config(300)).unwrap();
    sync.add(&p.dir, spec).await.unwrap();
    until(&sync, "the first sync", |s| s.uploaded == 3).await;
    let posts = double.count(|c| &c.chunk_posts);

    std::fs::rename(p.dir.join("a.txt"), p.dir.join("a-renamed.txt")).unwrap();
    std::fs::create_dir_all(p.dir.join("other/deeper")).unwrap();
    std::fs::rename(p.dir.join("sub/b.txt"), p.dir.join("other/deeper/b.txt")).unwrap();
    std::fs::copy(p.dir.join("copy-source.txt"), p.dir.join("copy.txt")).unwrap();
    until(&sync, "the moves", |s| s.moved == 2 && s.files == 4).await;
    assert_eq!(
        double.count(|c| &c.chunk_posts),
        posts,
        "nothing was sent again"
    );
    assert_eq!(double.counters().items_updated.load(Ordering::Relaxed), 2);
    let files: Vec<String> = double
        .tree()
        .into_iter()
        .filter(|(_, dir, trash)| !dir && !trash)
        .map(|(p, _, _)| p)
        .collect();
    assert_eq!(
        files,
        [
            "/w/a-renamed.txt",
            "/w/copy-source.txt",
            "/w/other/deeper/b.txt"
        ]
    );
    // The queue shows the files under their names now, not the ones they were uploaded with.
    let queued = uploads(&engine).await;
    assert_eq!(
        rels(&queued),
        [
            "w/a-renamed.txt",
            "w/copy-source.txt",
            "w/other/deeper/b.txt"
        ]
    );
    assert!(queued
        .iter()
        .any(|u| u.path.ends_with("/other/deeper/b.txt")));

    // A modified file becomes a new version of its item.
    write_file(&p.dir, "a-renamed.txt", 4000, 9);
    until(&sync, "the new version", |s| s.uploaded == 4).await;
    assert_eq!(double.versions("/w/a-renamed.txt"), Some(2));
    sync.stop().await;
    engine.close().await;
}

/// A folder watched into a cozy-stack account is synced like any other: the tree mirrored
/// under the chosen folder, a file written later uploaded, a changed file a new version of its
/// server file (never a second file), a deleted one left on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_watched_into_twake_drive_on_cozy_stack_syncs_like_any_other() {
    use e2e_tests::cozy_double::conformance::{credentials_of, session_at};
    use e2e_tests::cozy_double::CozyDouble;
    use upload_engine::targets::cozy::CozyTarget;
    let double = CozyDouble::start().await;
    let session = session_at(double.addr(), &credentials_of(&double));
    let spec = TargetSpec::Cozy {
        account: double.addr().to_string(),
        folder: "/Sync".into(),
        collision: CollisionPolicy::Version,
    };
    let target = CozyTarget::with_session(
        session,
        "/Sync",
        CollisionPolicy::Version,
        Duration::from_secs(10),
    );
    let p = place();
    write_file(&p.dir, "a.txt", 3000, 1);
    write_file(&p.dir, "été/b.bin", 70_000, 2);
    let engine = engine(&p.db).await;
    engine.register_target(spec.clone(), std::sync::Arc::new(target));
    let sync = FolderSync::new(&engine, config(300)).unwrap();
    sync.add(&p.dir, spec).await.unwrap();
    until(&sync, "the first sync", |s| s.uploaded == 2).await;
    write_file(&p.dir, "later/c.txt", 500, 3);
    until(&sync, "the new file", |s| s.uploaded == 3).await;
    write_file(&p.dir, "a.txt", 4000, 9);
    until(&sync, "the new version", |s| s.uploaded == 4).await;
    std::fs::remove_file(p.dir.join("later/c.txt")).unwrap();
    until(&sync, "the delete counted", |s| s.files == 2).await;

    let files: Vec<String> = double
        .tree()
        .into_iter()
        .filter(|(_, dir)| !dir)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        files,
        ["/Sync/w/a.txt", "/Sync/w/later/c.txt", "/Sync/w/été/b.bin"]
    );
    assert_eq!(double.versions("/Sync/w/a.txt"), Some(2));
    for rel in ["a.txt", "été/b.bin"] {
        assert_eq!(
            double.sha256_of(&format!("/Sync/w/{rel}")),
            Some(sha256_file(&p.dir.join(rel))),
            "{rel}"
        );
    }
    sync.stop().await;
    engine.close().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_files_copied_in_at_once_are_each_uploaded_exactly_once() {
    let n_files: usize = std::env::var("WATCH_TEST_FILES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    #[allow(non_snake_case)]
    let N = n_files;
    let server = ReceiverServer::start().await;
    let p = place();
    let engine = engine(&p.db).await;
    let sync = FolderSync::new(&engine, config(500)).unwrap();
    sync.add(&p.dir, resumable(&server)).await.unwrap();
    until(&sync, "the first scan", |_| true).await;
    let started = Instant::now();
    let before = rss_kib();
    // Written elsewhere, then moved in as one folder, and a flat batch written in place.
    let staging = p.dir.parent().unwrap().join("staging");
    for i in 0..N / 2 {
        std::fs::create_dir_all(staging.join(format!("d{}", i % 50))).unwrap();
        std::fs::write(
            staging.join(format!("d{}/f{i}.txt", i % 50)),
            format!("file {i}\n"),
        )
        .unwrap();
    }
    std::fs::rename(&staging, p.dir.join("copied")).unwrap();
    for i in N / 2..N {
        std::fs::write(p.dir.join(format!("f{i}.txt")), format!("file {i}\n")).unwrap();
    }
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        peak = peak.max(rss_kib());
        let s = summary(&sync).await;
        if s.state == FolderState::UpToDate && s.uploaded as usize == N {
            break;
        }
        if Instant::now() >= deadline {
            let queued: std::collections::HashSet<String> = uploads(&engine)
                .await
                .into_iter()
                .map(|u| u.relative_path)
                .collect();
            let missing: Vec<String> = (0..N)
                .map(|i| match i < N / 2 {
                    true => format!("w/copied/d{}/f{i}.txt", i % 50),
                    false => format!("w/f{i}.txt"),
                })
                .filter(|p| !queued.contains(p))
                .take(10)
                .collect();
            panic!("timed out: {s:?}; never queued: {missing:?}");
        }
        if std::env::var("WATCH_TEST_TRACE").is_ok() {
            eprintln!("{:?} {s:?}", started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all = uploads(&engine).await;
    assert_eq!(all.len(), N, "each file queued exactly once");
    assert!(all.iter().all(|u| u.state == FileState::Done));
    let mut names: Vec<&str> = all.iter().map(|u| u.relative_path.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N);
    assert_eq!(
        std::fs::read_to_string(server.stored("w/copied/d7/f7.txt")).unwrap(),
        "file 7\n"
    );
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "10,000 files: {:.1} s, RSS {} MiB before, peak {} MiB (+{grown_mib} MiB)",
        started.elapsed().as_secs_f64(),
        before / 1024,
        peak / 1024
    );
    assert!(grown_mib < 200, "memory grew by {grown_mib} MiB");
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_watches_until_ctrl_c_then_lists_and_removes_the_folder() {
    use e2e_tests::harness::cli_binary;
    use std::process::{Command, Stdio};
    let server = ReceiverServer::start().await;
    let p = place();
    write_file(&p.dir, "sub/one.bin", 200_000, 5);
    let db = p.db.to_string_lossy().into_owned();
    let child = Command::new(cli_binary())
        .args(["watch", &p.dir.to_string_lossy(), "--to", &server.url()])
        .args(["--db", &db, "--settle", "0.3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stored = server.stored("w/sub/one.bin");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stored.exists() {
        assert!(Instant::now() < deadline, "the file never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sha256_file(&stored),
        sha256_file(&p.dir.join("sub/one.bin"))
    );
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("stopped watching"), "{err}");

    let list = |db: &str| {
        let out = Command::new(cli_binary())
            .args(["watch", "--list", "--db", db])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = list(&db);
    assert!(listed.contains(&*p.dir.to_string_lossy()), "{listed}");
    assert!(listed.contains("last sync"), "{listed}");
    let removed = Command::new(cli_binary())
        .args(["watch", "--remove", &p.dir.to_string_lossy(), "--db", &db])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(list(&db).trim(), "no watched folders");
}
