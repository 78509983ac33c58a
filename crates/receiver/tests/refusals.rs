//! Every request the receiver must refuse with 400, each with its JSON reason, and the
//! proof that nothing was stored for it (a later test request still answers 204).

mod common;

use common::*;
use reqwest::StatusCode;

const CS: u64 = 1000;

/// Asserts a chunk POST is refused with 400 `code`, then that the chunk is not stored.
async fn refused(server: &Server, chunk: &Chunk, code: &str) -> String {
    let reason = expect_refusal(
        chunk.post(server, ParamsIn::Both).await,
        StatusCode::BAD_REQUEST,
        code,
    )
    .await;
    assert_eq!(
        server.receiver.stats().posts_accepted,
        0,
        "{code} must not be accepted"
    );
    reason
}

#[tokio::test]
async fn a_missing_parameter_is_refused_naming_it() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "m", "m.bin", 1).without("resumableTotalChunks");
    let reason = refused(&server, &c, "missing_param").await;
    assert!(reason.contains("resumableTotalChunks"), "{reason}");
}

#[tokio::test]
async fn a_missing_identifier_is_refused_on_the_test_request_too() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "m", "m.bin", 1).without("resumableIdentifier");
    let response = c.test(&server).await;
    expect_refusal(response, StatusCode::BAD_REQUEST, "missing_param").await;
}

#[tokio::test]
async fn a_non_numeric_parameter_is_refused_naming_it() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "n", "n.bin", 1).set("resumableChunkSize", "1k");
    let reason = refused(&server, &c, "bad_param").await;
    assert!(reason.contains("resumableChunkSize"), "{reason}");
}

#[tokio::test]
async fn a_chunk_number_beyond_the_total_is_refused() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "r", "r.bin", 2).set("resumableChunkNumber", 3);
    refused(&server, &c, "chunk_number_out_of_range").await;
}

#[tokio::test]
async fn chunk_number_zero_is_refused() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "r", "r.bin", 1).set("resumableChunkNumber", 0);
    refused(&server, &c, "chunk_number_out_of_range").await;
}

#[tokio::test]
async fn a_total_chunk_count_that_fits_no_plan_is_refused() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "p", "p.bin", 1).set("resumableTotalChunks", 5);
    refused(&server, &c, "bad_plan").await;
}

#[tokio::test]
async fn a_zero_chunk_size_is_refused() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "z", "z.bin", 1).set("resumableChunkSize", 0);
    refused(&server, &c, "bad_plan").await;
}

#[tokio::test]
async fn a_declared_chunk_size_that_does_not_match_the_plan_is_refused() {
    let server = start().await;
    let file = data(2500, 1);
    // Chunk 1 of the default plan holds 1000 bytes; claiming 900 (and sending 900) is wrong.
    let c = chunk(&file, CS, "s", "s.bin", 1)
        .set("resumableCurrentChunkSize", 900)
        .body(file[..900].to_vec());
    let reason = refused(&server, &c, "chunk_size_mismatch").await;
    assert!(reason.contains("s.bin"), "{reason}");
}

#[tokio::test]
async fn a_body_shorter_than_declared_is_refused_and_not_stored() {
    let server = start().await;
    let file = data(2500, 1);
    let c = chunk(&file, CS, "short", "short.bin", 1);
    let short = c.clone().body(file[..999].to_vec());
    refused(&server, &short, "body_size_mismatch").await;
    assert_eq!(c.test(&server).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_body_longer_than_declared_is_refused_and_not_stored() {
    let server = start().await;
    let file = data(2500, 1);
    let c = chunk(&file, CS, "long", "long.bin", 1);
    let long = c.clone().body(file[..1001].to_vec());
    refused(&server, &long, "body_size_mismatch").await;
    assert_eq!(c.test(&server).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_octet_body_of_the_wrong_length_is_refused() {
    let server = start().await;
    let file = data(2500, 1);
    let c = chunk(&file, CS, "o", "o.bin", 1).body(file[..10].to_vec());
    let response = c.post_octet(&server).await;
    expect_refusal(response, StatusCode::BAD_REQUEST, "body_size_mismatch").await;
    assert_eq!(c.test(&server).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_identifier_reused_with_a_different_total_size_is_refused() {
    let server = start().await;
    let first = chunk(&data(2500, 1), CS, "same-id", "a.bin", 1);
    assert_eq!(
        first.post(&server, ParamsIn::Both).await.status(),
        StatusCode::OK
    );
    let other = chunk(&data(3500, 2), CS, "same-id", "a.bin", 1);
    let reason = expect_refusal(
        other.post(&server, ParamsIn::Both).await,
        StatusCode::BAD_REQUEST,
        "identifier_conflict",
    )
    .await;
    assert!(reason.contains("same-id"), "{reason}");
}

#[tokio::test]
async fn an_identifier_reused_with_a_different_chunk_size_is_refused() {
    let server = start().await;
    let file = data(4000, 1);
    chunk(&file, CS, "cs-id", "a.bin", 1)
        .post(&server, ParamsIn::Both)
        .await;
    let other = chunk(&file, 2000, "cs-id", "a.bin", 1);
    expect_refusal(
        other.post(&server, ParamsIn::Both).await,
        StatusCode::BAD_REQUEST,
        "identifier_conflict",
    )
    .await;
}

#[tokio::test]
async fn an_identifier_reused_for_another_path_is_refused() {
    let server = start().await;
    let file = data(2500, 1);
    chunk(&file, CS, "2500-ajpg", "x/a.jpg", 1)
        .post(&server, ParamsIn::Both)
        .await;
    let other = chunk(&file, CS, "2500-ajpg", "y/a.jpg", 2);
    expect_refusal(
        other.post(&server, ParamsIn::Both).await,
        StatusCode::BAD_REQUEST,
        "identifier_conflict",
    )
    .await;
    expect_refusal(
        other.test(&server).await,
        StatusCode::BAD_REQUEST,
        "identifier_conflict",
    )
    .await;
}

async fn path_is_refused(relative_path: &str) {
    let server = start().await;
    let c =
        chunk(&data(500, 1), CS, "evil", "ok.bin", 1).set("resumableRelativePath", relative_path);
    let reason = refused(&server, &c, "bad_path").await;
    assert!(reason.contains("resumableRelativePath"), "{reason}");
    expect_refusal(c.test(&server).await, StatusCode::BAD_REQUEST, "bad_path").await;
    let parent = server.dir.path().parent().unwrap();
    assert!(!parent.join("x").exists() && !parent.join("b").exists());
}

#[tokio::test]
async fn a_path_climbing_out_with_dot_dot_is_refused() {
    path_is_refused("../x").await;
}

#[tokio::test]
async fn a_path_climbing_out_from_inside_a_folder_is_refused() {
    path_is_refused("a/../../b").await;
}

#[tokio::test]
async fn an_absolute_path_is_refused() {
    path_is_refused("/etc/passwd").await;
}

#[tokio::test]
async fn a_path_with_a_nul_byte_is_refused() {
    path_is_refused("a\0.txt").await;
}

#[tokio::test]
async fn a_path_with_a_control_character_is_refused() {
    path_is_refused("a\n.txt").await;
}

#[tokio::test]
async fn a_backslash_path_is_refused() {
    path_is_refused("..\\..\\x").await;
}

#[tokio::test]
async fn a_path_into_the_receivers_own_folder_is_refused() {
    path_is_refused(".resumable/0000/1").await;
}

#[tokio::test]
async fn an_empty_path_and_file_name_are_refused() {
    let server = start().await;
    let c = chunk(&data(500, 1), CS, "e", "ok.bin", 1)
        .set("resumableRelativePath", "")
        .set("resumableFilename", "");
    refused(&server, &c, "bad_path").await;
}

#[tokio::test]
async fn a_file_name_with_a_nul_byte_is_refused_even_with_a_valid_path() {
    let server = start().await;
    let c = chunk(&data(500, 1), CS, "e", "ok.bin", 1).set("resumableFilename", "ok\0.bin");
    let reason = refused(&server, &c, "bad_path").await;
    assert!(reason.contains("resumableFilename"), "{reason}");
}

#[tokio::test]
async fn a_flow_path_climbing_out_is_refused_naming_the_flow_parameter() {
    let server = start().await;
    let c = chunk(&data(500, 1), CS, "evil", "ok.bin", 1)
        .dialect(Dialect::Flow)
        .set("flowRelativePath", "../../x");
    let response = c.post(&server, ParamsIn::Form).await;
    let reason = expect_refusal(response, StatusCode::BAD_REQUEST, "bad_path").await;
    assert!(reason.contains("flowRelativePath"), "{reason}");
}

#[tokio::test]
async fn a_chunk_whose_sha256_does_not_match_the_header_is_refused_and_not_stored() {
    let server = start().await;
    let file = data(2500, 1);
    let c = chunk(&file, CS, "bad-sum", "bad-sum.bin", 1);
    let response = server
        .client
        .post(&server.url)
        .query(&c.params())
        .header("X-Chunk-Sha256", sha256_hex(b"something else"))
        .body(c.body.clone())
        .send()
        .await
        .unwrap();
    expect_refusal(response, StatusCode::BAD_REQUEST, "checksum_mismatch").await;
    assert_eq!(c.test(&server).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_chunk_whose_sha256_does_not_match_the_parameter_is_refused() {
    let server = start().await;
    let file = data(500, 1);
    let c = chunk(&file, CS, "bad-sum", "bad-sum.bin", 1).set("chunkSha256", sha256_hex(b"x"));
    refused(&server, &c, "checksum_mismatch").await;
    assert!(!server.stored("bad-sum.bin").exists());
}

#[tokio::test]
async fn a_malformed_checksum_is_refused() {
    let server = start().await;
    let c = chunk(&data(500, 1), CS, "c", "c.bin", 1).set("chunkSha256", "not-hex");
    refused(&server, &c, "bad_param").await;
}

#[tokio::test]
async fn a_multipart_body_without_a_file_part_is_refused() {
    let server = start().await;
    let c = chunk(&data(500, 1), CS, "nf", "nf.bin", 1);
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in c.params() {
        form = form.text(name, value);
    }
    let response = server
        .client
        .post(&server.url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_refusal(response, StatusCode::BAD_REQUEST, "missing_file").await;
}

#[tokio::test]
async fn query_and_form_values_that_disagree_are_refused() {
    let server = start().await;
    let c = chunk(&data(2500, 1), CS, "d", "d.bin", 1);
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in c.clone().set("resumableChunkNumber", 2).params() {
        form = form.text(name, value);
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(c.body.clone()).file_name("d.bin"),
    );
    let response = server
        .client
        .post(&server.url)
        .query(&c.params())
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_refusal(response, StatusCode::BAD_REQUEST, "param_conflict").await;
}

#[tokio::test]
async fn a_refused_first_chunk_leaves_no_file_behind() {
    let server = start().await;
    let file = data(500, 1);
    let c = chunk(&file, CS, "one", "one.bin", 1).body(file[..400].to_vec());
    refused(&server, &c, "body_size_mismatch").await;
    assert!(!server.stored("one.bin").exists());
}

#[tokio::test]
async fn a_path_through_a_file_is_refused_without_showing_where_the_storage_is() {
    let server = start().await;
    std::fs::write(server.stored("reports"), b"a file, not a folder").unwrap();
    let c = chunk(&data(500, 3), CS, "p", "reports/q1/sum.txt", 1);
    let reason = expect_refusal(
        c.post(&server, ParamsIn::Both).await,
        StatusCode::CONFLICT,
        "path_conflict",
    )
    .await;
    assert!(reason.contains("'reports' is a file"), "{reason}");
    let root = server.stored("").display().to_string();
    assert!(!reason.contains(root.trim_end_matches('/')), "{reason}");
}
