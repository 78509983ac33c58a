//! Public read links to uploaded files, made as Twake Drive's web client makes them: the
//! item's `access_info.public.level` is set to `read` with the item update route, the server
//! keeps (or makes) the item's public token, and the link is the web client's shared page
//! `{server}/shared/{company}/drive/{item}/t/{token}`, with both ids in the client's short
//! form. Whoever opens it gets the file without an account (docs/protocol.md).

use super::api;
use super::error::TwakeError;
use super::session::Session;
use serde_json::{json, Value};

/// The alphabet of the web client's short ids (the "Flickr" base 58: no 0, O, I or l).
const ALPHABET: &[u8; 58] = b"123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
/// Every short id has this many characters: shorter numbers are padded with the alphabet's
/// first character, as the web client does.
const SHORT_LEN: usize = 22;

/// The web client's short form of a UUID (its 128 bits written in base 58), or `None` for a
/// string that is not a UUID.
pub fn short_id(uuid: &str) -> Option<String> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || uuid.len() != 36 {
        return None;
    }
    let mut n = u128::from_str_radix(&hex, 16).ok()?;
    let mut digits = Vec::with_capacity(SHORT_LEN);
    while n > 0 {
        digits.push(ALPHABET[(n % 58) as usize]);
        n /= 58;
    }
    digits.resize(SHORT_LEN.max(digits.len()), ALPHABET[0]);
    digits.reverse();
    String::from_utf8(digits).ok()
}

/// The UUID a short id stands for (what the web client does when the link is opened).
pub fn long_id(short: &str) -> Option<String> {
    let mut n: u128 = 0;
    for c in short.bytes() {
        let digit = ALPHABET.iter().position(|a| *a == c)? as u128;
        n = n.checked_mul(58)?.checked_add(digit)?;
    }
    let hex = format!("{n:032x}");
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The shared page of item `item_id` of company `company_id` with public token `token`.
pub fn link(server: &str, company_id: &str, item_id: &str, token: &str) -> Option<String> {
    Some(format!(
        "{}/shared/{}/drive/{}/t/{token}",
        server.trim_end_matches('/'),
        short_id(company_id)?,
        short_id(item_id)?
    ))
}

/// Opens item `item_id` to anyone with its link, read only (a level it already has above
/// read is kept), and answers the link.
pub async fn make_public(
    session: &Session,
    company_id: &str,
    item_id: &str,
) -> Result<String, TwakeError> {
    let path = api::item(company_id, item_id);
    let details: Value = session.get_json(&path).await?;
    let mut access = details
        .pointer("/item/access_info")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let level = access
        .pointer("/public/level")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if level == "none" {
        // Everything else of the access (who else may see it, a password, an expiry) stays
        // as it is: only the public level changes.
        if !access.get("public").is_some_and(Value::is_object) {
            access["public"] = json!({});
        }
        access["public"]["level"] = json!("read");
    }
    let updated: Value = session
        .post_json(&path, &json!({ "access_info": access }))
        .await?;
    let token = updated
        .pointer("/access_info/public/token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    let no_link = |reason: &str| TwakeError::Server {
        url: session.url(&path),
        status: 200,
        message: format!("no share link could be made: {reason}"),
        retry_after: None,
    };
    let token = token.ok_or_else(|| no_link("the server gave the item no public token"))?;
    link(session.server(), company_id, item_id, token)
        .ok_or_else(|| no_link("the server's ids are not the UUIDs its web client links to"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by the web client's own library (short-uuid 4) for these UUIDs.
    const KNOWN: [(&str, &str); 4] = [
        (
            "d7f5d0a0-8d3b-11ee-9a4c-0242ac120002",
            "sEJ6WuNzBGpUKTjed2BwNo",
        ),
        (
            "00000000-0000-0000-0000-000000000001",
            "1111111111111111111112",
        ),
        (
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "xBuEXKpA6iqZQK5Kf2TnkV",
        ),
        (
            "00000000-0000-1000-8000-000000000000",
            "111111111U9imsFssej1R7",
        ),
    ];

    #[test]
    fn short_ids_are_the_web_clients() {
        for (uuid, short) in KNOWN {
            assert_eq!(short_id(uuid).as_deref(), Some(short), "{uuid}");
            assert_eq!(long_id(short).as_deref(), Some(uuid), "{short}");
        }
    }

    #[test]
    fn only_uuids_have_a_short_form() {
        for not_uuid in [
            "",
            "user_1",
            "doc-000001",
            "d7f5d0a08d3b11ee9a4c0242ac120002",
        ] {
            assert_eq!(short_id(not_uuid), None, "{not_uuid}");
        }
        assert_eq!(long_id("0OIl"), None, "letters outside the alphabet");
    }

    #[test]
    fn the_link_is_the_shared_page_of_the_web_client() {
        let url = link(
            "https://drive.example.com/",
            "00000000-0000-0000-0000-000000000001",
            "d7f5d0a0-8d3b-11ee-9a4c-0242ac120002",
            "abc123",
        );
        assert_eq!(
            url.as_deref(),
            Some(
                "https://drive.example.com/shared/1111111111111111111112/drive/\
                 sEJ6WuNzBGpUKTjed2BwNo/t/abc123"
            )
        );
    }
}
