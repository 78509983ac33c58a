//! Starting and stopping: the handle's address and URL, errors that name what went wrong,
//! and a clean shutdown.

mod common;

use common::*;
use receiver::{Receiver, ReceiverConfig, ReceiverError};

#[tokio::test]
async fn the_upload_url_points_at_the_bound_loopback_port() {
    let server = start().await;
    let addr = server.receiver.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(
        server.receiver.upload_url(),
        format!("http://127.0.0.1:{}/upload", addr.port())
    );
}

#[tokio::test]
async fn a_port_in_use_is_reported_naming_the_address() {
    let server = start().await;
    let mut config = ReceiverConfig::new(tempfile::tempdir().unwrap().path());
    config.bind = server.receiver.local_addr();
    let err = Receiver::start(config).await.unwrap_err();
    assert!(matches!(err, ReceiverError::Bind { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&server.receiver.local_addr().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn a_storage_folder_that_cannot_be_created_is_reported_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Receiver::start(ReceiverConfig::new(file.join("store")))
        .await
        .unwrap_err();
    assert!(matches!(err, ReceiverError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[tokio::test]
async fn the_defaults_follow_the_protocol_notes() {
    let config = ReceiverConfig::new("/tmp/x");
    assert!(config.bind.ip().is_loopback());
    assert_eq!(config.bind.port(), 0);
    assert_eq!(config.max_chunk_size, 512 * 1024 * 1024);
    assert_eq!(config.max_file_size, u64::MAX);
    assert_eq!(
        config.incomplete_expiry,
        std::time::Duration::from_secs(12 * 3600)
    );
    assert!(!config.cors);
}

#[tokio::test]
async fn after_shutdown_the_port_no_longer_answers() {
    let server = start().await;
    let url = server.url.clone();
    let client = server.client.clone();
    assert!(client.get(format!("{url}/stats")).send().await.is_ok());
    server.receiver.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{url}/stats")).send().await.is_err());
}

#[tokio::test]
async fn a_finished_but_unassembled_upload_is_assembled_at_start() {
    // A previous run stored every chunk and stopped before assembling: simulate by
    // storing chunks 1 and 2 of 2 through a receiver, then removing the file and the
    // done record as if the crash happened just before assembly.
    let server = start().await;
    let file = data(2500, 1);
    let all = chunks(&file, 1000, "crash", "crash.bin");
    all[0].post(&server, ParamsIn::Both).await;
    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;
    let upload_dir = std::fs::read_dir(dir.path().join(".resumable"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    std::fs::write(upload_dir.join("2"), &file[1000..]).unwrap();

    let server = start_in(dir, |_| {}).await;
    assert_eq!(std::fs::read(server.stored("crash.bin")).unwrap(), file);
    assert_eq!(server.status("crash").await["done"], true);
}
