//! CORS is opt-in: off, the receiver adds no CORS headers; on, it answers preflights so
//! the browser libraries on another origin can send chunks and the checksum header.

mod common;

use common::*;
use reqwest::{Method, StatusCode};

async fn preflight(server: &Server) -> reqwest::Response {
    server
        .client
        .request(Method::OPTIONS, &server.url)
        .header("Origin", "http://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "x-chunk-sha256, content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let server = start().await;
    let response = preflight(&server).await;
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let c = chunk(&data(500, 1), 1000, "c", "c.bin", 1);
    let response = server
        .client
        .get(&server.url)
        .query(&c.params())
        .header("Origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn with_cors_on_a_preflight_allows_any_origin_and_the_checksum_header() {
    let server = start_with(|c| c.cors = true).await;
    let response = preflight(&server).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-chunk-sha256"), "{allowed}");
    let methods = response.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
}

#[tokio::test]
async fn with_cors_on_answers_and_refusals_carry_the_allow_origin_header() {
    let server = start_with(|c| c.cors = true).await;
    let c = chunk(&data(500, 1), 1000, "c", "c.bin", 1);
    let response = server
        .client
        .post(&server.url)
        .query(&c.params())
        .header("Origin", "http://app.example")
        .body(c.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let bad = c.clone().set("resumableChunkNumber", 9);
    let response = server
        .client
        .get(&server.url)
        .query(&bad.params())
        .header("Origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}
