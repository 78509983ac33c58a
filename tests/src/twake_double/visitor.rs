//! What a signed-out browser does with a shared link, step by step as Twake Drive's web
//! client does it: load the shared page, read the company, the item and the public token
//! from its address (the ids in the client's short form), open an anonymous session for the
//! item with its token, then download the item. Works against the double or a real server.

use serde_json::{json, Value};
use upload_engine::targets::twake::share::long_id;

/// Why a link did not open, with the step that refused.
#[derive(Debug)]
pub struct Refused(pub String);

/// The bytes a person without an account gets from `link`.
pub async fn open_link(link: &str) -> Result<Vec<u8>, Refused> {
    let url = url::Url::parse(link).map_err(|e| Refused(format!("not a URL: {e}")))?;
    let parts: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let ["shared", company, "drive", item, "t", token] = parts[..] else {
        return Err(Refused(format!("not a shared page: {}", url.path())));
    };
    let (company, item) = match (long_id(company), long_id(item)) {
        (Some(c), Some(i)) => (c, i),
        _ => return Err(Refused(format!("ids not in the web client's form: {link}"))),
    };
    // No cookie, no bearer: a browser that never signed in.
    let client = reqwest::Client::new();
    let page = client
        .get(link)
        .send()
        .await
        .map_err(|e| Refused(e.to_string()))?;
    let html = page
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !page.status().is_success() || !html {
        return Err(Refused(format!(
            "the shared page answered {}",
            page.status()
        )));
    }
    let origin = url.origin().ascii_serialization();
    let docs = format!("{origin}/internal/services/documents/v1/companies/{company}");
    let answer = client
        .post(format!("{docs}/anonymous/token"))
        .json(&json!({"company_id": company, "document_id": item, "token": token}))
        .send()
        .await
        .map_err(|e| Refused(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(Refused(format!(
            "anonymous/token answered {}",
            answer.status()
        )));
    }
    let answer: Value = answer.json().await.map_err(|e| Refused(e.to_string()))?;
    let session = answer
        .pointer("/access_token/value")
        .and_then(Value::as_str)
        .ok_or_else(|| Refused(format!("no session in {answer}")))?;
    let file = client
        .get(format!("{docs}/item/{item}/download"))
        .bearer_auth(session)
        .send()
        .await
        .map_err(|e| Refused(e.to_string()))?;
    if !file.status().is_success() {
        return Err(Refused(format!("the download answered {}", file.status())));
    }
    Ok(file
        .bytes()
        .await
        .map_err(|e| Refused(e.to_string()))?
        .to_vec())
}
