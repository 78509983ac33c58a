//! A string that must never be shown: access and refresh tokens. Its `Debug` and `Display`
//! print a placeholder, so a token cannot leak through a log line, an event or an error by
//! accident; the value is read only where it goes on the wire or into the secret store.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the `Authorization` header and the secret store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("eyJhbGciOi.secret.value");
        assert!(!format!("{s:?}").contains("secret.value"));
        assert!(!format!("{s}").contains("secret.value"));
        assert_eq!(s.expose(), "eyJhbGciOi.secret.value");
    }
}
