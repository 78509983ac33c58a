//! How every target reaches its server: the one place an HTTP client is built. Certificates
//! are checked against the system's trusted authorities (the OS store, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set), plus an optional extra authority file for a company or
//! self-signed one. Mozilla's list built into the program is used only on a system that has
//! no store at all (a bare container), so an authority the system removed stays removed.
//! Proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
//! lower case too), or from a manual proxy setting, which replaces them.

use super::http::{parse_http_url, redact_url};
use super::twake::secret::Secret;
use super::HttpSettings;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// An authority file larger than this is not a certificate file (the whole Mozilla list is
/// about 250 KiB).
const MAX_CA_FILE: u64 = 8 * 1024 * 1024;

/// Where certificates and proxies come from besides the system's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkSettings {
    /// A PEM file of extra certificate authorities to trust, beside the system's.
    pub ca_file: Option<PathBuf>,
    /// A proxy for every request instead of the environment's.
    pub proxy: Option<ManualProxy>,
}

/// A proxy given by hand: its address without credentials, and the credentials apart, so the
/// password is never part of a URL that could be shown or stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ManualProxy {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// Why no HTTP client could be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(
        "cannot read the certificate authority file {path}: {reason}; give a readable PEM \
         file (--ca-cert FILE, or the Settings field), or remove the setting"
    )]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "the proxy address {url} cannot be used: {reason}; give it as http://host:port (the \
         user name and password go in their own fields)"
    )]
    Proxy { url: String, reason: String },
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

impl NetworkSettings {
    /// Checks the settings without building a client: the authority file reads as at least
    /// one certificate, the proxy address parses.
    pub fn check(&self) -> Result<(), NetworkError> {
        if let Some(path) = &self.ca_file {
            read_authorities(path)?;
        }
        if let Some(proxy) = &self.proxy {
            proxy.to_reqwest()?;
        }
        Ok(())
    }
}

impl ManualProxy {
    /// The proxy's address as it may be shown: credentials never appear.
    pub fn shown(&self) -> String {
        let url = redact_url(&self.url);
        match &self.user {
            Some(user) => format!("{url} (as {user})"),
            None => url,
        }
    }

    fn to_reqwest(&self) -> Result<reqwest::Proxy, NetworkError> {
        let refused = |reason: String| NetworkError::Proxy {
            url: redact_url(&self.url),
            reason,
        };
        let url = parse_http_url(&self.url).map_err(refused)?;
        let mut proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| refused(e.to_string()))?;
        if let Some(user) = self.user.as_deref().filter(|u| !u.is_empty()) {
            let password = self.password.as_ref().map_or("", |p| p.expose());
            proxy = proxy.basic_auth(user, password);
        }
        // NO_PROXY keeps its meaning with a manual proxy: the hosts it names are reached
        // directly.
        Ok(proxy.no_proxy(reqwest::NoProxy::from_env()))
    }
}

/// The HTTP client every target uses: timeouts, our user agent, the trusted authorities and
/// the proxy of `http`, and the target's own redirect policy.
pub fn http_client(
    http: &HttpSettings,
    redirect: reqwest::redirect::Policy,
) -> Result<reqwest::Client, NetworkError> {
    let network = &http.network;
    let mut builder = reqwest::Client::builder()
        .connect_timeout(http.connect_timeout)
        .user_agent(concat!("twake-uploader/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .tls_built_in_native_certs(true)
        .tls_built_in_webpki_certs(!system_has_authorities());
    if let Some(path) = &network.ca_file {
        for certificate in read_authorities(path)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let Some(proxy) = &network.proxy {
        builder = builder.proxy(proxy.to_reqwest()?);
    }
    builder.build().map_err(|e| match &network.ca_file {
        // The certificates parsed as PEM; what is left to fail is one of them.
        Some(path) => NetworkError::CaFile {
            path: path.clone(),
            reason: format!("a certificate in it is not valid ({e})"),
        },
        None => NetworkError::Client(e.to_string()),
    })
}

/// The keyring service the account tokens use too; one entry per proxy and user.
const KEYRING_SERVICE: &str = "twake-uploader";

fn proxy_entry(url: &str, user: &str) -> Option<keyring::Entry> {
    keyring::Entry::new(
        KEYRING_SERVICE,
        &format!("proxy {user}@{}", redact_url(url)),
    )
    .ok()
}

/// Keeps a proxy password in the OS keyring. There is no file fallback for it: without a
/// keyring the error says so, and the environment (`HTTPS_PROXY=http://user:pass@host`,
/// or `TWAKE_UPLOADER_PROXY_PASSWORD`) is the way. Blocking.
pub fn save_proxy_password(url: &str, user: &str, password: &Secret) -> Result<(), String> {
    let entry = proxy_entry(url, user).ok_or("no OS keyring is reachable")?;
    entry
        .set_password(password.expose())
        .map_err(|e| format!("the OS keyring refused it: {e}"))
}

/// The proxy password saved for `user` at `url`, if the keyring has one. Blocking.
pub fn load_proxy_password(url: &str, user: &str) -> Option<Secret> {
    proxy_entry(url, user)?.get_password().ok().map(Secret::new)
}

/// Forgets a saved proxy password. Blocking.
pub fn delete_proxy_password(url: &str, user: &str) {
    if let Some(entry) = proxy_entry(url, user) {
        let _ = entry.delete_credential();
    }
}

/// Whether the system has a store of trusted authorities; asked once per process.
fn system_has_authorities() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| !rustls_native_certs::load_native_certs().certs.is_empty())
}

/// The certificates of a PEM authority file: at least one, or an error naming the file.
fn read_authorities(path: &Path) -> Result<Vec<reqwest::Certificate>, NetworkError> {
    let error = |reason: String| NetworkError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| error(e.to_string()))?
        .len();
    if size > MAX_CA_FILE {
        return Err(error(format!(
            "it is {size} bytes long, too long for a certificate file"
        )));
    }
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(error(
            "it holds no certificate (a PEM file has -----BEGIN CERTIFICATE----- lines)".into(),
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_authority_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = NetworkSettings {
            ca_file: Some(dir.path().join("nope.pem")),
            proxy: None,
        };
        let e = missing.check().unwrap_err().to_string();
        assert!(e.contains("nope.pem") && e.contains("--ca-cert"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = NetworkSettings {
            ca_file: Some(empty),
            proxy: None,
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no certificate"),
            "{e}"
        );
    }

    #[test]
    fn a_proxy_password_is_never_shown() {
        let proxy = ManualProxy {
            url: "http://proxy.corp:3128".into(),
            user: Some("alice".into()),
            password: Some(Secret::new("hunter2")),
        };
        assert!(!format!("{proxy:?} {}", proxy.shown()).contains("hunter2"));
        let in_url = ManualProxy {
            url: "http://alice:hunter2@proxy.corp:3128".into(),
            user: None,
            password: None,
        };
        let e = NetworkSettings {
            ca_file: None,
            proxy: Some(in_url),
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(!e.contains("hunter2") && e.contains("own fields"), "{e}");
    }
}
