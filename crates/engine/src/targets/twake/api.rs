//! The Twake Drive routes this target uses (docs/protocol.md), as typed requests and answers,
//! and the one place that turns an HTTP answer into a value or a `TwakeError`. Nothing here
//! knows about tokens: `session.rs` adds the bearer header.

use super::error::TwakeError;
use super::secret::Secret;
use crate::error::ChunkError;
use crate::protocol::parse_retry_after;
use crate::targets::http::{
    content_type, header, looks_like_html, read_capped, CappedBody, MAX_ANSWER_BYTES,
};
use serde::{Deserialize, Serialize};

pub const LOGIN: &str = "/internal/services/console/v1/login";
pub const TOKEN: &str = "/internal/services/console/v1/token";
pub const USERS_ME: &str = "/internal/services/users/v1/users/me";

/// Routes under one company.
pub fn files(cid: &str) -> String {
    format!("/internal/services/files/v1/companies/{cid}/files")
}
pub fn file(cid: &str, id: &str) -> String {
    format!("{}/{id}", files(cid))
}
pub fn items(cid: &str) -> String {
    format!("/internal/services/documents/v1/companies/{cid}/item")
}
pub fn item(cid: &str, id: &str) -> String {
    format!("{}/{id}", items(cid))
}
/// Body of `POST …/item/{id}`: renames an item and/or moves it to another folder.
#[derive(Debug, serde::Serialize)]
pub struct UpdateItem<'a> {
    pub name: &'a str,
    pub parent_id: &'a str,
}

pub fn browse(cid: &str, id: &str) -> String {
    format!("/internal/services/documents/v1/companies/{cid}/browse/{id}")
}

/// `POST …/login` body. Debug is by hand: the password must never be printed.
#[derive(Serialize)]
pub struct LoginRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
}

impl std::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"***")
            .finish()
    }
}

/// Answer of login and token renewal.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    pub access_token: AccessToken,
}

/// Times are unix seconds of the server's clock.
#[derive(Clone, Debug, Deserialize)]
pub struct AccessToken {
    /// The server's clock when it answered: corrects our clock's skew.
    pub time: i64,
    pub expiration: i64,
    pub refresh_expiration: i64,
    pub value: Secret,
    pub refresh: Secret,
}

#[derive(Debug, Deserialize)]
pub struct UserAnswer {
    pub resource: User,
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub companies: Vec<CompanyRole>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CompanyRole {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub company: Company,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Company {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FileAnswer {
    pub resource: FileResource,
}

#[derive(Debug, Deserialize)]
pub struct FileResource {
    pub id: String,
}

/// A Drive item (file or folder).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DriveItem {
    pub id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub is_directory: bool,
    #[serde(default)]
    pub is_in_trash: bool,
    #[serde(default)]
    pub size: Option<u64>,
    /// The current version of a file item: which uploaded file it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_version_cache: Option<VersionCache>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct VersionCache {
    #[serde(default)]
    pub file_metadata: Option<VersionFile>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct VersionFile {
    /// The files service's id of the uploaded file.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl DriveItem {
    /// The uploaded file the item's current version points at.
    pub fn current_file(&self) -> Option<&str> {
        self.last_version_cache
            .as_ref()?
            .file_metadata
            .as_ref()?
            .external_id
            .as_deref()
    }
}

/// `GET …/item/{id}` and `POST …/browse/{id}`.
#[derive(Debug, Deserialize)]
pub struct ItemDetails {
    #[serde(default)]
    pub item: Option<DriveItem>,
    #[serde(default)]
    pub children: Vec<DriveItem>,
    #[serde(default)]
    pub access: Option<String>,
}

/// Body of `POST …/item`.
#[derive(Debug, Serialize)]
pub struct CreateItem<'a> {
    pub item: NewItem<'a>,
    pub version: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct NewItem<'a> {
    pub parent_id: &'a str,
    pub name: &'a str,
    pub is_directory: bool,
    pub company_id: &'a str,
    /// Set for a new top folder, built in the trash and restored once complete.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_in_trash: bool,
}

/// A version pointing at an uploaded file: the body of `POST …/item/{id}/version` and the
/// `version` of a new file item.
#[derive(Debug, Serialize)]
pub struct NewVersion<'a> {
    pub provider: &'static str,
    pub file_metadata: FileMetadata<'a>,
}

#[derive(Debug, Serialize)]
pub struct FileMetadata<'a> {
    pub source: &'static str,
    pub external_id: &'a str,
    pub name: &'a str,
    pub mime: &'a str,
    pub size: u64,
}

impl<'a> NewVersion<'a> {
    pub fn internal(file_id: &'a str, name: &'a str, mime: &'a str, size: u64) -> Self {
        NewVersion {
            provider: "internal",
            file_metadata: FileMetadata {
                source: "internal",
                external_id: file_id,
                name,
                mime,
                size,
            },
        }
    }
}

/// Which kind of route answered, so a 403 can be told apart (sign-in, or write access).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    Login,
    Other,
}

/// An HTTP answer read in full (answers of these routes are small JSON documents).
pub struct Answer {
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<std::time::Duration>,
    /// Where a redirect (one that was not followed: to another origin) pointed.
    pub location: Option<String>,
    pub body: String,
    /// The body went on past the cap of `http::read_capped`; `body` is then empty.
    pub too_long: bool,
}

impl Answer {
    pub async fn read(resp: reqwest::Response) -> Result<Answer, reqwest::Error> {
        let url = without_query(resp.url());
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let retry_after = header(&resp, reqwest::header::RETRY_AFTER)
            .as_deref()
            .and_then(parse_retry_after);
        let location = header(&resp, reqwest::header::LOCATION);
        let (body, too_long) = match read_capped(resp).await? {
            CappedBody::Text(text) => (text, false),
            CappedBody::TooLong => (String::new(), true),
        };
        Ok(Answer {
            url,
            status,
            content_type,
            retry_after,
            location,
            body,
            too_long,
        })
    }

    pub fn looks_like_html(&self) -> bool {
        looks_like_html(&self.content_type, &self.body)
    }

    /// The error of an answer that is not one (too long, or a redirect not followed), if any.
    fn not_an_answer(&self) -> Option<TwakeError> {
        if (300..400).contains(&self.status) {
            return Some(TwakeError::RedirectedAway {
                url: self.url.clone(),
                to: self.location.clone().unwrap_or_else(|| "?".into()),
            });
        }
        self.too_long.then(|| TwakeError::Server {
            url: self.url.clone(),
            status: 502,
            message: format!(
                "its answer went on past {} KiB, which no Twake Drive answer does",
                MAX_ANSWER_BYTES / 1024
            ),
            retry_after: None,
        })
    }

    /// The JSON document of a 2xx answer, or the error it stands for.
    pub fn json<T: serde::de::DeserializeOwned>(
        self,
        server: &str,
        kind: RouteKind,
    ) -> Result<T, TwakeError> {
        if !(200..300).contains(&self.status) || self.too_long {
            return Err(self.error(server, kind));
        }
        if self.looks_like_html() {
            return Err(TwakeError::NotTwakeDrive {
                url: self.url,
                what: "it answered an HTML page".into(),
            });
        }
        serde_json::from_str(&self.body).map_err(|e| TwakeError::NotTwakeDrive {
            url: self.url.clone(),
            what: format!("unexpected answer: {e}"),
        })
    }

    /// Checks a 2xx answer whose body does not matter.
    pub fn ok(self, server: &str) -> Result<(), TwakeError> {
        if (200..300).contains(&self.status) && !self.too_long {
            Ok(())
        } else {
            Err(self.error(server, RouteKind::Other))
        }
    }

    /// The error a non-2xx answer stands for. 401 is handled by the session before this.
    pub fn error(self, server: &str, kind: RouteKind) -> TwakeError {
        if let Some(e) = self.not_an_answer() {
            return e;
        }
        let message = ChunkError::summarize_body(&self.body);
        let lower = message.to_ascii_lowercase();
        if self.looks_like_html() || (self.status == 404 && kind == RouteKind::Login) {
            return TwakeError::NotTwakeDrive {
                url: self.url,
                what: if self.status == 404 {
                    "the sign-in route answered 404".into()
                } else {
                    format!("it answered {} with an HTML page", self.status)
                },
            };
        }
        if self.status == 403 && kind == RouteKind::Login {
            return TwakeError::WrongCredentials {
                server: server.to_string(),
            };
        }
        if self.status == 413 && !is_quota(&lower) {
            return TwakeError::TooLarge {
                url: self.url,
                bytes: 0,
            };
        }
        if (400..500).contains(&self.status) && is_quota(&lower) {
            return TwakeError::QuotaExceeded {
                server: server.to_string(),
                message,
            };
        }
        TwakeError::Server {
            url: self.url,
            status: self.status,
            message,
            retry_after: self.retry_after,
        }
    }
}

fn is_quota(lower_message: &str) -> bool {
    ["quota", "not enough space", "storage limit", "no space"]
        .iter()
        .any(|w| lower_message.contains(w))
}

/// A URL without its query string, for messages (queries carry file names, never tokens,
/// but they are long and say nothing to the reader).
pub fn without_query(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            url: "http://h/x".into(),
            status,
            content_type: String::new(),
            retry_after: None,
            location: None,
            body: body.into(),
            too_long: false,
        }
    }

    #[test]
    fn a_403_on_login_means_wrong_credentials() {
        let e = answer(403, r#"{"message":"Forbidden"}"#).error("http://h", RouteKind::Login);
        assert!(matches!(e, TwakeError::WrongCredentials { .. }), "{e:?}");
    }

    #[test]
    fn an_html_answer_means_not_twake_drive() {
        let e = answer(200, "<!DOCTYPE html><html></html>")
            .json::<UserAnswer>("http://h", RouteKind::Other)
            .unwrap_err();
        assert!(matches!(e, TwakeError::NotTwakeDrive { .. }), "{e:?}");
    }

    #[test]
    fn a_quota_message_is_recognised() {
        let e = answer(403, r#"{"message":"Quota exceeded: not enough space"}"#)
            .error("http://h", RouteKind::Other);
        assert!(matches!(e, TwakeError::QuotaExceeded { .. }), "{e:?}");
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let r = LoginRequest {
            email: "a@b",
            password: "hunter2",
        };
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
