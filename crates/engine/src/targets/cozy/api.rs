//! cozy-stack's wire, as far as the uploader uses it (docs/protocol.md, "Twake Drive on
//! cozy-stack"): the routes, the JSON:API documents of `/files` (sizes come as strings), the
//! errors (`{"errors":[{"status","title","detail"}]}`, or `{"error"}` from `/auth`), and
//! answers read with a cap so a wrong address cannot stream gigabytes at us.

use super::error::CozyError;
use crate::targets::http::{self, CappedBody};
use serde::Deserialize;

/// The id of the root folder on every instance.
pub const ROOT_ID: &str = "io.cozy.files.root-dir";
/// The trash: a folder of the root, listed with its children like any other.
pub const TRASH_ID: &str = "io.cozy.files.trash-dir";
pub const TRASH_PATH: &str = "/.cozy_trash";
pub const REGISTER: &str = "/auth/register";
pub const AUTHORIZE: &str = "/auth/authorize";
pub const ACCESS_TOKEN: &str = "/auth/access_token";
/// The one scope the uploader asks for.
pub const SCOPE: &str = "io.cozy.files";

/// `POST /files/:dir-id` (a folder or a file in it) and `GET /files/:dir-id` (its listing).
pub fn node(id: &str) -> String {
    format!("/files/{}", enc(id))
}

pub fn download(id: &str) -> String {
    format!("/files/download/{}", enc(id))
}

fn enc(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// An answer: its status and (capped) text.
#[derive(Debug)]
pub struct Reply {
    pub url: String,
    pub status: u16,
    pub body: String,
    pub content_type: String,
    pub retry_after: Option<std::time::Duration>,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Result<Reply, reqwest::Error> {
        let url = http::redact_url(resp.url().as_str());
        let status = resp.status().as_u16();
        let content_type = http::content_type(&resp);
        let retry_after = http::header(&resp, reqwest::header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let body = match http::read_capped(resp).await? {
            CappedBody::Text(t) => t,
            CappedBody::TooLong => String::new(),
        };
        Ok(Reply {
            url,
            status,
            body,
            content_type,
            retry_after,
        })
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A web page rather than the stack's JSON (a proxy's, a sign-in front's).
    pub fn is_html(&self) -> bool {
        http::looks_like_html(&self.content_type, &self.body)
    }

    /// The stack's own words for a refusal, else the start of the body.
    pub fn detail(&self) -> String {
        #[derive(Deserialize)]
        struct One {
            #[serde(default)]
            detail: String,
            #[serde(default)]
            title: String,
        }
        #[derive(Deserialize)]
        struct Errors {
            errors: Vec<One>,
        }
        #[derive(Deserialize)]
        struct OAuth {
            error: String,
        }
        if let Ok(e) = serde_json::from_str::<Errors>(&self.body) {
            if let Some(first) = e.errors.first() {
                return if first.detail.is_empty() {
                    first.title.clone()
                } else {
                    first.detail.clone()
                };
            }
        }
        if let Ok(e) = serde_json::from_str::<OAuth>(&self.body) {
            return e.error;
        }
        if self.is_html() {
            return "a web page".into();
        }
        self.body.chars().take(200).collect()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CozyError> {
        serde_json::from_str(&self.body).map_err(|e| CozyError::BadAnswer {
            url: self.url.clone(),
            reason: if self.is_html() {
                "a web page".into()
            } else {
                e.to_string()
            },
        })
    }

    /// A refusal as the error it is, for answers no caller handles specially.
    pub fn error(&self) -> CozyError {
        CozyError::Server {
            url: self.url.clone(),
            status: self.status,
            detail: self.detail(),
            retry_after: self.retry_after,
        }
    }
}

/// A file or folder (`io.cozy.files`).
#[derive(Clone, Debug, Deserialize)]
pub struct Doc {
    pub id: String,
    pub attributes: Attributes,
    #[serde(default)]
    pub meta: Meta,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub rev: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Attributes {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub dir_id: Option<String>,
    /// The stack writes sizes as strings ("1024"); a number is taken too.
    #[serde(default, deserialize_with = "size_from_text")]
    pub size: Option<u64>,
    #[serde(default)]
    pub md5sum: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    /// Files in the trash say so; folders in it are below `/.cozy_trash`.
    #[serde(default)]
    pub trashed: bool,
}

impl Doc {
    pub fn is_dir(&self) -> bool {
        self.attributes.kind == "directory"
    }

    /// The trash folder itself, or something in it: never shown as part of the Drive.
    pub fn is_trash(&self) -> bool {
        self.id == TRASH_ID
            || self.attributes.trashed
            || self
                .attributes
                .path
                .as_deref()
                .is_some_and(|p| p == TRASH_PATH || p.starts_with(&format!("{TRASH_PATH}/")))
    }
}

fn size_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Size>::deserialize(d)? {
        Some(Size::Text(t)) => t.parse().ok(),
        Some(Size::Number(n)) => Some(n),
        None => None,
    })
}

#[derive(Debug, Deserialize)]
pub struct One {
    pub data: Doc,
}

#[derive(Debug, Deserialize)]
pub struct Listing {
    #[serde(default)]
    pub included: Vec<Doc>,
    #[serde(default)]
    pub links: Links,
}

#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /auth/register`'s answer.
#[derive(Debug, Deserialize)]
pub struct Registered {
    pub client_id: String,
    pub client_secret: String,
    pub registration_access_token: String,
}

/// `POST /auth/access_token`'s answer; a refresh grant may leave `refresh_token` out.
#[derive(Debug, Deserialize)]
pub struct Granted {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_as_the_stack_writes_them() {
        let doc: Doc = serde_json::from_str(
            r#"{"id":"f1","attributes":{"type":"file","name":"a.txt","size":"1024"},"meta":{"rev":"2-ab"}}"#,
        )
        .unwrap();
        assert_eq!(doc.attributes.size, Some(1024));
        assert_eq!(doc.meta.rev, "2-ab");
        assert!(!doc.is_dir());
    }

    #[test]
    fn refusals_are_read_in_both_error_shapes() {
        let reply = |body: &str| Reply {
            url: "u".into(),
            status: 409,
            body: body.into(),
            content_type: "application/json".into(),
            retry_after: None,
        };
        assert_eq!(
            reply(r#"{"errors":[{"status":"409","title":"Conflict","detail":"name taken"}]}"#)
                .detail(),
            "name taken"
        );
        assert_eq!(
            reply(r#"{"error":"invalid_grant"}"#).detail(),
            "invalid_grant"
        );
        assert_eq!(
            reply("<html><body>413</body></html>").detail(),
            "a web page"
        );
    }
}
