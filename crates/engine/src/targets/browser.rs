//! Signing in through the person's own browser, shared by every server that signs in that
//! way (OAuth 2 and OpenID Connect with a loopback redirect, RFC 8252): a one-shot listener
//! on `127.0.0.1` that catches the redirect and checks its `state`, the same check for a
//! redirect URL pasted back on a machine with no browser, the hook that opens the browser,
//! and the random values the flows need (`state`, the PKCE verifier and its S256 challenge).
//!
//! The password, and any single sign-on in front of it, stay between the browser and the
//! server: the uploader only ever sees the one-time code in the redirect.

use crate::targets::twake::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The path of the redirect the listener answers; anything else gets a 404.
pub const CALLBACK_PATH: &str = "/callback";

/// How long a sign-in waits for the browser unless told otherwise: time to type a password
/// and pass a second factor, not forever.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// The environment variable naming a program called with the URL instead of the browser
/// (tests point it at a driver that approves the page; a person may name their browser).
pub const BROWSER_OVERRIDE_VAR: &str = "TWAKE_UPLOADER_BROWSER";

/// The largest request head read from the browser; a redirect is far smaller.
const MAX_HEAD: usize = 16 * 1024;

#[derive(Clone, Debug, Error)]
pub enum BrowserError {
    #[error("cannot listen on 127.0.0.1 for the sign-in redirect: {0}; check that loopback connections are allowed, or paste the redirect URL instead")]
    Listen(String),
    #[error("no answer from the browser within {} s: sign in again, and finish in the browser before that", .0.as_secs())]
    TimedOut(Duration),
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("the sign-in answer does not belong to this sign-in (its state differs): start the sign-in again from here, not from an old browser tab")]
    WrongState,
    #[error("the server refused the sign-in ({error}{}): sign in again, and approve the access in the browser", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    #[error("the sign-in answer holds no code: {0}; copy the whole address the browser ended on")]
    NoCode(String),
    #[error("cannot open the browser with {program}: {reason}; open the address shown yourself")]
    Open { program: String, reason: String },
}

/// A random `state` for one sign-in: 128 bits, URL-safe.
pub fn random_state() -> String {
    random_token(16)
}

/// A PKCE pair (RFC 7636): the verifier stays here until the token request, the challenge
/// goes into the authorize URL.
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    /// A fresh verifier (43 URL-safe characters from 32 random bytes) and its S256 challenge.
    pub fn new() -> Pkce {
        Pkce::from_verifier(&random_token(32))
    }

    pub fn from_verifier(verifier: &str) -> Pkce {
        Pkce {
            challenge: pkce_challenge(verifier),
            verifier: Secret::new(verifier),
        }
    }

    /// The `code_challenge_method` parameter that goes with `challenge`.
    pub const METHOD: &'static str = "S256";
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// The S256 challenge of a verifier: base64url, unpadded, of its SHA-256.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The code in a redirect's query, once its `state` is the one sent and it is no refusal.
fn code_from_query(query: &str, state: &str) -> Result<String, BrowserError> {
    let mut got_state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "state" => got_state = Some(v.into_owned()),
            "code" => code = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    // A refusal is reported even without a state: some servers leave it out of errors, and
    // nothing is accepted from it anyway.
    if let Some(error) = error {
        if got_state.as_deref().is_none_or(|s| s == state) {
            return Err(BrowserError::Refused { error, description });
        }
    }
    if got_state.as_deref() != Some(state) {
        return Err(BrowserError::WrongState);
    }
    code.filter(|c| !c.is_empty())
        .ok_or_else(|| BrowserError::NoCode("there is no code= in it".into()))
}

/// The code in a redirect URL the person pasted (a machine with no browser: they signed in
/// elsewhere and copied the address the browser ended on, which could not load there).
pub fn parse_pasted_redirect(pasted: &str, state: &str) -> Result<String, BrowserError> {
    let pasted = pasted.trim();
    let url = url::Url::parse(pasted)
        .map_err(|e| BrowserError::NoCode(format!("{pasted:?} is not an address ({e})")))?;
    code_from_query(url.query().unwrap_or(""), state)
}

/// The one-shot loopback listener: bound on `127.0.0.1:0` before the browser opens, so the
/// redirect URI names a port that is already listening.
pub struct Callback {
    listener: TcpListener,
    port: u16,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("port", &self.port)
            .finish()
    }
}

impl Callback {
    pub async fn bind() -> Result<Callback, BrowserError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| BrowserError::Listen(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| BrowserError::Listen(e.to_string()))?
            .port();
        Ok(Callback { listener, port })
    }

    /// `http://127.0.0.1:<port>/callback`, to register and to send as `redirect_uri`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits for the browser's redirect and returns its code. Requests for other paths (a
    /// favicon) are answered 404 and waited past; the first redirect decides, and the page
    /// the browser shows says what happened and that the tab can be closed.
    pub async fn wait(
        self,
        state: &str,
        patience: Duration,
        cancel: CancellationToken,
    ) -> Result<String, BrowserError> {
        let answer = async {
            loop {
                let Ok((stream, _)) = self.listener.accept().await else {
                    continue;
                };
                if let Some(result) = serve_one(stream, state).await {
                    return result;
                }
            }
        };
        tokio::select! {
            result = answer => result,
            _ = cancel.cancelled() => Err(BrowserError::Cancelled),
            _ = tokio::time::sleep(patience) => Err(BrowserError::TimedOut(patience)),
        }
    }
}

/// Answers one connection: `None` when it was not the redirect (keep waiting).
async fn serve_one(mut stream: TcpStream, state: &str) -> Option<Result<String, BrowserError>> {
    let head = read_head(&mut stream).await?;
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("GET "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH {
        let _ = respond(&mut stream, "404 Not Found", "Not found", "").await;
        return None;
    }
    let result = code_from_query(query, state);
    let (title, line) = match &result {
        Ok(_) => (
            "Signed in",
            "Twake Uploader is signed in. You can close this tab.".to_string(),
        ),
        Err(e) => (
            "Not signed in",
            format!("Twake Uploader is not signed in: {e}. You can close this tab."),
        ),
    };
    let _ = respond(&mut stream, "200 OK", title, &line).await;
    Some(result)
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    title: &str,
    line: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{}</p></body></html>",
        html_escape(line)
    );
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Opens an address in a browser. The app and the CLI use [`SystemBrowser`]; tests give a
/// driver that approves the page.
pub trait BrowserOpener: Send + Sync {
    fn open(&self, url: &str) -> Result<(), BrowserError>;
}

/// The person's browser: the program in `$TWAKE_UPLOADER_BROWSER` if set, else the first
/// of `$BROWSER`, else `xdg-open`.
#[derive(Clone, Debug, Default)]
pub struct SystemBrowser;

/// What [`SystemBrowser`] runs, from the two variables' values (kept apart from the
/// environment so it can be tested without changing it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserCommand {
    pub program: PathBuf,
    /// The arguments before the URL; a `%s` in `$BROWSER` is replaced by it instead.
    pub args: Vec<String>,
    pub url_in_args: bool,
}

impl BrowserCommand {
    pub fn choose(override_var: Option<&str>, browser_var: Option<&str>) -> BrowserCommand {
        if let Some(program) = override_var.map(str::trim).filter(|p| !p.is_empty()) {
            return BrowserCommand {
                program: PathBuf::from(program),
                args: Vec::new(),
                url_in_args: false,
            };
        }
        // `$BROWSER` is a colon-separated list of commands; `%s` marks where the URL goes.
        let first = browser_var
            .and_then(|b| b.split(':').map(str::trim).find(|c| !c.is_empty()))
            .map(str::to_string);
        match first {
            Some(command) => {
                let mut words = command.split_whitespace().map(str::to_string);
                let program = PathBuf::from(words.next().unwrap_or_default());
                let args: Vec<String> = words.collect();
                let url_in_args = args.iter().any(|a| a.contains("%s"));
                BrowserCommand {
                    program,
                    args,
                    url_in_args,
                }
            }
            None => BrowserCommand {
                program: PathBuf::from("xdg-open"),
                args: Vec::new(),
                url_in_args: false,
            },
        }
    }

    fn arguments(&self, url: &str) -> Vec<String> {
        let mut args: Vec<String> = self.args.iter().map(|a| a.replace("%s", url)).collect();
        if !self.url_in_args {
            args.push(url.to_string());
        }
        args
    }

    /// Starts the program with the URL; it is not waited for (a browser may stay open), but
    /// reaped in the background.
    pub fn run(&self, url: &str) -> Result<(), BrowserError> {
        let mut child = std::process::Command::new(&self.program)
            .args(self.arguments(url))
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|e| BrowserError::Open {
                program: self.program.display().to_string(),
                reason: e.to_string(),
            })?;
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(())
    }
}

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), BrowserError> {
        let over = std::env::var(BROWSER_OVERRIDE_VAR).ok();
        let browser = std::env::var("BROWSER").ok();
        BrowserCommand::choose(over.as_deref(), browser.as_deref()).run(url)
    }
}

/// A browser that is never opened: the CLI's `--no-browser`, where the person opens the
/// address shown themselves.
#[derive(Clone, Debug, Default)]
pub struct NoBrowser;

impl BrowserOpener for NoBrowser {
    fn open(&self, _url: &str) -> Result<(), BrowserError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn hit(url: &str) -> (u16, String) {
        let answer = reqwest::get(url).await.expect("the listener answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn the_redirect_gives_its_code_and_a_page_that_says_close_the_tab() {
        let callback = Callback::bind().await.unwrap();
        let uri = callback.redirect_uri();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"));
        let base = uri.trim_end_matches("/callback").to_string();
        let waiting = tokio::spawn(async move {
            callback
                .wait("s1", Duration::from_secs(30), CancellationToken::new())
                .await
        });
        // A favicon request first: answered 404 and not taken for the redirect.
        assert_eq!(hit(&format!("{base}/favicon.ico")).await.0, 404);
        let (status, page) = hit(&format!("{uri}?state=s1&code=abc%2F1")).await;
        assert_eq!(status, 200);
        assert!(page.contains("You can close this tab."), "{page}");
        assert_eq!(waiting.await.unwrap().unwrap(), "abc/1");
    }

    #[tokio::test]
    async fn a_redirect_with_another_state_is_refused() {
        let callback = Callback::bind().await.unwrap();
        let uri = callback.redirect_uri();
        let waiting = tokio::spawn(async move {
            callback
                .wait("mine", Duration::from_secs(30), CancellationToken::new())
                .await
        });
        let (_, page) = hit(&format!("{uri}?state=theirs&code=abc")).await;
        assert!(page.contains("not signed in"), "{page}");
        assert!(matches!(
            waiting.await.unwrap(),
            Err(BrowserError::WrongState)
        ));
    }

    #[tokio::test]
    async fn a_refusal_in_the_redirect_is_a_typed_error() {
        let callback = Callback::bind().await.unwrap();
        let uri = callback.redirect_uri();
        let waiting = tokio::spawn(async move {
            callback
                .wait("s", Duration::from_secs(30), CancellationToken::new())
                .await
        });
        hit(&format!(
            "{uri}?state=s&error=access_denied&error_description=no+thanks"
        ))
        .await;
        match waiting.await.unwrap() {
            Err(BrowserError::Refused { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("no thanks"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn waiting_can_be_cancelled_and_times_out() {
        let callback = Callback::bind().await.unwrap();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let waiting =
            tokio::spawn(async move { callback.wait("s", Duration::from_secs(600), stop).await });
        cancel.cancel();
        assert!(matches!(
            waiting.await.unwrap(),
            Err(BrowserError::Cancelled)
        ));

        let callback = Callback::bind().await.unwrap();
        let result = callback
            .wait("s", Duration::from_millis(20), CancellationToken::new())
            .await;
        assert!(matches!(result, Err(BrowserError::TimedOut(_))));
    }

    #[test]
    fn a_pasted_redirect_is_checked_like_a_caught_one() {
        let url = "http://127.0.0.1:4242/callback?code=c0de&state=st";
        assert_eq!(
            parse_pasted_redirect(&format!("  {url}\n"), "st").unwrap(),
            "c0de"
        );
        assert!(matches!(
            parse_pasted_redirect(url, "other"),
            Err(BrowserError::WrongState)
        ));
        assert!(matches!(
            parse_pasted_redirect("c0de", "st"),
            Err(BrowserError::NoCode(_))
        ));
        assert!(matches!(
            parse_pasted_redirect("http://127.0.0.1:1/callback?state=st", "st"),
            Err(BrowserError::NoCode(_))
        ));
    }

    #[test]
    fn pkce_s256_matches_rfc_7636() {
        // The example of RFC 7636, appendix B.
        let pair = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pair.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = Pkce::new();
        assert_eq!(fresh.verifier.expose().len(), 43);
        assert_ne!(fresh.verifier.expose(), Pkce::new().verifier.expose());
        assert_ne!(random_state(), random_state());
    }

    #[test]
    fn the_override_wins_then_browser_then_xdg_open() {
        let c = BrowserCommand::choose(Some("/opt/driver"), Some("firefox"));
        assert_eq!(c.program, PathBuf::from("/opt/driver"));
        assert_eq!(c.arguments("http://x"), vec!["http://x"]);
        let c = BrowserCommand::choose(None, Some(":chromium --new-window %s:firefox"));
        assert_eq!(c.program, PathBuf::from("chromium"));
        assert_eq!(c.arguments("http://x"), vec!["--new-window", "http://x"]);
        let c = BrowserCommand::choose(Some(" "), None);
        assert_eq!(c.program, PathBuf::from("xdg-open"));
    }

    #[test]
    fn the_opener_runs_the_program_with_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("opened");
        let script = dir.path().join("open.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf %s \"$1\" > {}\n", out.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let command = BrowserCommand::choose(script.to_str(), None);
        command.run("http://127.0.0.1:9/authorize?a=1&b=2").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&out).map_or(true, |s| s.is_empty()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the program never ran"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "http://127.0.0.1:9/authorize?a=1&b=2"
        );
        let missing = BrowserCommand::choose(Some("/nonexistent/browser"), None);
        assert!(matches!(
            missing.run("http://x"),
            Err(BrowserError::Open { .. })
        ));
    }
}
