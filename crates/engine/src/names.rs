//! Which local names can become names on a server, and how to show any name to a person.
//!
//! Servers store names as Unicode text. A name that is not valid UTF-8 cannot be sent as it is,
//! and a lossy conversion would give two different files (`x\xff.txt`, `x\xfe.txt`) the same
//! server name, so that one overwrites the other: such names are refused, naming the file. Control
//! characters are refused too: they would end up raw in a multipart header or on a terminal.

use std::ffi::OsStr;
use std::path::Path;

/// Why a name cannot be uploaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error("its name is not valid UTF-8 text, so no server can store it as it is; rename it")]
    NotUtf8,
    #[error("its name contains the control character {0}; rename it")]
    ControlCharacter(String),
}

/// The name as text a server can store, or why not.
pub fn upload_name(name: &OsStr) -> Result<&str, BadName> {
    let text = name.to_str().ok_or(BadName::NotUtf8)?;
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(BadName::ControlCharacter(format!("U+{:04X}", c as u32))),
        None => Ok(text),
    }
}

/// A path as a person can read it on one line: bytes that are not UTF-8 as `\xFF`, control
/// characters as `\u{7}`, the rest as it is.
pub fn printable(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.push_str(&c.escape_unicode().to_string());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn ordinary_and_accented_names_pass() {
        assert_eq!(upload_name(OsStr::new("été 2026.pdf")), Ok("été 2026.pdf"));
    }

    #[test]
    fn names_that_would_merge_or_break_a_header_are_refused() {
        let ff = OsStr::from_bytes(b"x\xff.txt");
        assert_eq!(upload_name(ff), Err(BadName::NotUtf8));
        let newline = OsStr::new("a\nb.txt");
        assert_eq!(
            upload_name(newline),
            Err(BadName::ControlCharacter("U+000A".into()))
        );
    }

    #[test]
    fn any_path_prints_on_one_readable_line() {
        let p = Path::new(OsStr::from_bytes(b"/tmp/x\xfe.txt"));
        assert_eq!(printable(p), "/tmp/x\\xFE.txt");
        assert_eq!(printable(Path::new("/tmp/a\nb")), "/tmp/a\\u{a}b");
        assert_ne!(
            printable(Path::new(OsStr::from_bytes(b"x\xff"))),
            printable(Path::new(OsStr::from_bytes(b"x\xfe")))
        );
    }
}
