//! The Twake Drive commands against the Twake Drive API double (a real HTTP server with
//! storage): sign in, browse, choose a folder, add a file through the shell's one add path,
//! and find it in the Drive. Accounts and tokens go to a temporary folder with the keyring
//! off, so the tests never touch the developer's own keyring or config.

use super::*;
use crate::settings::{AppSettings, SettingsFile};
use crate::targets::{TargetKind, Targets};
use e2e_tests::twake_double::reader::DriveReader;
use e2e_tests::twake_double::TwakeDouble;
use sha2::{Digest, Sha256};
use std::path::Path;
use upload_engine::accounts::AccountStore;
use upload_engine::{Engine, EngineConfig, FileState};

async fn state_in(dir: &Path) -> AppState {
    let store = AccountStore::at(dir.join("config")).without_keyring();
    let targets = Targets::new(dir.join("received"), 0).with_twake_store(store);
    let engine = Engine::open(EngineConfig {
        accounts: targets.twake.service(),
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    AppState::new(
        engine,
        targets,
        AppSettings {
            chunk_size: Some(64 * 1024),
            ..AppSettings::default()
        },
        SettingsFile {
            path: dir.join("settings.json"),
        },
    )
}

async fn add_and_wait(state: &AppState, path: &Path) -> crate::ipc::AddReport {
    let report = state.add_paths(vec![path.to_path_buf()]).await;
    state.engine.wait_idle().await.unwrap();
    let all = state.engine.snapshot().await.unwrap();
    assert!(all.iter().all(|u| u.state == FileState::Done), "{all:?}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_added_after_choosing_a_drive_folder_arrives_in_that_folder() {
    let double = TwakeDouble::start().await;
    let config = double.config();
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path()).await;

    let account = sign_in(
        &state,
        &double.url(),
        &config.email,
        config.password.clone(),
    )
    .await
    .unwrap();
    assert_eq!(account.email, config.email);
    assert_eq!(account.companies.len(), 1);
    assert_eq!(account.signed_out, None);
    // No keyring in these tests: the dialog is told which file keeps the session.
    let kept = account.session_file.clone().unwrap_or_default();
    assert!(kept.ends_with("secrets.json"), "{kept:?}");

    // A folder in the Drive to choose: uploaded at the root first, as a person's Drive has.
    let root = choose_folder(&state, &account.name, "").unwrap();
    assert_eq!(root.name, "Twake Drive — alice@example.com — My Drive");
    let seed = dir.path().join("Reports");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(seed.join("seed.txt"), b"seed").unwrap();
    add_and_wait(&state, &seed).await;

    let listing = state
        .targets
        .twake
        .folders(&account.name, "")
        .await
        .unwrap();
    assert_eq!(listing.path, "");
    assert_eq!(listing.folders, ["Reports"]);
    let inside = state.targets.twake.folders(&account.name, "Reports").await;
    assert_eq!(
        inside.unwrap().folders,
        Vec::<String>::new(),
        "files are not folders"
    );

    // "New folder…": made in place, listed at once with the file count, never doubled.
    let twake = &state.targets.twake;
    let made = twake
        .create_folder(&account.name, "/Reports", " Q3 ")
        .await
        .unwrap();
    assert_eq!(made.path, "/Reports");
    assert_eq!(made.folders, ["Q3"]);
    assert_eq!(made.files, 1, "seed.txt");
    let again = twake
        .create_folder(&account.name, "/Reports", "Q3")
        .await
        .unwrap_err();
    assert_eq!(
        again.message,
        "There is already a folder Q3 in My Drive › Reports."
    );
    assert_eq!(again.field.as_deref(), Some("name"));
    let bad = twake
        .create_folder(&account.name, "", "a/b")
        .await
        .unwrap_err();
    assert_eq!(bad.field.as_deref(), Some("name"));
    assert_eq!(
        twake.folders(&account.name, "").await.unwrap().folders,
        ["Reports"]
    );

    let chosen = choose_folder(&state, &account.name, "/Reports").unwrap();
    assert_eq!(chosen.kind, TargetKind::TwakeDrive);
    assert_eq!(
        chosen.name,
        "Twake Drive — alice@example.com — My Drive › Reports"
    );
    assert_eq!(chosen.account.as_deref(), Some(account.name.as_str()));
    assert_eq!(state.settings().default_target, chosen.id);

    let file = dir.path().join("q3.bin");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let before = state.engine.snapshot().await.unwrap().len();
    let report = add_and_wait(&state, &file).await;
    assert_eq!(report.added, 1, "{report:?}");
    assert_eq!(report.target, chosen.name);

    // The queue names the target by the label the target list gives it.
    let all = state.engine.snapshot().await.unwrap();
    assert_eq!(all.len(), before + 1);
    let q3 = all.iter().find(|u| u.relative_path == "q3.bin").unwrap();
    assert_eq!(Some(&q3.target), chosen.engine_label.as_ref());
    assert_eq!(double.versions("/Reports/q3.bin"), Some(1));
    let reader = DriveReader::login(&double.url(), &config.email, &config.password).await;
    let want = hex::encode(Sha256::digest(&bytes));
    assert_eq!(reader.sha256("Reports/q3.bin").await, Some(want));

    // The password was used once: neither the account list nor the secrets keep it.
    for name in ["accounts.json", "secrets.json"] {
        let text = std::fs::read_to_string(dir.path().join("config").join(name)).unwrap();
        assert!(
            !text.contains(&config.password),
            "{name} keeps the password"
        );
    }

    // Signing out forgets the account and its folders; new files go to the local server.
    let list = sign_out(&state, &account.name).await.unwrap();
    assert!(list
        .targets
        .iter()
        .all(|t| t.kind != TargetKind::TwakeDrive));
    assert_eq!(list.default_id, crate::targets::LOCAL_ID);
    assert!(state.targets.twake.accounts().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_say_what_went_wrong_and_save_nothing() {
    let double = TwakeDouble::start().await;
    let config = double.config();
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path()).await;

    let e = sign_in(&state, &double.url(), &config.email, "wrong".into())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("refused this email and password (403)"),
        "{e:?}"
    );
    assert!(e.hint.contains("password"), "{e:?}");

    let html = axum::Router::new().fallback(|| async {
        axum::response::Html("<!DOCTYPE html><html><body>Our company</body></html>")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let html_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, html).await });
    let e = sign_in(&state, &html_url, &config.email, config.password.clone())
        .await
        .unwrap_err();
    assert!(e.message.contains("is not a Twake Drive server"), "{e:?}");
    assert!(e.message.contains(&html_url), "{e:?}");
    assert!(e.hint.contains("browser"), "{e:?}");

    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = sign_in(&state, &closed_url, &config.email, config.password.clone())
        .await
        .unwrap_err();
    assert!(e.message.contains("Cannot reach the server"), "{e:?}");
    assert!(e.hint.contains("network"), "{e:?}");

    let e = sign_in(
        &state,
        "drive example com",
        &config.email,
        config.password.clone(),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("is not a server address"), "{e:?}");
    assert!(e.message.contains("host name"), "in words: {e:?}");
    assert!(!e.message.contains("relative URL"), "{e:?}");
    assert!(e.hint.contains("drive.example.com"), "{e:?}");

    assert!(state.targets.twake.accounts().await.unwrap().is_empty());
    assert!(!dir.path().join("config/secrets.json").exists());
    let e = choose_folder(&state, "alice@example.com@nowhere", "").unwrap_err();
    assert!(e.message.contains("Not signed in"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_renewal_shows_signed_out_and_signing_in_again_finishes_the_upload() {
    let double = TwakeDouble::start_with(e2e_tests::twake_double::DoubleConfig {
        access_lifetime: 1,
        ..Default::default()
    })
    .await;
    let config = double.config();
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path()).await;
    let account = sign_in(
        &state,
        &double.url(),
        &config.email,
        config.password.clone(),
    )
    .await
    .unwrap();
    let chosen = choose_folder(&state, &account.name, "").unwrap();
    assert_eq!(chosen.signed_out, None);

    // The access token runs out and the server refuses to renew it (asked again for a
    // moment only, not the minute a restarting server gets).
    if let Some(accounts) = state.targets.twake.service() {
        accounts.set_renewal_patience(std::time::Duration::from_millis(500));
    }
    double.refuse_renewals(true);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let file = dir.path().join("later.txt");
    std::fs::write(&file, b"sent after the second sign-in").unwrap();
    let report = state.add_paths(vec![file]).await;
    assert_eq!(report.added, 1, "{report:?}");
    state.engine.wait_idle().await.unwrap();
    let all = state.engine.snapshot().await.unwrap();
    assert!(
        matches!(&all[0].state, FileState::Failed { reason, .. } if reason.contains("signed out")),
        "{all:?}"
    );
    let list = state.targets.list(&state.settings());
    let shown = list.targets.iter().find(|t| t.id == chosen.id).unwrap();
    assert!(shown.signed_out.is_some(), "{shown:?}");
    assert!(shown.detail.contains("signed out"), "{shown:?}");

    // "Sign in again": the stopped upload continues with the new session and arrives.
    double.refuse_renewals(false);
    let again = sign_in(
        &state,
        &double.url(),
        &config.email,
        config.password.clone(),
    )
    .await
    .unwrap();
    assert_eq!(again.signed_out, None);
    state.engine.wait_idle().await.unwrap();
    let all = state.engine.snapshot().await.unwrap();
    assert_eq!(all[0].state, FileState::Done, "{all:?}");
    assert_eq!(double.versions("/later.txt"), Some(1));
    let list = state.targets.list(&state.settings());
    assert!(list.targets.iter().all(|t| t.signed_out.is_none()));
}

/// A server behind an OpenID provider: "Continue" says "browser", Cancel stops the wait in
/// words, and the browser hook (headless Chromium on the real provider's pages) signs in.
/// One test, since both halves set the process's browser hook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_behind_its_provider_signs_in_through_the_browser_and_cancel_stops_it() {
    use e2e_tests::oidc_provider::{browser_script, OidcProvider, ProviderConfig};
    use e2e_tests::twake_double::{ConsoleMode, DoubleConfig};
    let provider = OidcProvider::start(ProviderConfig::default());
    let double = TwakeDouble::start_with(DoubleConfig {
        console: ConsoleMode::Remote {
            authority: provider.issuer.clone(),
            client_id: provider.config.client_id.clone(),
            jwks_uri: provider.jwks_uri.clone(),
        },
        ..DoubleConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = std::sync::Arc::new(state_in(dir.path()).await);

    let found = state.targets.twake.detect(&double.url()).await.unwrap();
    assert_eq!(found.kind, crate::twake::TwakeSignInKind::Browser);
    assert_eq!(found.server, double.url());

    // A browser that never comes back: Cancel ends the sign-in at once, in words.
    std::env::set_var("TWAKE_UPLOADER_BROWSER", "/bin/true");
    let waiting = tokio::spawn({
        let state = state.clone();
        let server = double.url();
        async move { sign_in_browser(&state, &server).await }
    });
    while !state.targets.twake.is_waiting() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    state.targets.twake.cancel_sign_in();
    let e = waiting.await.unwrap().unwrap_err();
    assert!(e.message.contains("was cancelled"), "{e:?}");
    assert!(state.targets.twake.accounts().await.unwrap().is_empty());

    // The real page in headless Chromium, as the test user.
    std::env::set_var("TWAKE_UPLOADER_BROWSER", browser_script());
    let account = sign_in_browser(&state, &double.url()).await.unwrap();
    assert_eq!(account.email, "alice@example.com");
    assert_eq!(account.server, double.url());
    assert_eq!(state.targets.twake.accounts().await.unwrap().len(), 1);
}
