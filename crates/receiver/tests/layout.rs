//! The on-disk layout of an upload in progress (one data file written at chunk offsets,
//! plus a log of the chunks fully written) and what it must guarantee: a chunk cut midway
//! is never reported present, a stored chunk is never overwritten by a later request, and
//! a restarted receiver knows exactly the logged chunks and hashes the file right.

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use common::{chunk, chunks, data, sha256_hex, start, start_in, ParamsIn, Server};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const MIB: u64 = 1024 * 1024;

/// `DIR/.resumable/<key>`: the key is the first 16 bytes of the identifier's SHA-256.
fn upload_dir(server_dir: &std::path::Path, identifier: &str) -> PathBuf {
    let digest = Sha256::digest(identifier.as_bytes());
    server_dir
        .join(".resumable")
        .join(hex::encode(&digest[..16]))
}

/// Sends the head of an octet POST for `c` and `sent` bytes of its body, then hangs up.
async fn post_cut(server: &Server, c: &common::Chunk, sent: usize) {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(c.params())
        .finish();
    let mut stream = tokio::net::TcpStream::connect(server.receiver.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST /upload?{query} HTTP/1.1\r\nhost: localhost\r\n\
         content-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        c.body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&c.body[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    // Let the receiver write what it got before the connection drops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn chunks_go_into_one_data_file_and_a_received_log() {
    let server = start().await;
    let file = data(3 * 1000 + 500, 40);
    let all = chunks(&file, 1000, "lay", "lay.bin");
    all[2].post(&server, ParamsIn::Both).await;
    all[0].post(&server, ParamsIn::Query).await;
    let dir = upload_dir(server.dir.path(), "lay");
    let data_file = std::fs::read(dir.join("data")).unwrap();
    assert_eq!(data_file.len(), file.len(), "created at the full size");
    assert_eq!(&data_file[..1000], &file[..1000]);
    assert_eq!(&data_file[2000..], &file[2000..]);
    assert_eq!(
        std::fs::read_to_string(dir.join("received")).unwrap(),
        "chunk 3\nchunk 1\n"
    );
    // No file per chunk any more.
    assert!(!dir.join("1").exists() && !dir.join("3").exists());
    let done = all[1].post(&server, ParamsIn::Both).await;
    let done: serde_json::Value = done.json().await.unwrap();
    assert_eq!(done["sha256"], sha256_hex(&file));
    assert_eq!(std::fs::read(server.stored("lay.bin")).unwrap(), file);
    assert!(
        !dir.join("data").exists(),
        "the data file was renamed into place"
    );
    assert!(!dir.join("received").exists());
}

#[tokio::test]
async fn a_restart_in_the_middle_keeps_the_logged_chunks_and_rehashes() {
    let server = start().await;
    let file = data(4 * 1000 + 10, 41);
    let all = chunks(&file, 1000, "mid", "mid.bin");
    // Chunks 1 and 2 are hashed as they arrive; 4 waits for 3.
    for i in [0, 1, 3] {
        all[i].post(&server, ParamsIn::Both).await;
    }
    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;

    let server = start_in(dir, |_| {}).await;
    assert_eq!(
        server.status("mid").await["chunks"],
        serde_json::json!([1, 2, 4])
    );
    assert_eq!(all[2].test(&server).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(all[3].test(&server).await.status(), StatusCode::OK);
    let done = all[2].post(&server, ParamsIn::Both).await;
    let done: serde_json::Value = done.json().await.unwrap();
    assert_eq!(done["status"], "done");
    assert_eq!(
        done["sha256"],
        sha256_hex(&file),
        "hashed again from chunk 1"
    );
    assert_eq!(std::fs::read(server.stored("mid.bin")).unwrap(), file);
}

#[tokio::test]
async fn a_torn_log_line_does_not_count_and_does_not_spoil_the_next() {
    let server = start().await;
    let file = data(3 * 1000, 42);
    let all = chunks(&file, 1000, "torn", "torn.bin");
    all[0].post(&server, ParamsIn::Both).await;
    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;
    // A crash while appending "chunk 2\n": only part of the line reached the disk.
    let upload = upload_dir(dir.path(), "torn");
    std::fs::OpenOptions::new()
        .append(true)
        .open(upload.join("received"))
        .unwrap()
        .write_all(b"chunk 2")
        .unwrap();

    let server = start_in(dir, |_| {}).await;
    assert_eq!(
        server.status("torn").await["chunks"],
        serde_json::json!([1])
    );
    all[2].post(&server, ParamsIn::Both).await;
    assert_eq!(
        server.status("torn").await["chunks"],
        serde_json::json!([1, 3])
    );
    let done = all[1].post(&server, ParamsIn::Both).await;
    let done: serde_json::Value = done.json().await.unwrap();
    assert_eq!(done["sha256"], sha256_hex(&file));
    assert_eq!(std::fs::read(server.stored("torn.bin")).unwrap(), file);
}

#[tokio::test]
async fn a_chunk_cut_midway_is_never_reported_present() {
    let server = start().await;
    let cs = 3 * MIB;
    let file = data((2 * cs + 100) as usize, 43);
    let all = chunks(&file, cs, "cut", "cut.bin");
    // More than the receiver's write buffer, so part of it reaches the data file.
    post_cut(&server, &all[0], (MIB + MIB / 2) as usize).await;
    assert_eq!(all[0].test(&server).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.status("cut").await["chunks"], serde_json::json!([]));
    assert_eq!(server.receiver.stats().posts_accepted, 0);

    // And not after a restart either.
    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;
    let server = start_in(dir, |_| {}).await;
    assert_eq!(all[0].test(&server).await.status(), StatusCode::NO_CONTENT);

    for c in &all {
        assert_eq!(c.post_octet(&server).await.status(), StatusCode::OK);
    }
    assert_eq!(std::fs::read(server.stored("cut.bin")).unwrap(), file);
    assert_eq!(server.status("cut").await["done"], true);
}

#[tokio::test]
async fn a_cut_resend_of_a_stored_chunk_leaves_it_intact() {
    let server = start().await;
    let cs = 3 * MIB;
    let file = data((2 * cs + 100) as usize, 44);
    let all = chunks(&file, cs, "recut", "recut.bin");
    assert_eq!(all[0].post_octet(&server).await.status(), StatusCode::OK);
    // A re-send of chunk 1 with other bytes, cut midway: it must not touch the stored range.
    let other = all[0].clone().body(data(cs as usize, 99));
    post_cut(&server, &other, (MIB + MIB / 2) as usize).await;
    assert_eq!(all[0].test(&server).await.status(), StatusCode::OK);
    let done = all[1].post_octet(&server).await;
    let done: serde_json::Value = done.json().await.unwrap();
    assert_eq!(done["status"], "done");
    assert_eq!(done["sha256"], sha256_hex(&file));
    assert_eq!(std::fs::read(server.stored("recut.bin")).unwrap(), file);
}

#[tokio::test]
async fn a_duplicate_of_a_hashed_chunk_changes_neither_the_file_nor_its_hash() {
    let server = start().await;
    let file = data(3 * 1000 + 7, 45);
    let all = chunks(&file, 1000, "hashed", "hashed.bin");
    all[0].post(&server, ParamsIn::Both).await; // hashed at once: it follows the cursor
                                                // The same chunk again with other bytes of the right length: accepted as a duplicate,
                                                // and the bytes already stored (and hashed) stay.
    let other = chunk(&file, 1000, "hashed", "hashed.bin", 1).body(data(1000, 7));
    assert_eq!(
        other.post(&server, ParamsIn::Both).await.status(),
        StatusCode::OK
    );
    all[2].post(&server, ParamsIn::Both).await;
    let done = all[1].post(&server, ParamsIn::Both).await;
    let done: serde_json::Value = done.json().await.unwrap();
    let stored = std::fs::read(server.stored("hashed.bin")).unwrap();
    assert_eq!(stored, file);
    assert_eq!(done["sha256"], sha256_hex(&stored));
}
