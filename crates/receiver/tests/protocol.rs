//! The Resumable.js / Flow.js protocol as the browser libraries speak it: both dialects,
//! every way of sending parameters, duplicates, disorder, concurrency and assembly.

mod common;

use common::*;
use reqwest::StatusCode;

const CS: u64 = 1000;

#[tokio::test]
async fn a_multi_chunk_upload_is_assembled_byte_for_byte_with_its_sha256() {
    let server = start().await;
    let file = data(3500, 1);
    let done = upload(&server, &file, CS, "3500-photo", "album/photo.jpg").await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["path"], "album/photo.jpg");
    assert_eq!(done["size"], 3500);
    assert_eq!(done["sha256"], sha256_hex(&file));
    let stored = std::fs::read(server.stored("album/photo.jpg")).unwrap();
    assert_eq!(stored, file);
    assert_eq!(sha256_hex(&stored), done["sha256"]);
}

#[tokio::test]
async fn chunks_before_the_last_answer_partly_done() {
    let server = start().await;
    let file = data(2500, 2);
    let response = chunk(&file, CS, "id", "a.bin", 1)
        .post(&server, ParamsIn::Both)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "partly_done"}));
    assert!(!server.stored("a.bin").exists());
}

#[tokio::test]
async fn the_flow_dialect_with_parameters_only_in_form_fields_is_accepted() {
    let server = start().await;
    let file = data(2100, 3);
    let mut last = None;
    for chunk in chunks(&file, CS, "2100-flow", "dir/flow.txt") {
        let response = chunk
            .dialect(Dialect::Flow)
            .post(&server, ParamsIn::Form)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        last = Some(response.json::<serde_json::Value>().await.unwrap());
    }
    assert_eq!(last.unwrap()["status"], "done");
    assert_eq!(std::fs::read(server.stored("dir/flow.txt")).unwrap(), file);
}

#[tokio::test]
async fn parameters_only_in_the_query_string_are_accepted_for_multipart() {
    let server = start().await;
    let file = data(1200, 4);
    let response = chunk(&file, CS, "q", "q.bin", 1)
        .post(&server, ParamsIn::Query)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(std::fs::read(server.stored("q.bin")).unwrap(), file);
}

#[tokio::test]
async fn form_fields_that_follow_the_file_part_are_still_read() {
    let server = start().await;
    let file = data(2500, 5);
    for chunk in chunks(&file, CS, "late", "late.bin") {
        let response = chunk.post(&server, ParamsIn::FormAfterFile).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(std::fs::read(server.stored("late.bin")).unwrap(), file);
}

#[tokio::test]
async fn the_octet_method_sends_raw_chunk_bytes() {
    let server = start().await;
    let file = data(2999, 6);
    let mut last = serde_json::Value::Null;
    for chunk in chunks(&file, CS, "octet", "raw/octet.bin") {
        let response = chunk.post_octet(&server).await;
        assert_eq!(response.status(), StatusCode::OK);
        last = response.json().await.unwrap();
    }
    assert_eq!(last["sha256"], sha256_hex(&file));
    assert_eq!(std::fs::read(server.stored("raw/octet.bin")).unwrap(), file);
}

#[tokio::test]
async fn the_octet_method_works_in_the_flow_dialect() {
    let server = start().await;
    let file = data(500, 7);
    let response = chunk(&file, CS, "f", "f.bin", 1)
        .dialect(Dialect::Flow)
        .post_octet(&server)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(std::fs::read(server.stored("f.bin")).unwrap(), file);
}

#[tokio::test]
async fn an_empty_file_is_one_empty_chunk_and_is_stored() {
    let server = start().await;
    let done = upload(&server, &[], CS, "0-empty", "empty.txt").await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["size"], 0);
    assert_eq!(done["sha256"], sha256_hex(&[]));
    assert_eq!(
        std::fs::metadata(server.stored("empty.txt")).unwrap().len(),
        0
    );
}

#[tokio::test]
async fn an_empty_file_can_be_sent_with_the_octet_method() {
    let server = start().await;
    let response = chunk(&[], CS, "0-e", "e.txt", 1).post_octet(&server).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(server.stored("e.txt").exists());
}

#[tokio::test]
async fn the_force_chunk_size_plan_with_a_short_last_chunk_is_accepted() {
    let server = start().await;
    let file = data(2500, 8);
    // ceil(2500/1000) = 3 chunks: 1000, 1000, 500.
    let pieces = [(1u64, 0usize, 1000usize), (2, 1000, 2000), (3, 2000, 2500)];
    for (number, start, end) in pieces {
        let chunk = chunk(&file, CS, "forced", "forced.bin", 1)
            .body(file[start..end].to_vec())
            .set("resumableChunkNumber", number)
            .set("resumableTotalChunks", 3)
            .set("resumableCurrentChunkSize", end - start);
        let response = chunk.post(&server, ParamsIn::Both).await;
        assert_eq!(response.status(), StatusCode::OK, "chunk {number}");
    }
    assert_eq!(std::fs::read(server.stored("forced.bin")).unwrap(), file);
}

#[tokio::test]
async fn a_duplicate_chunk_is_accepted_and_stored_once() {
    let server = start().await;
    let file = data(2500, 9);
    let all = chunks(&file, CS, "dup", "dup.bin");
    for _ in 0..2 {
        let response = all[0].post(&server, ParamsIn::Both).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = all[1].post(&server, ParamsIn::Both).await;
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "done"
    );
    // The last chunk again, after the file is done: a retry after a lost answer.
    let response = all[1].post(&server, ParamsIn::Both).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "done");
    assert_eq!(body["sha256"], sha256_hex(&file));
    assert_eq!(std::fs::read(server.stored("dup.bin")).unwrap(), file);
    assert_eq!(server.receiver.stats().uploads_done, 1);
}

#[tokio::test]
async fn chunks_sent_out_of_order_assemble_in_order() {
    let server = start().await;
    let file = data(5300, 10);
    let mut all = chunks(&file, CS, "ooo", "ooo.bin");
    all.reverse();
    all.swap(1, 3);
    let mut statuses = Vec::new();
    for chunk in &all {
        let response = chunk.post(&server, ParamsIn::Both).await;
        statuses.push(response.json::<serde_json::Value>().await.unwrap()["status"].clone());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "done").count(), 1);
    assert_eq!(statuses.last().unwrap(), "done");
    assert_eq!(std::fs::read(server.stored("ooo.bin")).unwrap(), file);
}

#[tokio::test]
async fn concurrent_chunks_of_one_file_assemble_exactly_once() {
    let server = start().await;
    let file = data(40 * 1000 + 123, 11);
    let all = chunks(&file, CS, "conc", "conc.bin");
    // Every chunk twice, all at once: many requests race to complete the set.
    let requests = all
        .iter()
        .chain(all.iter())
        .map(|c| c.post(&server, ParamsIn::Both));
    let responses = futures::future::join_all(requests).await;
    let mut done = 0;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        if response.json::<serde_json::Value>().await.unwrap()["status"] == "done" {
            done += 1;
        }
    }
    assert!(done >= 1);
    assert_eq!(
        server.receiver.stats().uploads_done,
        1,
        "assembled exactly once"
    );
    assert_eq!(std::fs::read(server.stored("conc.bin")).unwrap(), file);
}

#[tokio::test]
async fn concurrent_uploads_of_different_files_do_not_mix() {
    let server = start().await;
    let files: Vec<Vec<u8>> = (0..6).map(|i| data(3000 + i * 77, i as u8)).collect();
    let uploads = files.iter().enumerate().map(|(i, file)| {
        let server = &server;
        async move {
            let all = chunks(file, CS, &format!("file-{i}"), &format!("many/{i}.bin"));
            let responses =
                futures::future::join_all(all.iter().map(|c| c.post(server, ParamsIn::Both))).await;
            for response in responses {
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
    });
    futures::future::join_all(uploads).await;
    for (i, file) in files.iter().enumerate() {
        assert_eq!(
            &std::fs::read(server.stored(&format!("many/{i}.bin"))).unwrap(),
            file
        );
    }
    assert_eq!(server.receiver.stats().uploads_done, 6);
}

#[tokio::test]
async fn a_test_request_answers_204_for_a_missing_chunk_and_200_once_stored() {
    let server = start().await;
    let file = data(2500, 12);
    let first = chunk(&file, CS, "t", "t.bin", 1);
    let second = chunk(&file, CS, "t", "t.bin", 2);
    assert_eq!(first.test(&server).await.status(), StatusCode::NO_CONTENT);
    first.post(&server, ParamsIn::Both).await;
    assert_eq!(first.test(&server).await.status(), StatusCode::OK);
    assert_eq!(second.test(&server).await.status(), StatusCode::NO_CONTENT);
    let stats = server.receiver.stats();
    assert_eq!(stats.gets, 3);
    assert_eq!(stats.gets_present, 1);
}

#[tokio::test]
async fn chunks_of_a_finished_upload_keep_answering_200() {
    let server = start().await;
    let file = data(3100, 13);
    upload(&server, &file, CS, "fin", "fin.bin").await;
    for chunk in chunks(&file, CS, "fin", "fin.bin") {
        assert_eq!(
            chunk.test(&server).await.status(),
            StatusCode::OK,
            "chunk {}",
            chunk.number
        );
        assert_eq!(
            chunk.dialect(Dialect::Flow).test(&server).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_test_request_in_either_dialect_sees_chunks_of_the_other() {
    let server = start().await;
    let file = data(2500, 14);
    chunk(&file, CS, "x", "x.bin", 1)
        .dialect(Dialect::Flow)
        .post(&server, ParamsIn::Form)
        .await;
    let response = chunk(&file, CS, "x", "x.bin", 1).test(&server).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_status_extension_lists_stored_chunks() {
    let server = start().await;
    let file = data(5000, 15);
    let all = chunks(&file, CS, "5000-status", "s.bin");
    for number in [1usize, 2, 5] {
        all[number - 1].post(&server, ParamsIn::Both).await;
    }
    let status = server.status("5000-status").await;
    assert_eq!(
        status,
        serde_json::json!({"identifier": "5000-status", "chunks": [1, 2, 5], "total_chunks": 5, "done": false})
    );
    for number in [3usize, 4] {
        all[number - 1].post(&server, ParamsIn::Both).await;
    }
    let status = server.status("5000-status").await;
    assert_eq!(status["done"], true);
    assert_eq!(status["chunks"], serde_json::json!([1, 2, 3, 4, 5]));
}

#[tokio::test]
async fn the_status_of_an_unknown_identifier_is_empty() {
    let server = start().await;
    let status = server.status("never-seen").await;
    assert_eq!(
        status,
        serde_json::json!({"identifier": "never-seen", "chunks": [], "total_chunks": null, "done": false})
    );
}

#[tokio::test]
async fn a_status_request_without_identifier_is_refused() {
    let server = start().await;
    let response = server
        .client
        .get(format!("{}/status", server.url))
        .send()
        .await
        .unwrap();
    expect_refusal(response, StatusCode::BAD_REQUEST, "missing_param").await;
}

#[tokio::test]
async fn a_matching_chunk_checksum_is_accepted_from_header_or_parameter() {
    let server = start().await;
    let file = data(2500, 16);
    let all = chunks(&file, CS, "sum", "sum.bin");
    let response = server
        .client
        .post(&server.url)
        .query(&all[0].params())
        .header("X-Chunk-Sha256", sha256_hex(&all[0].body))
        .body(all[0].body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = all[1]
        .clone()
        .set("chunkSha256", sha256_hex(&all[1].body))
        .post(&server, ParamsIn::Form)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(std::fs::read(server.stored("sum.bin")).unwrap(), file);
}

#[tokio::test]
async fn stats_count_accepted_posts_and_bytes_over_http() {
    let server = start().await;
    let file = data(2500, 17);
    upload(&server, &file, CS, "st", "st.bin").await;
    chunk(&file, CS, "st", "st.bin", 1).test(&server).await;
    chunk(&file, CS, "st", "../st.bin", 1)
        .post(&server, ParamsIn::Both)
        .await;
    let stats = server.stats_json().await;
    assert_eq!(stats["posts_accepted"], 2);
    assert_eq!(stats["posts_rejected"], 1);
    assert_eq!(stats["bytes_accepted"], 2500);
    assert_eq!(stats["gets"], 1);
    assert_eq!(stats["gets_present"], 1);
    assert_eq!(stats["uploads_done"], 1);
    assert_eq!(server.receiver.stats().posts_accepted, 2);
}

#[tokio::test]
async fn an_upload_replaces_an_existing_file_at_its_path() {
    let server = start().await;
    std::fs::write(server.stored("old.txt"), b"old content").unwrap();
    let file = data(1500, 18);
    upload(&server, &file, CS, "new", "old.txt").await;
    assert_eq!(std::fs::read(server.stored("old.txt")).unwrap(), file);
}

#[tokio::test]
async fn no_temporary_files_are_left_beside_the_finished_files() {
    let server = start().await;
    let file = data(3500, 19);
    upload(&server, &file, CS, "clean", "c/clean.bin").await;
    let names: Vec<String> = std::fs::read_dir(server.stored("c"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["clean.bin"]);
}

#[tokio::test]
async fn a_receiver_restarted_on_the_same_folder_remembers_stored_chunks() {
    let server = start().await;
    let file = data(3000, 20);
    let all = chunks(&file, CS, "restart", "restart.bin");
    all[0].post(&server, ParamsIn::Both).await;
    all[2].post(&server, ParamsIn::Both).await;
    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;

    let server = start_in(dir, |_| {}).await;
    assert_eq!(all[0].test(&server).await.status(), StatusCode::OK);
    assert_eq!(all[1].test(&server).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.status("restart").await["chunks"],
        serde_json::json!([1, 3])
    );
    let response = all[1].post(&server, ParamsIn::Both).await;
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "done"
    );
    assert_eq!(std::fs::read(server.stored("restart.bin")).unwrap(), file);

    let common::Server { receiver, dir, .. } = server;
    receiver.shutdown().await;
    let server = start_in(dir, |_| {}).await;
    assert_eq!(
        all[1].test(&server).await.status(),
        StatusCode::OK,
        "done is remembered too"
    );
}
