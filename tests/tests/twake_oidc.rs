//! Signing in to a tdrive server whose console is an OpenID provider: a real provider
//! (`oidc-provider`, tests/oidc) and a real browser (headless Chromium) typing the test user's
//! password on the provider's page; the engine catches the code on loopback with PKCE, and the
//! double checks the ID token against the provider's keys as tdrive does.

use e2e_tests::oidc_browser::ChromiumOpener;
use e2e_tests::oidc_provider::{self, OidcProvider, ProviderConfig};
use e2e_tests::twake_double::conformance::test_http;
use e2e_tests::twake_double::{ConsoleMode, DoubleConfig, TwakeDouble};
use e2e_tests::twake_harness::{cli, text};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use upload_engine::accounts::browser::NoBrowser;
use upload_engine::accounts::{AccountStore, Accounts, BrowserSteps, SignIn};
use upload_engine::targets::twake::TwakeError;

const REMOTE_COMPANY: &str = "00000000-0000-4000-0000-000000000000";

fn accounts(dir: &std::path::Path) -> Arc<Accounts> {
    Accounts::new(AccountStore::at(dir).without_keyring(), test_http())
}

async fn remote_double(provider: &OidcProvider, clock_offset: i64) -> TwakeDouble {
    TwakeDouble::start_with(DoubleConfig {
        console: ConsoleMode::Remote {
            authority: provider.issuer.clone(),
            client_id: provider.config.client_id.clone(),
            jwks_uri: provider.jwks_uri.clone(),
        },
        clock_offset,
        ..DoubleConfig::default()
    })
    .await
}

fn steps(opener: Arc<dyn upload_engine::accounts::browser::BrowserOpener>) -> BrowserSteps {
    BrowserSteps {
        opener,
        on_url: Box::new(|_| {}),
        pasted: None,
        cancel: CancellationToken::new(),
        patience: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn signs_in_through_the_provider_page_in_a_browser_and_gets_a_tdrive_session() {
    let provider = OidcProvider::start(ProviderConfig::default());
    let double = remote_double(&provider, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    let browser = ChromiumOpener::new(&provider.config.email, &provider.config.password);
    let seen = Arc::new(Mutex::new(String::new()));
    let mut how = steps(Arc::new(browser.clone()));
    let keep = seen.clone();
    how.on_url = Box::new(move |u| *keep.lock().unwrap() = u.to_string());

    let signed = accounts
        .sign_in(SignIn::TwakeBrowser {
            server: double.url(),
            company: None,
            steps: how,
        })
        .await
        .expect("signed in through the browser");
    assert!(
        browser.all_approved(),
        "Chromium reached the loopback callback"
    );

    // The page opened was the provider's, for this client, with PKCE S256.
    let opened = url::Url::parse(&seen.lock().unwrap()).unwrap();
    assert!(opened.as_str().starts_with(&provider.issuer), "{opened}");
    let q: std::collections::HashMap<_, _> = opened.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "tdriveweb");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));

    // The server made the account from the token, in the one company remote mode has.
    let account = &signed.account;
    assert_eq!(account.email, "alice@example.com");
    assert_eq!(account.company_id, REMOTE_COMPANY);
    assert_eq!(double.user_emails(), vec!["alice@example.com".to_string()]);
    assert_eq!(double.count(|c| &c.oidc_logins), 1);
    assert_eq!(double.count(|c| &c.refused_oidc_tokens), 0);

    // From here on it is the usual tdrive session: renewed by the server, used for the Drive.
    let (_, session) = accounts.session(&account.name).await.unwrap();
    let me = session.me().await.unwrap();
    assert_eq!(me.id, "user-1");
    let (_, generation) = session.bearer().await.unwrap();
    session
        .renew(generation)
        .await
        .expect("the tdrive session renews");
    assert_eq!(double.count(|c| &c.renewals), 1);
    let drive = accounts.drive(&account.name).await.unwrap();
    drive.new_folder("", "From the browser").await.unwrap();
    assert!(double
        .tree()
        .iter()
        .any(|(p, dir, _)| p == "/From the browser" && *dir));
    // No provider token and no tdrive token in the account list.
    let listed = std::fs::read_to_string(dir.path().join("accounts.json")).unwrap();
    for token in double.issued_tokens() {
        assert!(!listed.contains(&token));
    }
}

#[tokio::test]
async fn cancelling_stops_the_loopback_listener_and_signs_nobody_in() {
    let provider = OidcProvider::start(ProviderConfig::default());
    let double = remote_double(&provider, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    let cancel = CancellationToken::new();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel::<String>();
    let url_tx = Mutex::new(Some(url_tx));
    let mut how = steps(Arc::new(NoBrowser));
    how.cancel = cancel.clone();
    how.on_url = Box::new(move |u| {
        if let Some(tx) = url_tx.lock().unwrap().take() {
            let _ = tx.send(u.to_string());
        }
    });
    let signing = tokio::spawn({
        let accounts = accounts.clone();
        let server = double.url();
        async move {
            accounts
                .sign_in(SignIn::TwakeBrowser {
                    server,
                    company: None,
                    steps: how,
                })
                .await
        }
    });
    let opened = url::Url::parse(&url_rx.await.unwrap()).unwrap();
    let redirect = opened
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| url::Url::parse(&v).unwrap())
        .unwrap();
    let port = redirect.port().unwrap();
    // Listening while it waits.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    cancel.cancel();
    match signing.await.unwrap() {
        Err(e @ TwakeError::SignInCancelled { .. }) => {
            assert!(e.to_string().contains(&double.url()), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the listener is closed once cancelled"
    );
    assert!(accounts.list().await.unwrap().is_empty());
    assert_eq!(double.count(|c| &c.logins), 0);
}

#[tokio::test]
async fn an_id_token_the_server_finds_expired_is_refused_in_words() {
    let provider = OidcProvider::start(ProviderConfig {
        id_token_ttl: 600,
        ..ProviderConfig::default()
    });
    // The server's clock is two hours ahead: the ten-minute token is expired on arrival.
    let double = remote_double(&provider, 7200).await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    let browser = ChromiumOpener::new(&provider.config.email, &provider.config.password);
    let result = accounts
        .sign_in(SignIn::TwakeBrowser {
            server: double.url(),
            company: None,
            steps: steps(Arc::new(browser.clone())),
        })
        .await;
    assert!(browser.all_approved());
    match result {
        Err(e @ TwakeError::ProviderTokenRefused { .. }) => {
            let words = e.to_string();
            assert!(words.contains(&double.url()), "{words}");
            assert!(words.contains("expired"), "{words}");
            assert!(words.contains("administrator"), "{words}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(double.count(|c| &c.refused_oidc_tokens), 1);
    assert!(accounts.list().await.unwrap().is_empty());
}

/// `twake-upload login ADDRESS` in the CLI, with the browser hook on headless Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_signs_in_through_the_browser_hook() {
    let provider = OidcProvider::start(ProviderConfig::default());
    let double = remote_double(&provider, 0).await;
    let config = tempfile::tempdir().unwrap();
    let mut login = cli(config.path());
    login
        .args(["login", &double.url()])
        .envs(provider.browser_env());
    let out = tokio::task::spawn_blocking(move || login.output().unwrap())
        .await
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&provider.issuer),
        "the URL to open is printed: {said}"
    );
    assert!(said.contains("Signed in to"), "{said}");
    assert!(said.contains("alice@example.com"), "{said}");
    let whoami = cli(config.path()).arg("whoami").output().unwrap();
    assert!(
        text(&whoami).contains("alice@example.com"),
        "{}",
        text(&whoami)
    );
}

/// On a machine with no browser: the person opens the printed address elsewhere, and pastes
/// back the address the browser ended on (which could not load there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_the_redirect_pasted_back() {
    let provider = OidcProvider::start(ProviderConfig::default());
    let double = remote_double(&provider, 0).await;
    let config = tempfile::tempdir().unwrap();
    let mut child = cli(config.path())
        .args(["login", &double.url(), "--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let issuer = provider.issuer.clone();
    let env = provider.browser_env();
    let done = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let url = loop {
            let line = lines.next().expect("the CLI prints the address").unwrap();
            printed.push(line.clone());
            if let Some(at) = line.find(&issuer) {
                break line[at..].trim().to_string();
            }
        };
        // "Another machine": the driver's callback cannot load, so it prints the address.
        let elsewhere = std::process::Command::new("node")
            .arg(oidc_provider::browser_script())
            .arg(&url)
            .envs(env)
            .env("TWAKE_TEST_BROWSER_UNREACHABLE_CALLBACK", "1")
            .output()
            .unwrap();
        assert!(elsewhere.status.success(), "{}", text(&elsewhere));
        let ended_on = String::from_utf8_lossy(&elsewhere.stdout)
            .trim()
            .to_string();
        assert!(ended_on.contains("code="), "{ended_on}");
        writeln!(stdin, "{ended_on}").unwrap();
        drop(stdin);
        printed.extend(lines.map_while(Result::ok));
        printed.join("\n")
    });
    let printed = done.await.unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{printed}\n{err}");
    assert!(
        printed.contains("paste"),
        "says how to paste back: {printed}"
    );
    assert!(printed.contains("Signed in to"), "{printed}");
    assert_eq!(double.count(|c| &c.oidc_logins), 1);
}
