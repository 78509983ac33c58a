//! Servers that lie or misbehave on purpose (what an adversarial probe found): a sign-in front
//! answering every request with its login page, redirects to another host, endless bodies, a
//! server that takes connections and never answers. None of them may make a file "done" with
//! bytes missing, take unbounded memory, or leave the queue waiting forever.

use e2e_tests::conformance::{settings, state_of, test_engine_config, wait_idle};
use e2e_tests::harness::write_file;
use e2e_tests::scripted_server::{Answer, ScriptedServer, Seen, SilentServer};
use std::time::Duration;
use upload_engine::targets::twake::{self, TwakeError};
use upload_engine::targets::HttpSettings;
use upload_engine::{
    ChunkRule, Dialect, Engine, EngineConfig, EnqueueRequest, FileState, RetryPolicy, TargetSpec,
};

const LOGIN_PAGE: &str = "<!DOCTYPE html><html><body><form>Sign in</form></body></html>";

/// Uploads one 300,000-byte file in 100,000-byte chunks and returns its final state.
async fn upload(url: &str, config: EngineConfig) -> FileState {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "report.pdf", 300_000, 7);
    let engine = Engine::open(config).await.unwrap();
    let id = engine
        .enqueue(EnqueueRequest {
            path,
            relative_path: None,
            target: TargetSpec::Resumable {
                url: url.to_string(),
                dialect: Dialect::Resumable,
            },
            settings: settings(100_000, ChunkRule::Floor),
        })
        .await
        .unwrap();
    wait_idle(&engine).await;
    let state = state_of(&engine, id).await;
    engine.close().await;
    state
}

fn failure(state: FileState) -> String {
    match state {
        FileState::Failed { reason, .. } => reason,
        other => panic!("a file the server never stored must fail, got {other:?}"),
    }
}

fn posts(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.method == "POST").collect()
}

#[tokio::test]
async fn a_login_page_answering_everything_is_not_an_upload() {
    let server = ScriptedServer::start(|_| {
        Answer::new(200, LOGIN_PAGE).header("content-type", "text/html; charset=utf-8")
    })
    .await;
    let reason = failure(upload(&server.url(), test_engine_config()).await);
    assert!(reason.contains("web page"), "{reason}");
    assert!(
        !posts(&server.seen()).is_empty(),
        "a login page is no 'chunk present': the chunk is sent"
    );
}

#[tokio::test]
async fn a_login_page_without_a_content_type_is_recognised_too() {
    let server = ScriptedServer::start(|seen| match seen.method.as_str() {
        "GET" => Answer::new(204, ""),
        _ => Answer::new(200, LOGIN_PAGE),
    })
    .await;
    let reason = failure(upload(&server.url(), test_engine_config()).await);
    assert!(reason.contains("not an upload acknowledgement"), "{reason}");
}

#[tokio::test]
async fn a_redirect_to_a_sign_in_page_is_not_followed_nor_believed() {
    let server = ScriptedServer::start(|seen| {
        if seen.path == "/login" {
            Answer::new(200, LOGIN_PAGE)
        } else {
            Answer::new(302, "").header("location", "/login?next=/upload")
        }
    })
    .await;
    let reason = failure(upload(&server.url(), test_engine_config()).await);
    assert!(reason.contains("redirected"), "{reason}");
    assert!(reason.contains("/login"), "names where it went: {reason}");
    assert!(
        server.seen().iter().all(|s| s.path != "/login"),
        "the redirect is never followed"
    );
}

#[tokio::test]
async fn a_server_that_says_yes_to_every_test_gets_every_chunk() {
    // A catch-all server: 200 "OK" to any GET, as some web frameworks do for unknown routes.
    let server = ScriptedServer::start(|_| Answer::new(200, "OK")).await;
    let state = upload(&server.url(), test_engine_config()).await;
    assert_eq!(state, FileState::Done);
    let seen = server.seen();
    let control = seen
        .iter()
        .filter(|s| s.method == "GET" && s.query.contains("twake-uploader-control-"))
        .count();
    assert_eq!(control, 1, "one control test decides, per target");
    let sent: usize = posts(&seen).iter().map(|s| s.body_len).sum();
    assert_eq!(posts(&seen).len(), 3, "every chunk is posted");
    assert!(
        sent > 300_000,
        "every byte is sent ({sent} bytes of bodies)"
    );
}

#[tokio::test]
async fn an_honest_server_keeps_its_chunks_skipped_after_the_control_test() {
    // Chunks 1 and 2 are on the server; chunk 3 and any unknown file are not.
    let server = ScriptedServer::start(|seen| match seen.method.as_str() {
        "GET" if seen.query.contains("control") => Answer::new(204, ""),
        "GET" if seen.query.contains("resumableChunkNumber=3") => Answer::new(204, ""),
        "GET" => Answer::new(200, "found"),
        _ => Answer::new(200, r#"{"ok":true}"#),
    })
    .await;
    let state = upload(&server.url(), test_engine_config()).await;
    assert_eq!(state, FileState::Done);
    let seen = server.seen();
    let posted: Vec<&str> = posts(&seen).iter().map(|s| s.query.as_str()).collect();
    assert_eq!(
        posted.len(),
        1,
        "only the missing chunk is sent: {posted:?}"
    );
    assert!(posted[0].contains("resumableChunkNumber=3"), "{posted:?}");
}

#[tokio::test]
async fn an_endless_answer_is_cut_short_and_counts_as_a_server_error() {
    let server = ScriptedServer::start(|seen| match seen.method.as_str() {
        "GET" => Answer::endless(200),
        _ => Answer::endless(200).header("content-type", "application/json"),
    })
    .await;
    let reason = failure(upload(&server.url(), test_engine_config()).await);
    assert!(reason.contains("went on past 256 KiB"), "{reason}");
    assert!(
        reason.contains("gave up"),
        "retried as a server error: {reason}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_stall_not_an_outage() {
    let server = SilentServer::start().await;
    let config = EngineConfig {
        retry: RetryPolicy {
            max_attempts: 2,
            ..test_engine_config().retry
        },
        stall_timeout: Duration::from_secs(1),
        ..test_engine_config()
    };
    let reason = failure(upload(&server.url(), config).await);
    assert!(reason.contains("stalled"), "{reason}");
    assert!(server.accepted() >= 1);
}

#[tokio::test]
async fn a_sign_in_redirected_to_another_host_keeps_the_password_home() {
    let elsewhere = ScriptedServer::start(|_| Answer::new(200, r#"{"access_token":{}}"#)).await;
    let to = format!(
        "{}/api/console/login",
        elsewhere.url().trim_end_matches("/upload")
    );
    let server = ScriptedServer::start(move |_| Answer::new(307, "").header("location", &to)).await;
    let http = HttpSettings {
        connect_timeout: Duration::from_secs(2),
        stall_timeout: Duration::from_secs(2),
        network: Default::default(),
    };
    let client = twake::http_client(&http).unwrap();
    let base = server.url().trim_end_matches("/upload").to_string();
    let e = twake::session::login(&client, &base, "a@b.c", "hunter2", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(e, TwakeError::RedirectedAway { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("another server"), "{message}");
    assert!(
        elsewhere.seen().is_empty(),
        "nothing went to the other host"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_and_says_what_to_do() {
    let server = e2e_tests::tls_server::UntrustedTlsServer::start();
    let reason = failure(upload(&server.url(), test_engine_config()).await);
    assert!(reason.contains("not trusted"), "{reason}");
    assert!(reason.contains("certificate authority"), "{reason}");
}
