//! The nine chunk parameters, read in either dialect (`resumableX` or `flowX`) from the
//! query string and/or multipart form fields, and checked for presence and syntax. Plan
//! and limit checks come later; this file only turns strings into typed values.

use std::collections::HashMap;

use crate::rejection::Rejection;
use crate::relpath::RelativePath;

/// Parameters as received, by name. Query string and form fields are merged into one.
pub(crate) type ParamMap = HashMap<String, String>;

/// Name of the header carrying the optional per-chunk checksum (our extension).
pub(crate) const CHECKSUM_HEADER: &str = "x-chunk-sha256";
/// Same checksum as a query or form parameter, for clients that cannot set headers.
const CHECKSUM_PARAM: &str = "chunkSha256";
/// Longest accepted identifier, in bytes: the libraries build it from the relative path.
const MAX_IDENTIFIER_BYTES: usize = 4096;

/// One chunk request's parameters, typed and syntactically valid.
#[derive(Debug, Clone)]
pub(crate) struct ChunkParams {
    pub chunk_number: u64,
    pub chunk_size: u64,
    pub current_chunk_size: u64,
    pub total_size: u64,
    pub total_chunks: u64,
    pub identifier: String,
    /// Where the file goes: the relative path if sent and non-empty, else the file name.
    pub path: RelativePath,
    /// Expected SHA-256 of this chunk's bytes, when the client asked us to verify it.
    pub checksum: Option<[u8; 32]>,
}

/// Why parameters could not be read. `missing` lets a multipart reader tell "not yet
/// seen" (the fields may follow the file part) from "present but wrong".
#[derive(Debug)]
pub(crate) struct ParamError {
    pub missing: bool,
    pub rejection: Rejection,
}

impl From<Rejection> for ParamError {
    fn from(rejection: Rejection) -> Self {
        ParamError {
            missing: false,
            rejection,
        }
    }
}

/// Parses a query string; the first occurrence of a repeated name wins.
pub(crate) fn parse_query(query: Option<&str>) -> ParamMap {
    let mut map = ParamMap::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        map.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

/// Adds a multipart form field. Resumable.js sends each parameter twice (query and form):
/// both copies must agree, or we would not know which one the client meant.
pub(crate) fn merge_field(
    map: &mut ParamMap,
    name: String,
    value: String,
) -> Result<(), Rejection> {
    match map.get(&name) {
        Some(existing) if *existing != value => Err(Rejection::bad_request(
            "param_conflict",
            format!(
                "parameter {name} is sent twice with different values ('{existing}' and '{value}')"
            ),
        )),
        Some(_) => Ok(()),
        None => {
            map.insert(name, value);
            Ok(())
        }
    }
}

/// Finds `resumable{suffix}` or else `flow{suffix}`; returns the name found and its value.
fn lookup<'m>(map: &'m ParamMap, suffix: &str) -> Option<(String, &'m str)> {
    ["resumable", "flow"].iter().find_map(|prefix| {
        let name = format!("{prefix}{suffix}");
        map.get(&name).map(|value| (name, value.as_str()))
    })
}

fn missing(suffix: &str) -> ParamError {
    ParamError {
        missing: true,
        rejection: Rejection::bad_request(
            "missing_param",
            format!("missing parameter resumable{suffix} (or flow{suffix})"),
        ),
    }
}

fn number(map: &ParamMap, suffix: &str) -> Result<u64, ParamError> {
    let (name, value) = lookup(map, suffix).ok_or_else(|| missing(suffix))?;
    // Only plain decimal digits: `+5` or ` 5` would be accepted by `parse` but are not
    // what a well-behaved client sends.
    let parsed = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse::<u64>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        Rejection::bad_request(
            "bad_param",
            format!("parameter {name} must be a whole number of at most 20 digits, got '{value}'"),
        )
        .into()
    })
}

/// Parses a 64-digit hex SHA-256, naming `source` in the refusal.
fn checksum(source: &str, value: &str) -> Result<[u8; 32], Rejection> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(value.trim(), &mut digest).map_err(|_| {
        Rejection::bad_request(
            "bad_param",
            format!("{source} must be 64 hex digits (a SHA-256), got '{value}'"),
        )
    })?;
    Ok(digest)
}

/// Checks an identifier: opaque to us, but it names a folder key and shows up in logs.
pub(crate) fn validate_identifier(name: &str, value: &str) -> Result<(), Rejection> {
    let why = if value.is_empty() {
        "is empty".to_owned()
    } else if value.len() > MAX_IDENTIFIER_BYTES {
        format!("is longer than {MAX_IDENTIFIER_BYTES} bytes")
    } else if value.chars().any(char::is_control) {
        "contains a control character".to_owned()
    } else {
        return Ok(());
    };
    Err(Rejection::bad_request(
        "bad_identifier",
        format!("parameter {name} {why}"),
    ))
}

impl ChunkParams {
    /// Reads the parameters from `map`, plus the checksum header if the client sent one.
    /// Every missing parameter is reported before any malformed one, so a multipart
    /// reader can wait for fields that come after the file part.
    pub fn parse(map: &ParamMap, checksum_header: Option<&str>) -> Result<Self, ParamError> {
        for suffix in [
            "ChunkNumber",
            "ChunkSize",
            "CurrentChunkSize",
            "TotalSize",
            "TotalChunks",
            "Identifier",
        ] {
            if lookup(map, suffix).is_none() {
                return Err(missing(suffix));
            }
        }
        let relative = lookup(map, "RelativePath").filter(|(_, value)| !value.is_empty());
        let file_name = lookup(map, "Filename");
        if relative.is_none() && file_name.is_none() {
            return Err(missing("RelativePath"));
        }

        let chunk_number = number(map, "ChunkNumber")?;
        let chunk_size = number(map, "ChunkSize")?;
        let current_chunk_size = number(map, "CurrentChunkSize")?;
        let total_size = number(map, "TotalSize")?;
        let total_chunks = number(map, "TotalChunks")?;

        let (id_name, identifier) =
            lookup(map, "Identifier").ok_or_else(|| missing("Identifier"))?;
        validate_identifier(&id_name, identifier)?;

        // The file name is checked even when a relative path is used: a client that sends
        // a NUL in either is broken, and saying so is better than storing half of it.
        if let Some((name, value)) = &file_name {
            RelativePath::parse_file_name(name, value)?;
        }
        let path = match (relative, file_name) {
            (Some((name, value)), _) => RelativePath::parse(&name, value)?,
            (None, Some((name, value))) => RelativePath::parse_file_name(&name, value)?,
            (None, None) => return Err(missing("RelativePath")),
        };

        let from_param = map
            .get(CHECKSUM_PARAM)
            .map(|value| checksum(&format!("parameter {CHECKSUM_PARAM}"), value))
            .transpose()?;
        let from_header = checksum_header
            .map(|value| checksum("header X-Chunk-Sha256", value))
            .transpose()?;
        let checksum = match (from_param, from_header) {
            (Some(a), Some(b)) if a != b => {
                return Err(Rejection::bad_request(
                    "param_conflict",
                    "header X-Chunk-Sha256 and parameter chunkSha256 disagree",
                )
                .into())
            }
            (a, b) => a.or(b),
        };

        Ok(ChunkParams {
            chunk_number,
            chunk_size,
            current_chunk_size,
            total_size,
            total_chunks,
            identifier: identifier.to_owned(),
            path,
            checksum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ParamMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resumable() -> ParamMap {
        map(&[
            ("resumableChunkNumber", "2"),
            ("resumableChunkSize", "10"),
            ("resumableCurrentChunkSize", "15"),
            ("resumableTotalSize", "25"),
            ("resumableType", ""),
            ("resumableIdentifier", "25-ab"),
            ("resumableFilename", "b.txt"),
            ("resumableRelativePath", "a/b.txt"),
            ("resumableTotalChunks", "2"),
        ])
    }

    #[test]
    fn reads_the_resumable_dialect() {
        let params = ChunkParams::parse(&resumable(), None).unwrap();
        assert_eq!(params.chunk_number, 2);
        assert_eq!(params.current_chunk_size, 15);
        assert_eq!(params.path.as_str(), "a/b.txt");
        assert_eq!(params.identifier, "25-ab");
    }

    #[test]
    fn reads_the_flow_dialect() {
        let flow: ParamMap = resumable()
            .into_iter()
            .filter(|(k, _)| k != "resumableType")
            .map(|(k, v)| (k.replace("resumable", "flow"), v))
            .collect();
        let params = ChunkParams::parse(&flow, None).unwrap();
        assert_eq!(params.total_chunks, 2);
        assert_eq!(params.path.as_str(), "a/b.txt");
    }

    #[test]
    fn falls_back_to_the_file_name_without_a_relative_path() {
        let mut m = resumable();
        m.insert("resumableRelativePath".into(), String::new());
        assert_eq!(ChunkParams::parse(&m, None).unwrap().path.as_str(), "b.txt");
    }

    #[test]
    fn reports_missing_before_malformed() {
        let mut m = resumable();
        m.insert("resumableChunkNumber".into(), "x".into());
        m.remove("resumableTotalChunks");
        let err = ChunkParams::parse(&m, None).unwrap_err();
        assert!(err.missing);
        assert!(err.rejection.reason.contains("resumableTotalChunks"));
    }

    #[test]
    fn refuses_non_numeric_values_naming_the_parameter() {
        for bad in ["x", "", "-1", "+1", "1.5", "99999999999999999999999"] {
            let mut m = resumable();
            m.insert("resumableTotalSize".into(), bad.into());
            let err = ChunkParams::parse(&m, None).unwrap_err();
            assert!(!err.missing);
            assert_eq!(err.rejection.code, "bad_param");
            assert!(err.rejection.reason.contains("resumableTotalSize"));
        }
    }

    #[test]
    fn reads_the_checksum_from_header_or_parameter() {
        let hex64 = "ab".repeat(32);
        let params = ChunkParams::parse(&resumable(), Some(&hex64)).unwrap();
        assert_eq!(params.checksum, Some([0xab; 32]));
        let mut m = resumable();
        m.insert("chunkSha256".into(), hex64.clone());
        assert_eq!(
            ChunkParams::parse(&m, None).unwrap().checksum,
            Some([0xab; 32])
        );
        assert!(ChunkParams::parse(&m, Some(&"cd".repeat(32))).is_err());
        assert!(ChunkParams::parse(&resumable(), Some("xyz")).is_err());
    }

    #[test]
    fn merging_the_same_value_twice_is_fine_but_different_values_conflict() {
        let mut m = resumable();
        merge_field(&mut m, "resumableChunkNumber".into(), "2".into()).unwrap();
        let err = merge_field(&mut m, "resumableChunkNumber".into(), "3".into()).unwrap_err();
        assert_eq!(err.code, "param_conflict");
    }

    #[test]
    fn refuses_empty_or_control_character_identifiers() {
        let mut m = resumable();
        m.insert("resumableIdentifier".into(), String::new());
        assert!(ChunkParams::parse(&m, None).is_err());
        m.insert("resumableIdentifier".into(), "a\u{1}".into());
        assert!(ChunkParams::parse(&m, None).is_err());
    }

    #[test]
    fn the_first_repeated_query_parameter_wins() {
        let m = parse_query(Some("a=1&a=2&b=%2Fx"));
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "/x");
    }
}
