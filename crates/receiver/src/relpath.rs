//! Client-supplied names made safe to use as paths under the storage folder. Everything a
//! browser sends is untrusted, so a path that is absolute, climbs out with `..`, hides
//! control characters or would land in the receiver's own state folder is refused here.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;

/// The receiver's own state folder inside the storage folder; uploads may not write there.
pub(crate) const STATE_DIR_NAME: &str = ".resumable";

/// Longest accepted relative path, in bytes (Linux's PATH_MAX).
const MAX_PATH_BYTES: usize = 4096;
/// Longest accepted single name, in bytes (NAME_MAX on common filesystems).
const MAX_NAME_BYTES: usize = 255;

/// A relative path with `/` separators whose every part is a plain name: joining it onto
/// the storage folder can only ever point inside that folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct RelativePath(String);

impl RelativePath {
    /// Validates `value`, the content of parameter `param` (named in the refusal).
    pub fn parse(param: &str, value: &str) -> Result<Self, Rejection> {
        let refuse =
            |why: String| Rejection::bad_request("bad_path", format!("parameter {param} {why}"));
        if value.is_empty() {
            return Err(refuse("is empty".into()));
        }
        if value.len() > MAX_PATH_BYTES {
            return Err(refuse(format!(
                "is {} bytes long, more than {MAX_PATH_BYTES}",
                value.len()
            )));
        }
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(refuse(format!(
                "contains the control character U+{:04X}",
                u32::from(c)
            )));
        }
        if value.starts_with('/') {
            return Err(refuse(format!(
                "'{value}' is absolute; send a path relative to the uploaded folder"
            )));
        }
        if value.contains('\\') {
            return Err(refuse(format!(
                "'{value}' contains a backslash; separate folders with /"
            )));
        }
        for (index, part) in value.split('/').enumerate() {
            match part {
                "" => {
                    return Err(refuse(format!(
                        "'{value}' has an empty name between slashes or at its end"
                    )))
                }
                "." | ".." => {
                    return Err(refuse(format!(
                        "'{value}' contains '{part}'; paths may not climb or refer to themselves"
                    )))
                }
                STATE_DIR_NAME if index == 0 => {
                    return Err(refuse(format!(
                        "'{value}' points into the receiver's own folder {STATE_DIR_NAME}"
                    )))
                }
                _ if part.len() > MAX_NAME_BYTES => {
                    return Err(refuse(format!(
                        "'{value}' has a name longer than {MAX_NAME_BYTES} bytes"
                    )))
                }
                _ => {}
            }
        }
        // Catches what the textual checks cannot see on this platform (a Windows drive
        // prefix such as `C:`): every component must be a plain name.
        if !Path::new(value)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(refuse(format!("'{value}' is not a plain relative path")));
        }
        Ok(RelativePath(value.to_owned()))
    }

    /// Validates a single file name (no folders), from parameter `param`.
    pub fn parse_file_name(param: &str, value: &str) -> Result<Self, Rejection> {
        if value.contains('/') {
            return Err(Rejection::bad_request(
                "bad_path",
                format!("parameter {param} '{value}' contains '/'; a file name has no folders"),
            ));
        }
        Self::parse(param, value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plain names, outermost folder first, file name last.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

/// Read back from the receiver's own records, re-checked all the same: a record edited by
/// hand must not become a way out of the storage folder.
impl TryFrom<String> for RelativePath {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        RelativePath::parse("path", &value).map_err(|rejection| rejection.reason)
    }
}

impl From<RelativePath> for String {
    fn from(path: RelativePath) -> String {
        path.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: &str) -> bool {
        RelativePath::parse("resumableRelativePath", value).is_err()
    }

    #[test]
    fn plain_nested_paths_are_accepted() {
        let path = RelativePath::parse("p", "photos/2024/a b.jpg").unwrap();
        assert_eq!(
            path.parts().collect::<Vec<_>>(),
            ["photos", "2024", "a b.jpg"]
        );
    }

    #[test]
    fn names_starting_with_dots_are_fine_when_they_are_not_dot_or_dot_dot() {
        assert!(!refused(".bashrc"));
        assert!(!refused("a/..b"));
    }

    #[test]
    fn climbing_absolute_and_empty_paths_are_refused() {
        for value in [
            "",
            "../x",
            "a/../../b",
            "a/..",
            "/etc/passwd",
            "./a",
            "a//b",
            "a/",
        ] {
            assert!(refused(value), "{value:?} should be refused");
        }
    }

    #[test]
    fn control_characters_and_backslashes_are_refused() {
        assert!(refused("a\0b"));
        assert!(refused("a\nb"));
        assert!(refused("a\u{7f}b"));
        assert!(refused("..\\..\\x"));
    }

    #[test]
    fn the_receivers_state_folder_is_out_of_reach() {
        assert!(refused(".resumable/abc/1"));
        assert!(!refused("x/.resumable"));
    }

    #[test]
    fn overlong_names_are_refused() {
        assert!(refused(&"a".repeat(256)));
        assert!(!refused(&"a".repeat(255)));
    }

    #[test]
    fn a_file_name_may_not_hold_folders() {
        assert!(RelativePath::parse_file_name("resumableFilename", "a/b").is_err());
        assert!(RelativePath::parse_file_name("resumableFilename", "b.txt").is_ok());
    }

    #[test]
    fn the_refusal_names_the_parameter() {
        let err = RelativePath::parse("flowRelativePath", "../x").unwrap_err();
        assert!(err.reason.contains("flowRelativePath"), "{}", err.reason);
    }
}
