//! The cozy target against the cozy-stack double: folders mirrored and reused, what each
//! file carries (MD5, type, dates), the collision policies, and each answer a person can
//! meet (412, 413 from the quota and from a proxy, 422, a folder gone, 401 then renewal,
//! a refused renewal, the 5 GiB limit), each in its own test.

use e2e_tests::conformance::{settings, state_of, test_engine_config, wait_idle};
use e2e_tests::cozy_double::conformance::{credentials_of, session_at};
use e2e_tests::cozy_double::CozyDouble;
use e2e_tests::harness::{sha256_file, write_file};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use upload_engine::targets::cozy::folders::Folders;
use upload_engine::targets::cozy::CozyTarget;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{
    ChunkRule, Engine, EngineConfig, EnqueueRequest, FailureKind, FileState, TargetSpec, UploadId,
};

/// An engine uploading to `folder` of the double under `policy`, and the spec to use.
async fn engine_for(
    double: &CozyDouble,
    folder: &str,
    policy: CollisionPolicy,
    config: EngineConfig,
) -> (Engine, TargetSpec) {
    let credentials = credentials_of(double);
    let spec = TargetSpec::Cozy {
        account: double.addr().to_string(),
        folder: folder.into(),
        collision: policy,
    };
    let target = CozyTarget::with_session(
        session_at(double.addr(), &credentials),
        folder,
        policy,
        Duration::from_secs(2),
    );
    let engine = Engine::open(config).await.expect("engine");
    engine.register_target(spec.clone(), Arc::new(target));
    (engine, spec)
}

async fn upload(engine: &Engine, spec: &TargetSpec, path: &Path, rel: &str) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: Some(rel.to_string()),
            target: spec.clone(),
            settings: settings(64 * 1024, ChunkRule::Floor),
        })
        .await
        .expect("enqueue")
}

async fn failure(engine: &Engine, id: UploadId) -> (FailureKind, String, bool) {
    match state_of(engine, id).await {
        FileState::Failed {
            kind,
            reason,
            retryable,
        } => (kind, reason, retryable),
        other => panic!("expected a failure, got {other:?}"),
    }
}

// ----- folders and files -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_tree_is_mirrored_under_the_chosen_folder_and_its_folders_reused() {
    let double = CozyDouble::start().await;
    double.make_folder("/Uploads/Proj");
    let made_before = double.count(|c| &c.folders_created);
    let (engine, spec) = engine_for(
        &double,
        "/Uploads",
        CollisionPolicy::Version,
        test_engine_config(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // Many files in one new folder, several at once: the folder is asked for concurrently,
    // and a 409 on its creation must lead to the existing one, never to a second.
    let mut ids = Vec::new();
    for i in 0..12 {
        let rel = format!("Proj/new/f{i}.bin");
        let path = write_file(dir.path(), &rel, 1000 + i, i);
        ids.push((upload(&engine, &spec, &path, &rel).await, path, rel));
    }
    wait_idle(&engine).await;
    for (id, path, rel) in &ids {
        assert_eq!(state_of(&engine, *id).await, FileState::Done, "{rel}");
        assert_eq!(
            double.sha256_of(&format!("/Uploads/{rel}")),
            Some(sha256_file(path))
        );
    }
    let folders: Vec<String> = double
        .tree()
        .into_iter()
        .filter(|(_, d)| *d)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        folders,
        vec!["/Uploads", "/Uploads/Proj", "/Uploads/Proj/new"]
    );
    assert_eq!(
        double.count(|c| &c.folders_created) - made_before,
        1,
        "only the missing folder was made, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_carries_its_type_and_modification_time() {
    let double = CozyDouble::start().await;
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "notes.txt", 5000, 1);
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let id = upload(&engine, &spec, &path, "notes.txt").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.mime("/notes.txt").as_deref(), Some("text/plain"));
    let (_, updated) = double.dates("/notes.txt").unwrap();
    assert_eq!(updated, "2020-09-13T12:26:40Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_follow_the_next_links_page_after_page() {
    let double = CozyDouble::start().await;
    let dir_id = double.fill_folder("/Many", 75);
    let session = session_at(double.addr(), &credentials_of(&double));
    let before = double.count(|c| &c.listings);
    let children = Folders::list(&session, &dir_id).await.expect("listing");
    assert_eq!(children.len(), 75);
    assert_eq!(double.count(|c| &c.listings) - before, 3, "30 + 30 + 15");
    assert!(children.iter().all(|c| c.attributes.size == Some(1)));
}

// ----- collisions ------------------------------------------------------------------------

async fn collide(
    policy: CollisionPolicy,
) -> (CozyDouble, Engine, UploadId, std::path::PathBuf, u64) {
    let double = CozyDouble::start().await;
    double.put_file("/c/a.txt", b"the one already there");
    let (engine, spec) = engine_for(&double, "/c", policy, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap().keep();
    let path = write_file(&dir, "a.txt", 3000, 9);
    let stored = double.count(|c| &c.files_stored);
    let id = upload(&engine, &spec, &path, "a.txt").await;
    wait_idle(&engine).await;
    (double, engine, id, path, stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_puts_a_new_revision_of_the_same_file() {
    let (double, engine, id, path, _) = collide(CollisionPolicy::Version).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.versions("/c/a.txt"), Some(2));
    assert_eq!(double.sha256_of("/c/a.txt"), Some(sha256_file(&path)));
    assert_eq!(
        double.tree().len(),
        2,
        "no second file: {:?}",
        double.tree()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_both_names_the_copy_as_cozy_drive_does() {
    let (double, engine, id, path, _) = collide(CollisionPolicy::KeepBoth).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.sha256_of("/c/a_1.txt"), Some(sha256_file(&path)));
    assert_eq!(
        double.versions("/c/a.txt"),
        Some(1),
        "the first one is untouched"
    );
    // Once more: the next free name.
    let (engine2, spec) = engine_for(
        &double,
        "/c",
        CollisionPolicy::KeepBoth,
        test_engine_config(),
    )
    .await;
    let id = upload(&engine2, &spec, &path, "a.txt").await;
    wait_idle(&engine2).await;
    assert_eq!(state_of(&engine2, id).await, FileState::Done);
    assert!(
        double.sha256_of("/c/a_2.txt").is_some(),
        "{:?}",
        double.tree()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_is_decided_before_a_byte_is_sent() {
    let (double, engine, id, _, stored) = collide(CollisionPolicy::Skip).await;
    assert!(matches!(
        state_of(&engine, id).await,
        FileState::Skipped { .. }
    ));
    assert_eq!(
        double.count(|c| &c.files_stored),
        stored,
        "nothing was sent"
    );
    assert_eq!(double.versions("/c/a.txt"), Some(1));
}

// ----- answers ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_damaged_on_the_way_is_refused_412_and_sent_again() {
    let double = CozyDouble::start().await;
    double.damage_next_bodies(1);
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "d.bin", 100_000, 3);
    let id = upload(&engine, &spec, &path, "d.bin").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.count(|c| &c.md5_mismatches), 1);
    assert_eq!(double.sha256_of("/d.bin"), Some(sha256_file(&path)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_changed_meanwhile_is_refused_412_and_the_version_sent_again() {
    let double = CozyDouble::start().await;
    double.put_file("/r.txt", b"old");
    double.race_next_puts(1);
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "r.txt", 2000, 4);
    let id = upload(&engine, &spec, &path, "r.txt").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.count(|c| &c.stale_revisions), 1);
    assert_eq!(double.sha256_of("/r.txt"), Some(sha256_file(&path)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_is_a_clear_failure_without_retries() {
    let double = CozyDouble::start().await;
    double.configure(|c| c.quota = Some(10_000));
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "big.bin", 50_000, 5);
    let id = upload(&engine, &spec, &path, "big.bin").await;
    wait_idle(&engine).await;
    let (kind, reason, _) = failure(&engine, id).await;
    assert_eq!(kind, FailureKind::Quota);
    assert!(
        reason.contains("not enough space") && reason.contains("big.bin"),
        "{reason}"
    );
    assert_eq!(
        double.count(|c| &c.quota_refusals),
        1,
        "asked once, not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_body_cap_is_named_as_such() {
    let double = CozyDouble::start().await;
    double.configure(|c| c.proxy_body_limit = Some(20_000));
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "video.bin", 60_000, 6);
    let id = upload(&engine, &spec, &path, "video.bin").await;
    wait_idle(&engine).await;
    let (kind, reason, _) = failure(&engine, id).await;
    assert_eq!(kind, FailureKind::TooLarge);
    assert!(reason.contains("reverse proxy"), "{reason}");
    assert_eq!(
        double.count(|c| &c.proxy_refusals),
        1,
        "asked once, not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_instance_refuses_fails_with_its_reason() {
    let double = CozyDouble::start().await;
    // A destination typed with "..": the stack refuses such a name (422).
    let (engine, spec) = engine_for(
        &double,
        "/x/..",
        CollisionPolicy::Version,
        test_engine_config(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "n.txt", 10, 7);
    let id = upload(&engine, &spec, &path, "n.txt").await;
    wait_idle(&engine).await;
    let (kind, reason, _) = failure(&engine, id).await;
    assert_eq!(kind, FailureKind::Refused);
    assert!(
        reason.contains("422") && reason.contains("'..'"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_deleted_meanwhile_is_made_again() {
    let double = CozyDouble::start().await;
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let first = write_file(dir.path(), "Gone/a.txt", 10, 1);
    let id = upload(&engine, &spec, &first, "Gone/a.txt").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    double.remove("/Gone");
    let second = write_file(dir.path(), "Gone/b.txt", 10, 2);
    let id = upload(&engine, &spec, &second, "Gone/b.txt").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.sha256_of("/Gone/b.txt"), Some(sha256_file(&second)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_and_the_file_sent() {
    let double = CozyDouble::start().await;
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    double.expire_access_tokens();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "t.bin", 30_000, 8);
    let id = upload(&engine, &spec, &path, "t.bin").await;
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert!(double.count(|c| &c.refreshes) >= 1);
    assert!(double.count(|c| &c.unauthorized) >= 1);
    assert_eq!(double.sha256_of("/t.bin"), Some(sha256_file(&path)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_renewal_signs_out() {
    let double = CozyDouble::start().await;
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    double.expire_access_tokens();
    double.refuse_refresh(true);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "s.bin", 3000, 9);
    let id = upload(&engine, &spec, &path, "s.bin").await;
    wait_idle(&engine).await;
    let (kind, reason, _) = failure(&engine, id).await;
    assert_eq!(kind, FailureKind::SignedOut);
    assert!(reason.contains("sign in again"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_5_gib_is_refused_before_sending() {
    let double = CozyDouble::start().await;
    let (engine, spec) =
        engine_for(&double, "", CollisionPolicy::Version, test_engine_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.iso");
    // Sparse: takes no disk, and nothing of it is read but the queue's quick hash.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(5 * 1024 * 1024 * 1024 + 1)
        .unwrap();
    let id = upload(&engine, &spec, &path, "huge.iso").await;
    wait_idle(&engine).await;
    let (kind, reason, _) = failure(&engine, id).await;
    assert_eq!(kind, FailureKind::TooLarge);
    assert!(
        reason.contains("huge.iso") && reason.contains("split"),
        "{reason}"
    );
    assert_eq!(double.count(|c| &c.files_stored), 0);
}
