//! A real OpenID provider for the sign-in tests: `tests/oidc/provider.mjs` (the npm package
//! `oidc-provider`, installed by `make oidc-deps`) started on 127.0.0.1 with a port the system
//! picks, and the headless-Chromium "browser" (`tests/oidc/browser.mjs`) that the
//! `TWAKE_UPLOADER_BROWSER` hook points at to sign in through its pages.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Who signs in, and how the provider is set up.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub client_id: String,
    pub email: String,
    pub password: String,
    /// Lifetime of the ID tokens it issues, in seconds.
    pub id_token_ttl: u64,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            client_id: "tdriveweb".into(),
            email: "alice@example.com".into(),
            password: "correct horse battery staple".into(),
            id_token_ttl: 3600,
        }
    }
}

/// The folder of the node package (`tests/oidc`).
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// The script the `TWAKE_UPLOADER_BROWSER` hook runs in tests (it takes the URL to open).
pub fn browser_script() -> PathBuf {
    package_dir().join("browser.mjs")
}

fn require_packages() {
    let installed = package_dir().join("node_modules").join("oidc-provider");
    assert!(
        installed.exists(),
        "the OpenID provider's packages are missing in {}: run `make oidc-deps`",
        package_dir().display()
    );
}

pub struct OidcProvider {
    child: Child,
    /// Held open: the provider exits when its stdin closes, so a test that dies leaves no node.
    _stdin: ChildStdin,
    /// Held open too: a closed stdout would fail the provider's next write.
    _stdout: BufReader<ChildStdout>,
    pub issuer: String,
    pub jwks_uri: String,
    pub config: ProviderConfig,
}

impl OidcProvider {
    pub fn start(config: ProviderConfig) -> OidcProvider {
        require_packages();
        let mut child = Command::new("node")
            .arg(package_dir().join("provider.mjs"))
            .args(["--client-id", &config.client_id])
            .args(["--email", &config.email])
            .args(["--password", &config.password])
            .args(["--id-token-ttl", &config.id_token_ttl.to_string()])
            .current_dir(package_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node, to run the OpenID provider (`make deps`)");
        let stdin = child.stdin.take().expect("provider stdin");
        let stdout = child.stdout.take().expect("provider stdout");
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout
            .read_line(&mut line)
            .expect("the provider's first line");
        let said: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!("the OpenID provider did not start ({e}): it said {line:?}");
        });
        let text = |k: &str| said[k].as_str().expect("provider address").to_string();
        let provider = OidcProvider {
            child,
            _stdin: stdin,
            _stdout: stdout,
            issuer: text("issuer"),
            jwks_uri: text("jwks_uri"),
            config,
        };
        eprintln!("OpenID provider listening at {}", provider.issuer);
        provider
    }

    /// The environment that makes a process's "open the browser" sign in through this
    /// provider's pages in headless Chromium, as this provider's test user.
    pub fn browser_env(&self) -> Vec<(String, String)> {
        browser_env(&self.config.email, &self.config.password)
    }
}

/// The hook's environment for any sign-in page that asks for `login` and `password`.
pub fn browser_env(login: &str, password: &str) -> Vec<(String, String)> {
    vec![
        (
            "TWAKE_UPLOADER_BROWSER".into(),
            browser_script().display().to_string(),
        ),
        ("TWAKE_TEST_LOGIN".into(), login.into()),
        ("TWAKE_TEST_PASSWORD".into(), password.into()),
    ]
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
