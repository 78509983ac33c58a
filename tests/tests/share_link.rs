//! Share links of Twake Drive uploads (`Engine::share_link`): the link is the web client's
//! shared page, and a browser that never signed in gets the file's bytes through it.

use e2e_tests::conformance::{settings, state_of, test_engine_config, wait_idle};
use e2e_tests::harness::{write_file, ReceiverServer};
use e2e_tests::twake_double::visitor::open_link;
use e2e_tests::twake_double::TwakeDouble;
use e2e_tests::twake_harness::{cli, cli_login, signed_in_target, text};
use std::path::Path;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{
    ChunkRule, Dialect, Engine, EnqueueRequest, Event, FileState, TargetSpec, UploadId,
};

async fn upload(engine: &Engine, spec: &TargetSpec, path: &Path, rel: &str) -> UploadId {
    let id = engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: Some(rel.to_string()),
            target: spec.clone(),
            settings: settings(16 * 1024, ChunkRule::Floor),
        })
        .await
        .expect("enqueue");
    wait_idle(engine).await;
    assert_eq!(state_of(engine, id).await, FileState::Done);
    id
}

/// The Twake Drive double, and an engine signed in to it uploading to My Drive.
async fn twake_engine(collision: CollisionPolicy) -> (TwakeDouble, TargetSpec, Engine) {
    let double = TwakeDouble::start().await;
    let (spec, target, _) = signed_in_target(&double, &double.url(), "", collision).await;
    let engine = Engine::open(test_engine_config()).await.unwrap();
    engine.register_target(spec.clone(), target);
    (double, spec, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_opens_the_uploaded_file_for_a_signed_out_browser() {
    let (double, spec, engine) = twake_engine(CollisionPolicy::Version).await;
    let mut events = engine.subscribe();
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "q1/report.pdf", 50_000, 7);
    let id = upload(&engine, &spec, &path, "q1/report.pdf").await;
    assert!(
        engine.snapshot().await.unwrap()[0].share_links,
        "the row offers a link"
    );

    let link = engine.share_link(id).await.expect("a share link");
    assert!(
        link.starts_with(&format!("{}/shared/", double.url())) && link.contains("/drive/"),
        "the web client's shared page: {link}"
    );
    let bytes = open_link(&link).await.expect("the link opens signed out");
    assert_eq!(bytes, std::fs::read(&path).unwrap(), "the file's own bytes");
    assert_eq!(
        engine.share_link(id).await.unwrap(),
        link,
        "asked again, the same link"
    );
    let mut shared = None;
    while let Ok(event) = events.try_recv() {
        if let Event::Shared { id: of, link } = event {
            shared = Some((of, link));
        }
    }
    assert_eq!(
        shared,
        Some((id, link.clone())),
        "front ends hear of the link"
    );

    // The token is what opens it: the same page with another token opens nothing.
    let (page, _) = link.rsplit_once("/t/").unwrap();
    let forged = format!("{page}/t/0000000000000000");
    let refused = open_link(&forged)
        .await
        .expect_err("a wrong token opens nothing");
    assert!(refused.0.contains("401"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_of_a_file_the_server_renamed_opens_that_file_and_not_its_namesake() {
    let (double, spec, engine) = twake_engine(CollisionPolicy::KeepBoth).await;
    let data = tempfile::tempdir().unwrap();
    let first = write_file(data.path(), "v1/report.pdf", 3000, 1);
    let second = write_file(data.path(), "v2/report.pdf", 4000, 2);
    upload(&engine, &spec, &first, "report.pdf").await;
    let id = upload(&engine, &spec, &second, "report.pdf").await;
    let names: Vec<String> = double.tree().into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["/report-2.pdf", "/report.pdf"]);

    let link = engine.share_link(id).await.expect("a share link");
    let bytes = open_link(&link).await.expect("the link opens signed out");
    assert_eq!(bytes, std::fs::read(&second).unwrap(), "report-2.pdf, ours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_link_is_made_for_a_file_that_is_not_there_or_not_on_twake_drive() {
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let unknown = engine.share_link(UploadId(4242)).await.unwrap_err();
    assert!(unknown.to_string().contains("4242"), "{unknown}");

    let receiver = ReceiverServer::start().await;
    let spec = TargetSpec::Resumable {
        url: receiver.url(),
        dialect: Dialect::Resumable,
    };
    let data = tempfile::tempdir().unwrap();
    let path = write_file(data.path(), "a.bin", 2000, 3);
    let id = upload(&engine, &spec, &path, "a.bin").await;
    let refused = engine.share_link(id).await.unwrap_err();
    assert!(
        refused.to_string().contains("cannot make share links"),
        "{refused}"
    );
    let summary = engine.snapshot().await.unwrap();
    assert!(!summary[0].share_links, "the row offers no link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_with_link_prints_a_link_per_file_that_opens_signed_out() {
    let double = TwakeDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let login = cli_login(config.path(), &double.url(), &double, &[]);
    assert!(login.status.success(), "{}", text(&login));
    let data = tempfile::tempdir().unwrap();
    let a = write_file(data.path(), "a.txt", 1000, 1);
    let b = write_file(data.path(), "b.bin", 70_000, 2);
    let out = cli(config.path())
        .args(["upload", "--to", "twake:", "--link"])
        .args([&a, &b])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let links: Vec<(&str, &str)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("link    "))
        .filter_map(|l| l.rsplit_once(' '))
        .collect();
    assert_eq!(links.len(), 2, "one link per file: {stdout}");
    for (name, link) in links {
        let local = if name == "a.txt" { &a } else { &b };
        let bytes = open_link(link).await.expect("opens signed out");
        assert_eq!(bytes, std::fs::read(local).unwrap(), "{name}");
    }

    let c = write_file(data.path(), "c.txt", 500, 3);
    let out = cli(config.path())
        .args(["upload", "--to", "twake:", "--link", "--json"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shared: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "shared")
        .collect();
    assert_eq!(shared.len(), 1, "{}", text(&out));
    let link = shared[0]["link"].as_str().unwrap();
    assert_eq!(open_link(link).await.unwrap(), std::fs::read(&c).unwrap());

    // The history keeps each link with its file, for a later run.
    let out = cli(config.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |name: &str| {
        lines
            .iter()
            .find(|l| l["name"] == name)
            .map(|l| l["link"].clone())
    };
    assert_eq!(of("c.txt"), Some(serde_json::json!(link)), "{lines:?}");
    for name in ["a.txt", "b.bin"] {
        assert!(
            of(name).is_some_and(|l| l.as_str().is_some_and(|l| l.contains("/shared/"))),
            "{name}: {lines:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_with_link_to_a_server_without_links_is_refused_before_sending() {
    let receiver = ReceiverServer::start().await;
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let a = write_file(data.path(), "a.txt", 1000, 1);
    let out = cli(config.path())
        .args(["upload", "--link", "--to"])
        .arg(receiver.url())
        .arg(&a)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--link"), "{}", text(&out));
    assert!(
        !receiver.stored("a.txt").exists(),
        "nothing was sent for a command that could not do what it was asked"
    );
}
