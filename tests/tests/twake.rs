//! Twake Drive behaviour against the API double: folder mirroring, collision policies, the
//! hidden-until-complete top folder, token renewal during a long upload, sign-out, each
//! error a user can meet, the keyring fallback, and tokens never leaking into output.

use e2e_tests::conformance::{settings, state_of, test_engine_config, wait_idle};
use e2e_tests::fault_proxy::FaultProxy;
use e2e_tests::harness::{sha256_file, write_file};
use e2e_tests::twake_double::reader::DriveReader;
use e2e_tests::twake_double::{DoubleConfig, TwakeDouble, COMPANY_A, COMPANY_B};
use e2e_tests::twake_harness::{cli, cli_login, run_with_stdin, signed_in_target, text};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use upload_engine::accounts::{Account, AccountStore, Accounts};
use upload_engine::targets::twake::{CollisionPolicy, TwakeTarget};
use upload_engine::{
    ChunkRule, Engine, EngineConfig, EnqueueRequest, FileState, TargetSpec, UploadId,
};

async fn engine_with(
    spec: &TargetSpec,
    target: std::sync::Arc<dyn upload_engine::Target>,
) -> Engine {
    engine_config_with(test_engine_config(), spec, target).await
}

async fn engine_config_with(
    config: EngineConfig,
    spec: &TargetSpec,
    target: std::sync::Arc<dyn upload_engine::Target>,
) -> Engine {
    let engine = Engine::open(config).await.expect("engine");
    engine.register_target(spec.clone(), target);
    engine
}

async fn upload(engine: &Engine, spec: &TargetSpec, path: &Path, rel: &str, cs: u64) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: Some(rel.to_string()),
            target: spec.clone(),
            settings: settings(cs, ChunkRule::Floor),
        })
        .await
        .expect("enqueue")
}

/// A double whose access tokens live `secs` seconds.
async fn short_lived(secs: i64) -> TwakeDouble {
    TwakeDouble::start_with(DoubleConfig {
        access_lifetime: secs,
        ..DoubleConfig::default()
    })
    .await
}

/// A proxy adding `latency` in front of the double, and its base URL.
async fn proxied(double: &TwakeDouble, latency_ms: u64) -> (FaultProxy, String) {
    let proxy = FaultProxy::slow(double.addr(), Duration::from_millis(latency_ms))
        .await
        .expect("proxy");
    let base = format!("http://{}", proxy.local_addr());
    (proxy, base)
}

async fn reader(double: &TwakeDouble) -> DriveReader {
    let c = double.config();
    DriveReader::login(&double.url(), &c.email, &c.password).await
}

// ----- folders ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_unicode_folder_uploaded_twice_reuses_its_drive_folders() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let top = data.path().join("Été 2026");
    for (i, rel) in [
        "a.txt",
        "日本語/ファイル.bin",
        "deep/er/файл.dat",
        "emoji 🎉/x",
    ]
    .iter()
    .enumerate()
    {
        write_file(&top, rel, 1000 + i as u64 * 50_000, i as u64);
    }
    let login = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(login.status.success(), "{}", text(&login));
    for round in 0..2 {
        if round == 1 {
            // A finished upload is not sent twice; forgetting it makes the second run upload
            // the same folder again, as new versions into the existing folders.
            let clear = cli(config.path()).arg("clear").output().unwrap();
            assert!(clear.status.success(), "{}", text(&clear));
        }
        let out = cli(config.path())
            .args(["upload", "--to", "twake:", "--chunk-size", "32KiB"])
            .arg(&top)
            .output()
            .unwrap();
        assert!(out.status.success(), "round {round}: {}", text(&out));
    }
    let tree = double.tree();
    let folders: Vec<&String> = tree.iter().filter(|t| t.1).map(|t| &t.0).collect();
    assert_eq!(
        folders,
        [
            "/Été 2026",
            "/Été 2026/deep",
            "/Été 2026/deep/er",
            "/Été 2026/emoji 🎉",
            "/Été 2026/日本語"
        ],
        "no folder is duplicated: {tree:?}"
    );
    assert!(
        tree.iter().all(|t| !t.2),
        "nothing left in the trash: {tree:?}"
    );
    assert_eq!(tree.len(), 9, "4 files and 5 folders: {tree:?}");
    assert_eq!(double.versions("/Été 2026/deep/er/файл.dat"), Some(2));
    let r = reader(&double).await;
    for rel in [
        "a.txt",
        "日本語/ファイル.bin",
        "deep/er/файл.dat",
        "emoji 🎉/x",
    ] {
        let got = r.sha256(&format!("Été 2026/{rel}")).await;
        assert_eq!(got, Some(sha256_file(&top.join(rel))), "{rel}");
    }
    let ls = cli(config.path())
        .args(["ls", "/Été 2026"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&ls.stdout);
    assert!(
        listing.contains("deep/") && listing.contains("a.txt"),
        "{listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_top_folder_stays_in_the_trash_until_its_last_file_is_in() {
    let double = TwakeDouble::start().await;
    let (spec, target, _) =
        signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
    let data = tempfile::tempdir().unwrap();
    let a = write_file(data.path(), "top/a.bin", 5000, 1);
    let b = write_file(data.path(), "top/sub/b.bin", 7000, 2);
    target
        .announce(&["top/a.bin".into(), "top/sub/b.bin".into()])
        .await
        .expect("announce");
    let engine = engine_with(&spec, target.clone()).await;
    let first = upload(&engine, &spec, &a, "top/a.bin", 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, first).await, FileState::Done);
    assert!(
        double
            .tree()
            .iter()
            .any(|(p, dir, trash)| p == "/top" && *dir && *trash),
        "half uploaded, the folder is hidden: {:?}",
        double.tree()
    );
    assert_eq!(target.hidden_folders().await, [("top".to_string(), 1)]);
    let second = upload(&engine, &spec, &b, "top/sub/b.bin", 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, second).await, FileState::Done);
    assert!(double.tree().iter().all(|t| !t.2), "{:?}", double.tree());
    assert_eq!(double.count(|c| &c.restores), 1);
    assert!(target.hidden_folders().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_folder_left_hidden_by_a_stopped_run_appears_when_its_last_file_is_in() {
    use e2e_tests::twake_double::conformance::test_http;
    use upload_engine::targets::twake::HiddenJournal;
    let double = TwakeDouble::start().await;
    let (spec, _, session) =
        signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
    let settings_dir = tempfile::tempdir().unwrap();
    let journal = HiddenJournal::new(settings_dir.path().join("hidden-folders.json"), "me");
    let target = || {
        Arc::new(
            TwakeTarget::with_session(
                session.clone(),
                &double.user_id(),
                &double.company_id(),
                "",
                CollisionPolicy::Version,
                &test_http(),
            )
            .with_journal(journal.clone()),
        )
    };
    let data = tempfile::tempdir().unwrap();
    let a = write_file(data.path(), "top/a.bin", 5000, 1);
    let b = write_file(data.path(), "top/sub/b.bin", 7000, 2);
    // First run: both files announced, one uploaded, then the run stops (its memory is gone).
    {
        let first_run = target();
        first_run
            .announce(&["top/a.bin".into(), "top/sub/b.bin".into()])
            .await
            .expect("announce");
        let engine = engine_with(&spec, first_run.clone()).await;
        let id = upload(&engine, &spec, &a, "top/a.bin", 1024).await;
        wait_idle(&engine).await;
        assert_eq!(state_of(&engine, id).await, FileState::Done);
        engine.close().await;
    }
    let hidden = |d: &TwakeDouble| d.tree().iter().any(|(p, _, trash)| p == "/top" && *trash);
    assert!(hidden(&double), "still hidden: {:?}", double.tree());
    assert!(std::fs::read_to_string(journal.path())
        .unwrap()
        .contains("\"top\""));
    // Next run: the folder is taken up again, still hidden (it waits for one more file), and
    // the rest goes into the same folder.
    let second_run = target();
    assert_eq!(second_run.hidden_folders().await, [("top".to_string(), 1)]);
    assert!(
        hidden(&double),
        "not shown before its last file: {:?}",
        double.tree()
    );
    let engine = engine_with(&spec, second_run).await;
    let id = upload(&engine, &spec, &b, "top/sub/b.bin", 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert!(!hidden(&double), "{:?}", double.tree());
    let tops: Vec<String> = double
        .tree()
        .into_iter()
        .filter(|(p, dir, _)| *dir && p.matches('/').count() == 1)
        .map(|t| t.0)
        .collect();
    assert_eq!(tops, ["/top"], "one top folder, not a second one");
    let r = reader(&double).await;
    assert_eq!(r.sha256("top/a.bin").await, Some(sha256_file(&a)));
    assert_eq!(r.sha256("top/sub/b.bin").await, Some(sha256_file(&b)));
    assert!(journal.list(&double.company_id()).await.unwrap().is_empty());
}

/// An engine on a durable queue in `dir`, with the accounts of the store there; `hold`
/// opens it without sending anything.
async fn durable_engine_with(dir: &Path, hold: bool) -> Engine {
    use e2e_tests::twake_double::conformance::test_http;
    let store = AccountStore::at(dir.join("config")).without_keyring();
    Engine::open(EngineConfig {
        database: Some(dir.join("queue.sqlite3")),
        accounts: Some(Accounts::new(store, test_http())),
        hold,
        ..test_engine_config()
    })
    .await
    .expect("engine")
}

async fn durable_engine(dir: &Path) -> Engine {
    durable_engine_with(dir, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_queued_through_the_engine_stays_hidden_across_a_restart_until_complete() {
    use upload_engine::accounts::SignIn;
    let double = TwakeDouble::start().await;
    let c = double.config();
    let dir = tempfile::tempdir().unwrap();
    // First run queues the folder and sends nothing; its second file is paused.
    let engine = durable_engine_with(dir.path(), true).await;
    let signed = engine
        .accounts()
        .unwrap()
        .sign_in(SignIn::Password {
            server: double.url(),
            email: c.email.to_uppercase(),
            password: c.password.clone(),
            company: None,
        })
        .await
        .expect("sign in, whatever the case of the email");
    assert_eq!(signed.account.email, c.email);
    let spec = TargetSpec::Twake {
        account: signed.account.name.clone(),
        folder: String::new(),
        collision: CollisionPolicy::Version,
    };
    let data = tempfile::tempdir().unwrap();
    let a = write_file(data.path(), "album/a.bin", 5000, 1);
    let b = write_file(data.path(), "album/sub/b.bin", 7000, 2);
    let found = upload_engine::sources::collect(&[data.path().join("album")]).unwrap();
    let ids = engine
        .enqueue_all(found.files, &spec, &settings(1024, ChunkRule::Floor))
        .await
        .expect("queued as one batch");
    assert_eq!(ids.len(), 2);
    let (id_a, id_b) = {
        let all = engine.snapshot().await.unwrap();
        let of = |rel: &str| all.iter().find(|u| u.relative_path == rel).unwrap().id;
        (of("album/a.bin"), of("album/sub/b.bin"))
    };
    engine.pause(id_b).await.unwrap();
    let hidden = |d: &TwakeDouble| d.tree().iter().any(|(p, _, trash)| p == "/album" && *trash);
    assert!(
        hidden(&double),
        "made hidden before any file: {:?}",
        double.tree()
    );
    engine.close().await;
    drop(engine);
    // Second run: the first file goes up; the folder still waits for the paused one.
    let engine = durable_engine(dir.path()).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id_a).await, FileState::Done);
    assert!(
        hidden(&double),
        "one file of two: hidden {:?}",
        double.tree()
    );
    engine.close().await;
    drop(engine);

    // A new process: the folder still waits for its second file, then appears.
    let engine = durable_engine(dir.path()).await;
    assert_eq!(
        engine.waiting_folders(&spec).await,
        [("album".to_string(), 1)]
    );
    assert!(hidden(&double), "{:?}", double.tree());
    engine.resume(id_b).await.unwrap();
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id_b).await, FileState::Done);
    assert!(!hidden(&double), "complete: visible {:?}", double.tree());
    assert!(engine.waiting_folders(&spec).await.is_empty());
    let r = reader(&double).await;
    assert_eq!(r.sha256("album/a.bin").await, Some(sha256_file(&a)));
    assert_eq!(r.sha256("album/sub/b.bin").await, Some(sha256_file(&b)));
    assert_eq!(double.count(|c| &c.restores), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_again_restarts_the_uploads_the_sign_out_stopped() {
    use upload_engine::accounts::{AccountChange, SignIn};
    let double = short_lived(1).await;
    let c = double.config();
    let dir = tempfile::tempdir().unwrap();
    let engine = durable_engine(dir.path()).await;
    let accounts = engine.accounts().unwrap().clone();
    // A refused renewal is asked again for a while (a restarting server); not for long here.
    accounts.set_renewal_patience(Duration::from_millis(300));
    let mut changes = accounts.subscribe();
    let sign_in = || SignIn::Password {
        server: double.url(),
        email: c.email.clone(),
        password: c.password.clone(),
        company: None,
    };
    let account = accounts.sign_in(sign_in()).await.unwrap().account;
    assert_eq!(
        changes.recv().await.unwrap(),
        AccountChange::SignedIn {
            account: account.name.clone()
        }
    );
    let spec = TargetSpec::Twake {
        account: account.name.clone(),
        folder: String::new(),
        collision: CollisionPolicy::Version,
    };
    // The server refuses every renewal from now on: the 1-second session ends.
    double.refuse_renewals(true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "late.bin", 10 * 1024, 3);
    let id = upload(&engine, &spec, &path, "late.bin", 1024).await;
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed { kind, reason, .. } => {
            assert_eq!(kind, upload_engine::FailureKind::SignedOut, "{reason}");
            assert!(reason.contains(&c.email), "names the email: {reason}");
            assert!(
                !reason.contains("twake-upload"),
                "no command line: {reason}"
            );
        }
        other => panic!("expected signed out, got {other:?}"),
    }
    // Signing in again is all it takes: the engine restarts the upload by itself.
    double.refuse_renewals(false);
    accounts.sign_in(sign_in()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while state_of(&engine, id).await != FileState::Done {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            state_of(&engine, id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        reader(&double).await.sha256("late.bin").await,
        Some(sha256_file(&path))
    );
}

// ----- collisions ------------------------------------------------------------------------

/// Uploads `name` twice with different content under `policy`; returns the double and the
/// state the second upload ended in.
async fn upload_twice(policy: CollisionPolicy) -> (TwakeDouble, tempfile::TempDir, FileState) {
    let double = TwakeDouble::start().await;
    let (spec, target, _) = signed_in_target(&double, &double.url(), "", policy).await;
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let mut last = FileState::Queued;
    for seed in [1, 2] {
        let path = write_file(data.path(), &format!("v{seed}/report.pdf"), 3000, seed);
        let id = upload(&engine, &spec, &path, "report.pdf", 1024).await;
        wait_idle(&engine).await;
        last = state_of(&engine, id).await;
    }
    (double, data, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_policy_adds_a_version_to_the_existing_item() {
    let (double, data, second) = upload_twice(CollisionPolicy::Version).await;
    assert_eq!(second, FileState::Done);
    let names: Vec<String> = double.tree().into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["/report.pdf"]);
    assert_eq!(double.versions("/report.pdf"), Some(2));
    let got = reader(&double).await.sha256("report.pdf").await;
    assert_eq!(got, Some(sha256_file(&data.path().join("v2/report.pdf"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keep_both_policy_lets_the_server_rename_the_new_item() {
    let (double, data, second) = upload_twice(CollisionPolicy::KeepBoth).await;
    assert_eq!(second, FileState::Done);
    let names: Vec<String> = double.tree().into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["/report-2.pdf", "/report.pdf"]);
    let r = reader(&double).await;
    assert_eq!(
        r.sha256("report.pdf").await,
        Some(sha256_file(&data.path().join("v1/report.pdf")))
    );
    assert_eq!(
        r.sha256("report-2.pdf").await,
        Some(sha256_file(&data.path().join("v2/report.pdf")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skip_policy_keeps_the_existing_item_and_sends_nothing() {
    let (double, data, second) = upload_twice(CollisionPolicy::Skip).await;
    match second {
        FileState::Skipped { reason } => {
            assert!(reason.contains("'report.pdf' is already in"), "{reason}")
        }
        other => panic!("expected the second upload skipped, got {other:?}"),
    }
    // 3000 bytes in 1 KiB chunks, the short last one merged into the one before: 2.
    assert_eq!(
        double.count(|c| &c.chunk_posts),
        2,
        "only the first upload's chunks were sent"
    );
    assert_eq!(
        double.stored_files(),
        1,
        "no server file for the skipped one"
    );
    let names: Vec<String> = double.tree().into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["/report.pdf"]);
    assert_eq!(double.versions("/report.pdf"), Some(1));
    assert_eq!(
        reader(&double).await.sha256("report.pdf").await,
        Some(sha256_file(&data.path().join("v1/report.pdf")))
    );
    assert_eq!(double.orphan_files(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reports_a_skipped_file_as_skipped_in_its_summary_and_json() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let login = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(login.status.success(), "{}", text(&login));
    let mut runs = Vec::new();
    for seed in [1, 2] {
        let path = write_file(data.path(), &format!("v{seed}/notes.txt"), 5000, seed);
        let mut cmd = cli(config.path());
        cmd.args(["upload", "--json", "--to", "twake:", "--collision", "skip"]);
        let out = cmd.arg(&path).output().unwrap();
        assert!(out.status.success(), "a skip is no failure: {}", text(&out));
        runs.push(String::from_utf8_lossy(&out.stdout).to_string());
    }
    let second = &runs[1];
    assert!(second.contains(r#""state":"skipped""#), "{second}");
    assert!(!second.contains(r#""state":"done""#), "{second}");
    assert!(
        second.contains("0 of 1 files uploaded (1 skipped: already on the server), 0 B sent"),
        "{second}"
    );
    assert_eq!(double.stored_files(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decomposed_name_meets_the_composed_one_already_in_the_drive() {
    // macOS writes names decomposed (NFD); the server compares bytes, so the uploader must
    // see that "re\u{301}sume\u{301}" is the "r\u{e9}sum\u{e9}" already there.
    let double = TwakeDouble::start().await;
    let data = tempfile::tempdir().unwrap();
    let composed = "Caf\u{e9}/r\u{e9}sum\u{e9}.txt";
    let decomposed = "Cafe\u{301}/re\u{301}sume\u{301}.txt";
    for (seed, rel) in [(1, composed), (2, decomposed)] {
        // A new session each time, so the second one finds the names by listing the Drive.
        let (spec, target, _) =
            signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
        let engine = engine_with(&spec, target).await;
        let path = write_file(data.path(), &format!("v{seed}/{rel}"), 3000, seed);
        let id = upload(&engine, &spec, &path, rel, 1024).await;
        wait_idle(&engine).await;
        assert_eq!(state_of(&engine, id).await, FileState::Done);
    }
    let names: Vec<String> = double.tree().into_iter().map(|t| t.0).collect();
    assert_eq!(
        names,
        ["/Caf\u{e9}".to_string(), format!("/{composed}")],
        "one folder and one file, not look-alikes"
    );
    assert_eq!(double.versions(&format!("/{composed}")), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collision_past_the_first_1000_children_is_found_by_paging() {
    let double = TwakeDouble::start().await;
    double.fill_folder("/Big", 1200);
    let (spec, target, _) =
        signed_in_target(&double, &double.url(), "/Big", CollisionPolicy::Version).await;
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "filler-01150.txt", 2000, 9);
    let id = upload(&engine, &spec, &path, "filler-01150.txt", 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    // The filler had no version: the upload became its first.
    assert_eq!(double.versions("/Big/filler-01150.txt"), Some(1));
    assert_eq!(double.count(|c| &c.versions_added), 1);
    assert!(
        !double
            .tree()
            .iter()
            .any(|t| t.0 == "/Big/filler-01150-2.txt"),
        "not renamed: the existing item was found"
    );
    assert!(double.count(|c| &c.browse_calls) >= 1);
}

// ----- sessions --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_during_a_200_mib_upload_are_renewed_without_a_failure() {
    let double = short_lived(2).await;
    let (_proxy, base) = proxied(&double, 400).await;
    let (spec, target, session) =
        signed_in_target(&double, &base, "", CollisionPolicy::Version).await;
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "big.bin", 200 * 1024 * 1024, 42);
    let started = std::time::Instant::now();
    let id = upload(&engine, &spec, &path, "big.bin", 4 * 1024 * 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert!(!session.is_signed_out());
    let renewals = double.count(|c| &c.renewals);
    assert!(
        renewals >= 2,
        "the upload took {:?} with 2-second tokens but renewed only {renewals} times",
        started.elapsed()
    );
    let got = reader(&double).await.sha256("big.bin").await;
    assert_eq!(got, Some(sha256_file(&path)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_renewal_fails_the_file_as_signed_out_and_keeps_it_queued() {
    let double = short_lived(1).await;
    double.refuse_renewals(true);
    let (_proxy, base) = proxied(&double, 300).await;
    let (spec, target, session) =
        signed_in_target(&double, &base, "", CollisionPolicy::Version).await;
    // Refusals are asked again for this long before the session ends (60 s by default).
    session.set_renewal_patience(Duration::from_millis(800));
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "long.bin", 40 * 64 * 1024, 3);
    let id = upload(&engine, &spec, &path, "long.bin", 64 * 1024).await;
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed {
            reason, retryable, ..
        } => {
            assert!(reason.contains("signed out"), "{reason}");
            assert!(reason.contains("sign in again"), "{reason}");
            assert!(!retryable, "only a new sign-in helps");
        }
        other => panic!("expected the file to fail as signed out, got {other:?}"),
    }
    assert!(session.is_signed_out());
    assert!(
        double.count(|c| &c.refused_renewals) >= 2,
        "a refused renewal is asked again before signing out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_tells_the_user_to_sign_in_again() {
    let double = TwakeDouble::start_with(DoubleConfig {
        access_lifetime: 1,
        refresh_lifetime: 1,
        ..DoubleConfig::default()
    })
    .await;
    let config = tempfile::tempdir().unwrap();
    let login = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(login.status.success(), "{}", text(&login));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = cli(config.path()).arg("whoami").output().unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("sign in again"), "{all}");
    assert!(
        all.contains(&double.url()),
        "the message names the server: {all}"
    );
    let accounts = std::fs::read_to_string(config.path().join("accounts.json")).unwrap();
    assert!(accounts.contains("signed_out\": \""), "{accounts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_rebuilt_from_the_account_store_uploads_and_keeps_renewed_tokens() {
    let double = short_lived(1).await;
    let (_proxy, base) = proxied(&double, 150).await;
    let config = tempfile::tempdir().unwrap();
    let login = cli_login(config.path(), &base, &double, &[]);
    assert!(login.status.success(), "{}", text(&login));
    let secrets = config.path().join("secrets.json");
    let before = std::fs::read_to_string(&secrets).unwrap();
    let account = Account::name_for(&double.config().email, &base);
    let store = AccountStore::at(config.path()).without_keyring();
    let accounts = Accounts::new(store, e2e_tests::twake_double::conformance::test_http());
    let spec = TargetSpec::Twake {
        account,
        folder: "/".into(),
        collision: CollisionPolicy::Version,
    };
    // The engine builds the target itself, from the spec and the accounts it was given.
    let engine = Engine::open(EngineConfig {
        accounts: Some(accounts),
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "kept.bin", 20 * 16 * 1024, 8);
    let id = upload(&engine, &spec, &path, "kept.bin", 16 * 1024).await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert!(
        double.count(|c| &c.renewals) >= 1,
        "the 1-second session was renewed"
    );
    let after = std::fs::read_to_string(&secrets).unwrap();
    assert_ne!(before, after, "the renewed tokens were stored");
    assert_eq!(
        reader(&double).await.sha256("kept.bin").await,
        Some(sha256_file(&path))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_typed_with_capitals_signs_in_with_the_lower_cased_one() {
    // The server stores emails lower-cased but looks them up as typed.
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let mut cmd = cli(config.path());
    cmd.args(["login", "--server", &double.url()]);
    cmd.args(["--email", " Alice@Example.COM"]);
    let out = run_with_stdin(cmd, &format!("{}\n", double.config().password));
    assert!(out.status.success(), "{}", text(&out));
    let whoami = cli(config.path()).arg("whoami").output().unwrap();
    let all = text(&whoami);
    assert!(whoami.status.success(), "{all}");
    assert!(all.contains("alice@example.com on"), "{all}");
}

// ----- server restarts -------------------------------------------------------------------

/// What an engine's events said, with when they came.
#[derive(Default)]
struct Seen {
    offline: usize,
    online: usize,
    retries: usize,
    /// When each chunk was acknowledged.
    acks: Vec<std::time::Instant>,
}

/// Records the events of `engine` into the returned log until the engine closes.
fn watch_events(engine: &Engine) -> Arc<std::sync::Mutex<Seen>> {
    use upload_engine::{ChunkState, Event};
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let log = seen.clone();
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            let mut s = log.lock().unwrap();
            match event {
                Event::Connectivity { online: false, .. } => s.offline += 1,
                Event::Connectivity { online: true, .. } => s.online += 1,
                Event::Chunk {
                    state: ChunkState::Retrying { .. },
                    ..
                } => s.retries += 1,
                Event::Chunk {
                    state: ChunkState::Done,
                    ..
                } => s.acks.push(std::time::Instant::now()),
                _ => {}
            }
        }
    });
    seen
}

/// An engine whose uploads take a few seconds (a bandwidth limit), with room for every event.
async fn slow_engine(spec: &TargetSpec, target: Arc<TwakeTarget>) -> Engine {
    let config = EngineConfig {
        bandwidth_limit: 2 * 1024 * 1024,
        event_capacity: 100_000,
        ..test_engine_config()
    };
    engine_config_with(config, spec, target).await
}

/// Waits until `count` chunks were acknowledged.
async fn acked(seen: &std::sync::Mutex<Seen>, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().acks.len() < count {
        assert!(std::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One upload to the double across a restart of the server, and what it saw.
struct Restarted {
    double: TwakeDouble,
    session: Arc<upload_engine::targets::twake::Session>,
    seen: Arc<std::sync::Mutex<Seen>>,
    state: FileState,
    path: std::path::PathBuf,
    /// When the port opened again.
    back: std::time::Instant,
    _data: tempfile::TempDir,
}

/// Uploads a file and restarts the double under it (down for `down`, then starting for
/// `warm_up`), until the queue is idle.
async fn upload_across_restart(down: Duration, warm_up: Duration) -> Restarted {
    let mut double = TwakeDouble::start().await;
    let (spec, target, session) =
        signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
    let engine = slow_engine(&spec, target).await;
    let seen = watch_events(&engine);
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "restart.bin", 24 * 256 * 1024, 31);
    let id = upload(&engine, &spec, &path, "restart.bin", 256 * 1024).await;
    acked(&seen, 4).await;
    double.stop();
    tokio::time::sleep(down).await;
    double.start_again(warm_up).await;
    let back = std::time::Instant::now();
    wait_idle(&engine).await;
    let state = state_of(&engine, id).await;
    Restarted {
        double,
        session,
        seen,
        state,
        path,
        back,
        _data: data,
    }
}

impl Restarted {
    async fn assert_arrived(&self) {
        assert_eq!(self.state, FileState::Done);
        assert_eq!(
            reader(&self.double).await.sha256("restart.bin").await,
            Some(sha256_file(&self.path))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_across_a_server_restart_completes_signed_in() {
    // Starting for longer than the queue's probe interval, so requests meet the refusals.
    let run = upload_across_restart(Duration::from_millis(500), Duration::from_secs(3)).await;
    run.assert_arrived().await;
    assert!(!run.session.is_signed_out(), "a restart is not a sign-out");
    assert!(
        run.double.count(|c| &c.warming_refusals) >= 1,
        "the upload met the starting server's 401s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_for_seconds_is_one_offline_spell_and_costs_no_retries() {
    let run = upload_across_restart(Duration::from_secs(3), Duration::from_millis(250)).await;
    run.assert_arrived().await;
    assert!(!run.session.is_signed_out());
    let s = run.seen.lock().unwrap();
    assert_eq!(
        (s.offline, s.online),
        (1, 1),
        "one offline spell for one outage"
    );
    assert_eq!(s.retries, 0, "waiting for the server used no retry budget");
    let first_ack = s
        .acks
        .iter()
        .find(|t| **t >= run.back)
        .map(|t| t.duration_since(run.back));
    // A figure for the report (timing goals live in the benchmarks), not an assertion.
    println!("first chunk acknowledged {first_ack:?} after the server's port opened again");
}

// ----- errors ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_with_the_server_and_what_to_do() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let mut cmd = cli(config.path());
    cmd.args([
        "login",
        "--server",
        &double.url(),
        "--email",
        "alice@example.com",
    ]);
    let out = run_with_stdin(cmd, "wrong password\n");
    let all = text(&out);
    assert!(!out.status.success());
    assert!(all.contains("refused the email or password"), "{all}");
    assert!(all.contains(&double.url()), "{all}");
    assert!(
        !all.contains("wrong password"),
        "the password is never echoed: {all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_with_advice() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = tempfile::tempdir().unwrap();
    let mut cmd = cli(config.path());
    cmd.args(["login", "--server", &url, "--email", "a@b.c"]);
    let out = run_with_stdin(cmd, "pw\n");
    let all = text(&out);
    assert!(!out.status.success());
    assert!(
        all.contains(&format!("cannot reach the Twake Drive server {url}")),
        "{all}"
    );
    assert!(all.contains("Check the server URL"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_twake_drive_is_recognised() {
    // An HTML site, and an API server without the Twake routes (our Resumable.js receiver).
    let html = axum::Router::new().fallback(|| async {
        axum::response::Html("<!DOCTYPE html><html><body>Welcome</body></html>")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let html_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, html).await });
    let receiver = e2e_tests::harness::ReceiverServer::start().await;
    let api_url = format!("http://{}", receiver.receiver.local_addr());
    for url in [html_url, api_url] {
        let config = tempfile::tempdir().unwrap();
        let mut cmd = cli(config.path());
        cmd.args(["login", "--server", &url, "--email", "a@b.c"]);
        let out = run_with_stdin(cmd, "pw\n");
        let all = text(&out);
        assert!(!out.status.success());
        assert!(
            all.contains("does not look like a Twake Drive server"),
            "{all}"
        );
        assert!(all.contains(&url), "{all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exceeded_quota_fails_the_file_with_the_servers_message() {
    let double = TwakeDouble::start().await;
    double.set_quota(Some(10_000));
    let (spec, target, _) =
        signed_in_target(&double, &double.url(), "", CollisionPolicy::Version).await;
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "huge.bin", 50_000, 5);
    let id = upload(&engine, &spec, &path, "huge.bin", 8 * 1024).await;
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed {
            reason, retryable, ..
        } => {
            assert!(reason.contains("not enough space"), "{reason}");
            assert!(reason.contains(&double.url()), "{reason}");
            assert!(!retryable);
        }
        other => panic!("expected a quota failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_folder_fails_the_upload_before_any_byte_is_sent() {
    let double = TwakeDouble::start().await;
    let shared = double.fill_folder("/Shared", 0);
    double.set_access(&shared, "read");
    let (spec, target, _) =
        signed_in_target(&double, &double.url(), "/Shared", CollisionPolicy::Version).await;
    let engine = engine_with(&spec, target).await;
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "a.bin", 5000, 5);
    let id = upload(&engine, &spec, &path, "a.bin", 1024).await;
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed { reason, .. } => {
            assert!(reason.contains("no write access"), "{reason}");
            assert!(reason.contains("/Shared"), "{reason}");
        }
        other => panic!("expected a permission failure, got {other:?}"),
    }
    assert_eq!(double.count(|c| &c.chunk_posts), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_deletes_the_file_on_the_server() {
    let double = TwakeDouble::start().await;
    let (_proxy, base) = proxied(&double, 30).await;
    let (spec, target, _) = signed_in_target(&double, &base, "", CollisionPolicy::Version).await;
    let engine = engine_with(&spec, target).await;
    let mut events = engine.subscribe();
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "c.bin", 64 * 16 * 1024, 5);
    let id = upload(&engine, &spec, &path, "c.bin", 16 * 1024).await;
    loop {
        if let Ok(upload_engine::Event::Chunk { acked_bytes, .. }) = events.recv().await {
            if acked_bytes > 0 {
                break;
            }
        }
    }
    engine.cancel(id).await.unwrap();
    wait_idle(&engine).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while double.stored_files() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(double.stored_files(), 0, "the server file was deleted");
    assert_eq!(double.count(|c| &c.file_deletes), 1);
}

// ----- CLI accounts ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_lists_several_companies_and_company_picks_one() {
    let double = TwakeDouble::start_with(DoubleConfig {
        two_companies: true,
        ..DoubleConfig::default()
    })
    .await;
    let config = tempfile::tempdir().unwrap();
    let out = cli_login(config.path(), &double.url(), &double, &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("Acme ({COMPANY_A})"))
            && all.contains(&format!("Beta Corp ({COMPANY_B})")),
        "{all}"
    );
    let out = cli_login(
        config.path(),
        &double.url(),
        &double,
        &["--company", COMPANY_B],
    );
    assert!(out.status.success(), "{}", text(&out));
    let whoami = cli(config.path()).arg("whoami").output().unwrap();
    assert!(
        text(&whoami).contains(&format!("company: Beta Corp ({COMPANY_B})")),
        "{}",
        text(&whoami)
    );
    let logout = cli(config.path()).arg("logout").output().unwrap();
    assert!(logout.status.success(), "{}", text(&logout));
    let after = cli(config.path()).arg("whoami").output().unwrap();
    assert!(!after.status.success());
    assert!(text(&after).contains("not signed in"), "{}", text(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_tokens_go_to_a_private_file_with_a_one_time_warning() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let first = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(first.status.success(), "{}", text(&first));
    let warning = "no OS keyring is reachable";
    assert!(text(&first).contains(warning), "{}", text(&first));
    let secrets = config.path().join("secrets.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "secrets.json is readable only by the user");
    }
    let second = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        !text(&second).contains(warning),
        "warned once: {}",
        text(&second)
    );
    let accounts = std::fs::read_to_string(config.path().join("accounts.json")).unwrap();
    for token in double.issued_tokens() {
        assert!(!accounts.contains(&token), "accounts.json holds no token");
    }
    let stored = std::fs::read_to_string(&secrets).unwrap();
    assert!(double.issued_tokens().iter().any(|t| stored.contains(t)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_appear_in_the_output_of_a_full_debug_run() {
    let double = short_lived(1).await;
    let (_proxy, server) = proxied(&double, 60).await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for i in 0..8 {
        write_file(data.path(), &format!("set/f{i}.bin"), 300 * 1024, i);
    }
    let mut outputs = Vec::new();
    let mut login_cmd = cli(config.path());
    login_cmd.env("TWAKE_LOG", "debug").args([
        "login",
        "--server",
        &server,
        "--email",
        &double.config().email,
    ]);
    let login = run_with_stdin(login_cmd, &format!("{}\n", double.config().password));
    assert!(login.status.success(), "{}", text(&login));
    outputs.push(text(&login));
    let up = cli(config.path())
        .env("TWAKE_LOG", "debug")
        .args([
            "upload",
            "--json",
            "--to",
            "twake:/",
            "--chunk-size",
            "64KiB",
        ])
        .arg(data.path().join("set"))
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", text(&up));
    outputs.push(text(&up));
    for args in [&["whoami"][..], &["ls", "/set"][..]] {
        let out = cli(config.path())
            .env("TWAKE_LOG", "debug")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        outputs.push(text(&out));
    }
    let all = outputs.join("\n");
    assert!(
        all.contains("\"type\":\"file\""),
        "JSON events were printed"
    );
    assert!(
        double.count(|c| &c.renewals) >= 1,
        "the run renewed its session"
    );
    let tokens = double.issued_tokens();
    assert!(
        tokens.len() >= 4,
        "access and refresh tokens of login and renewals"
    );
    for token in &tokens {
        assert!(
            !all.contains(token.as_str()),
            "a token leaked into the output"
        );
        let tail = &token[token.len() - 16..];
        assert!(
            !all.contains(tail),
            "part of a token leaked into the output"
        );
    }
}

/// Seen on the real server: the file resource is saved before chunk 1's body is read, so a
/// run killed while chunk 1 travels used to leave an orphan, and resuming made another. The
/// file is now created empty first and its id committed before any byte goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_chunk_1_resumes_into_the_same_server_file_and_leaves_no_orphan() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let file = write_file(data.path(), "first.bin", 2 * 1024 * 1024, 78);
    let login = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(login.status.success(), "{}", text(&login));

    // One chunk of 1 MiB at 256 KiB/s: about four seconds on its way.
    let mut child = cli(config.path())
        .args(["upload", "--to", "twake:/", "--chunk-size", "1MiB"])
        .args(["--parallel", "1", "--limit-rate", "256KiB"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while double.stored_files() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no server file created"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Chunk 1 is now on its way (the limit keeps it there for seconds).
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(double.count(|c| &c.chunk_posts), 0, "killed during chunk 1");
    assert_eq!(double.count(|c| &c.empty_creates), 1);
    assert_eq!(double.stored_files(), 1);

    let resumed = cli(config.path()).arg("resume").output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert_eq!(
        double.stored_files(),
        1,
        "the resumed upload reused the server file the killed run created"
    );
    assert_eq!(double.orphan_files(), 0);
    assert_eq!(double.count(|c| &c.empty_creates), 1);
    let reader = reader(&double).await;
    assert_eq!(
        reader.sha256("first.bin").await.as_deref(),
        Some(sha256_file(&file).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_resume_keeps_the_same_server_file_and_sends_only_missing_chunks() {
    let double = TwakeDouble::start().await;
    let (_proxy, server) = proxied(&double, 20).await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let file = write_file(data.path(), "long.bin", 64 * 256 * 1024, 77);
    let mut login_cmd = cli(config.path());
    login_cmd.args([
        "login",
        "--server",
        &server,
        "--email",
        &double.config().email,
    ]);
    let login = run_with_stdin(login_cmd, &format!("{}\n", double.config().password));
    assert!(login.status.success(), "{}", text(&login));

    let mut child = cli(config.path())
        .args([
            "upload",
            "--json",
            "--to",
            "twake:/",
            "--chunk-size",
            "256KiB",
            // 3 in flight at the kill, so at most 3 are sent twice (the bound below).
            "--parallel",
            "3",
            // About 4 s for the whole file, so a loaded machine reading the progress late
            // still kills it in the middle.
            "--limit-rate",
            "4MiB",
        ])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut done = 0;
    let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    for line in lines {
        let line = line.unwrap();
        if line.contains(r#""type":"chunk""#) && line.contains(r#""state":"done""#) {
            done += 1;
            if done == 10 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let posts_at_kill = double.count(|c| &c.chunk_posts);
    assert!(posts_at_kill < 64, "killed in the middle");
    assert_eq!(double.stored_files(), 1, "chunk 1 created one server file");

    let resumed = cli(config.path()).arg("resume").output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    // The summary counts what this run sent: the 54 chunks not acknowledged before the kill
    // (and the few whose acknowledgement the kill lost, as below), never the whole 16 MiB.
    let all = text(&resumed);
    let sent = all
        .split("1 of 1 files uploaded, ")
        .nth(1)
        .and_then(|rest| rest.split(" MiB sent").next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no summary in MiB: {all}"));
    assert!(sent > 0.0 && sent <= (64.0 - 10.0 + 3.0) / 4.0, "{all}");
    assert_eq!(
        double.stored_files(),
        1,
        "the resumed upload kept its server file id"
    );
    assert_eq!(double.orphan_files(), 0);
    let sent_again = double.count(|c| &c.chunk_posts) - posts_at_kill;
    assert!(
        sent_again <= 64 - 10 + 3,
        "resume sent {sent_again} chunks; 10 of 64 were acknowledged before the kill"
    );
    let reader = reader(&double).await;
    assert_eq!(
        reader.sha256("long.bin").await.as_deref(),
        Some(sha256_file(&file).as_str())
    );
}
