//! Which server is it: the accounts service tells a tdrive server with its own passwords from
//! one whose console is an OpenID provider, from what the server itself publishes, and says
//! clearly when an address is no Twake Drive at all.

use e2e_tests::oidc_provider::{OidcProvider, ProviderConfig};
use e2e_tests::twake_double::conformance::test_http;
use e2e_tests::twake_double::{ConsoleMode, DoubleConfig, TwakeDouble};
use upload_engine::accounts::{AccountStore, Accounts, Provider, ServerKind, SignIn};
use upload_engine::targets::twake::TwakeError;

fn accounts(dir: &std::path::Path) -> std::sync::Arc<Accounts> {
    Accounts::new(AccountStore::at(dir).without_keyring(), test_http())
}

pub async fn remote_double(provider: &OidcProvider) -> TwakeDouble {
    TwakeDouble::start_with(DoubleConfig {
        console: ConsoleMode::Remote {
            authority: provider.issuer.clone(),
            client_id: provider.config.client_id.clone(),
            jwks_uri: provider.jwks_uri.clone(),
        },
        ..DoubleConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_server_with_its_own_passwords_is_told_from_one_with_an_identity_provider() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());

    let internal = TwakeDouble::start().await;
    let found = accounts.detect(&internal.url()).await.unwrap();
    assert_eq!(found.kind, ServerKind::TwakePassword);
    assert_eq!(found.server, internal.url());
    assert_eq!(found.email, None);

    let provider = OidcProvider::start(ProviderConfig::default());
    let remote = remote_double(&provider).await;
    // Typed without the trailing slash the person may add, or with it.
    let found = accounts
        .detect(&format!("{}/", remote.url()))
        .await
        .unwrap();
    assert_eq!(
        found.kind,
        ServerKind::TwakeOidc(Provider {
            authority: provider.issuer.clone(),
            client_id: "tdriveweb".into(),
        })
    );
    assert_eq!(found.server, remote.url());
}

#[tokio::test]
async fn an_address_that_is_no_twake_drive_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    // The Resumable.js receiver answers neither route as a Twake Drive does.
    let receiver = e2e_tests::harness::ReceiverServer::start().await;
    let base = url::Url::parse(&receiver.url())
        .unwrap()
        .origin()
        .ascii_serialization();
    match accounts.detect(&base).await {
        Err(e @ TwakeError::NotTwakeDrive { .. }) => {
            let words = e.to_string();
            assert!(words.contains(&base), "{words}");
            assert!(words.contains("/status"), "{words}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_email_whose_domain_is_no_drive_asks_for_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    // Nothing listens on port 9 of loopback: the domain cannot be the drive.
    match accounts.detect("Alice@127.0.0.1:9").await {
        Err(e @ TwakeError::NoServerForEmail { .. }) => {
            let words = e.to_string();
            assert!(words.contains("alice@127.0.0.1:9"), "{words}");
            assert!(words.contains("type the address"), "{words}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_password_typed_for_a_server_that_signs_in_through_its_provider_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts(dir.path());
    let provider = OidcProvider::start(ProviderConfig::default());
    let remote = remote_double(&provider).await;
    let result = accounts
        .sign_in(SignIn::Password {
            server: remote.url(),
            email: "alice@example.com".into(),
            password: "correct horse battery staple".into(),
            company: None,
        })
        .await;
    match result {
        Err(e @ TwakeError::NeedsBrowser { .. }) => {
            assert!(e.to_string().contains("sign in with the browser"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(accounts.list().await.unwrap().is_empty());
}
