//! Signing in to the cozy-stack double through the browser flow (the person at the browser
//! played by `Approver`, which submits the double's authorize page over HTTP), the account
//! kept with no secret in accounts.json, uploads through the accounts service, sign-out
//! unregistering the client, and "signed out → sign in again → stopped uploads restart".

use e2e_tests::conformance::{settings, state_of, test_engine_config, wait_idle};
use e2e_tests::cozy_double::approver::Approver;
use e2e_tests::cozy_double::CozyDouble;
use e2e_tests::harness::{sha256_file, write_file};
use std::sync::Arc;
use std::time::Duration;
use upload_engine::accounts::browser::{BrowserError, BrowserOpener};
use upload_engine::accounts::{AccountKind, AccountStore, Accounts, BrowserSignIn, SignIn};
use upload_engine::targets::twake::{CollisionPolicy, TwakeError};
use upload_engine::targets::HttpSettings;
use upload_engine::{
    ChunkRule, Engine, EngineConfig, EnqueueRequest, FailureKind, FileState, TargetSpec,
};

fn http() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(2),
        network: Default::default(),
    }
}

fn accounts_in(dir: &std::path::Path) -> Arc<Accounts> {
    Accounts::new(AccountStore::at(dir).without_keyring(), http())
}

fn browser_sign_in(double: &CozyDouble, opener: Arc<dyn BrowserOpener>) -> SignIn {
    let mut how = BrowserSignIn::new(&double.url(), opener);
    how.patience = Duration::from_secs(20);
    SignIn::CozyBrowser(how)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sign_in_keeps_no_secret_in_plain_sight_and_uploads_go_through_it() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let approver = Approver::new(&double.config().passphrase);
    let signed = accounts
        .sign_in(browser_sign_in(&double, Arc::new(approver.clone())))
        .await
        .expect("signed in");
    assert_eq!(signed.account.kind, AccountKind::Cozy);
    assert_eq!(signed.account.name, double.addr().to_string());
    let opened = approver.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 1);
    assert!(opened[0].contains("/auth/authorize?") && opened[0].contains("state="));
    let landed = approver.outcome.lock().unwrap().clone().unwrap_or_default();
    assert!(landed.contains("You can close this tab."), "{landed}");
    assert_eq!(double.count(|c| &c.registrations), 1);
    // accounts.json says which instance, never a secret.
    let listed = std::fs::read_to_string(dir.path().join("accounts.json")).unwrap();
    for secret in double.issued_secrets() {
        assert!(!listed.contains(&secret), "a secret is in accounts.json");
    }

    let mut config = test_engine_config();
    config.accounts = Some(accounts.clone());
    let engine = Engine::open(config).await.expect("engine");
    let spec = TargetSpec::Cozy {
        account: signed.account.name.clone(),
        folder: "/From the uploader".into(),
        collision: CollisionPolicy::Version,
    };
    let files = tempfile::tempdir().unwrap();
    let path = write_file(files.path(), "Dossier été/photo.jpg", 200_000, 1);
    let id = engine
        .enqueue(EnqueueRequest {
            path: path.clone(),
            relative_path: Some("Dossier été/photo.jpg".into()),
            target: spec,
            settings: settings(64 * 1024, ChunkRule::Floor),
        })
        .await
        .expect("enqueue");
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(
        double.sha256_of("/From the uploader/Dossier été/photo.jpg"),
        Some(sha256_file(&path))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_unregisters_the_client() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let approver = Approver::new(&double.config().passphrase);
    let signed = accounts
        .sign_in(browser_sign_in(&double, Arc::new(approver)))
        .await
        .expect("signed in");
    assert_eq!(double.clients().len(), 1);
    accounts
        .sign_out(&signed.account.name)
        .await
        .expect("sign out");
    assert!(
        double.clients().is_empty(),
        "the instance forgot the client"
    );
    assert_eq!(double.count(|c| &c.unregistrations), 1);
    assert!(accounts.list().await.unwrap().is_empty());
}

/// An opener that never approves: the page is left open, as a person who walked away.
struct WalkedAway;

impl BrowserOpener for WalkedAway {
    fn open(&self, _url: &str) -> Result<(), BrowserError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_nobody_finishes_times_out_and_leaves_no_client_behind() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let mut how = BrowserSignIn::new(&double.url(), Arc::new(WalkedAway));
    how.patience = Duration::from_millis(300);
    let result = accounts.sign_in(SignIn::CozyBrowser(how)).await;
    assert!(
        matches!(result, Err(TwakeError::Browser(BrowserError::TimedOut(_)))),
        "{result:?}"
    );
    assert!(
        double.clients().is_empty(),
        "the half-made client was unregistered"
    );
    assert!(accounts.list().await.unwrap().is_empty());
}

/// Plays a person on a machine without a browser: they sign in elsewhere and paste the
/// address the browser ended on.
struct PastesBack {
    passphrase: String,
    lines: tokio::sync::mpsc::Sender<String>,
}

impl BrowserOpener for PastesBack {
    fn open(&self, url: &str) -> Result<(), BrowserError> {
        let (url, passphrase, lines) =
            (url.to_string(), self.passphrase.clone(), self.lines.clone());
        tokio::runtime::Handle::current().spawn(async move {
            let location = Approver::redirect_for(&url, &passphrase)
                .await
                .expect("approved");
            // A line of noise first, as people paste: it is ignored.
            let _ = lines.send("not an address".into()).await;
            let _ = lines.send(format!("  {location}  ")).await;
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_redirect_finishes_the_sign_in() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let (lines, pasted) = tokio::sync::mpsc::channel(4);
    let opener = PastesBack {
        passphrase: double.config().passphrase,
        lines,
    };
    let mut how = BrowserSignIn::new(&double.url(), Arc::new(opener));
    how.pasted = Some(pasted);
    how.patience = Duration::from_secs(20);
    let signed = accounts
        .sign_in(SignIn::CozyBrowser(how))
        .await
        .expect("signed in from the pasted address");
    assert_eq!(signed.account.kind, AccountKind::Cozy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_then_signed_in_again_the_stopped_uploads_restart() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let passphrase = double.config().passphrase;
    let signed = accounts
        .sign_in(browser_sign_in(
            &double,
            Arc::new(Approver::new(&passphrase)),
        ))
        .await
        .expect("signed in");
    let mut config: EngineConfig = test_engine_config();
    config.accounts = Some(accounts.clone());
    let engine = Engine::open(config).await.expect("engine");
    // The instance revokes the session (the person removed the device in its settings).
    double.expire_access_tokens();
    double.refuse_refresh(true);
    let files = tempfile::tempdir().unwrap();
    let path = write_file(files.path(), "later.bin", 10_000, 2);
    let spec = TargetSpec::Cozy {
        account: signed.account.name.clone(),
        folder: String::new(),
        collision: CollisionPolicy::Version,
    };
    let id = engine
        .enqueue(EnqueueRequest {
            path: path.clone(),
            relative_path: Some("later.bin".into()),
            target: spec,
            settings: settings(64 * 1024, ChunkRule::Floor),
        })
        .await
        .expect("enqueue");
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed { kind, .. } => assert_eq!(kind, FailureKind::SignedOut),
        other => panic!("expected signed out, got {other:?}"),
    }
    assert!(accounts
        .get(&signed.account.name)
        .await
        .unwrap()
        .signed_out
        .is_some());
    double.refuse_refresh(false);
    accounts
        .sign_in(browser_sign_in(
            &double,
            Arc::new(Approver::new(&passphrase)),
        ))
        .await
        .expect("signed in again");
    let restarted = engine
        .restart_signed_out(&signed.account.name)
        .await
        .expect("restart");
    assert!(restarted <= 1);
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(double.sha256_of("/later.bin"), Some(sha256_file(&path)));
}

/// The folder chooser and `ls` browse a cozy-stack account through the same calls as a tdrive
/// one: folders made in place (a taken name refused, nothing made twice), listings that follow
/// the stack's pages and leave its trash folder out, a missing folder named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cozy_account_is_browsed_and_given_new_folders_like_a_tdrive_one() {
    let double = CozyDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let accounts = accounts_in(dir.path());
    let approver = Approver::new(&double.config().passphrase);
    let name = accounts
        .sign_in(browser_sign_in(&double, Arc::new(approver)))
        .await
        .expect("signed in")
        .account
        .name;

    accounts.make_folder(&name, "", "Reports").await.unwrap();
    let again = accounts.make_folder(&name, "/", "Reports").await;
    assert!(
        matches!(&again, Err(TwakeError::FolderExists { path, .. }) if path == "/Reports"),
        "{again:?}"
    );
    accounts
        .make_folder(&name, "Reports/", "2026")
        .await
        .unwrap();
    // The stack answers a file's name with the same 409 as a folder's: the error says which.
    double.put_file("/Reports/notes.txt", b"minutes");
    let on_file = accounts.make_folder(&name, "/Reports", "notes.txt").await;
    assert!(
        matches!(&on_file, Err(TwakeError::FileExists { path, .. }) if path == "/Reports/notes.txt"),
        "{on_file:?}"
    );
    assert!(on_file
        .unwrap_err()
        .to_string()
        .contains("already a file '/Reports/notes.txt'"));
    // More than one page of the stack's listing (30 a page).
    for i in 0..34 {
        accounts
            .make_folder(&name, "", &format!("f{i:02}"))
            .await
            .unwrap();
    }
    let tree = double.tree();
    assert_eq!(
        tree.iter().filter(|(p, _)| p == "/Reports").count(),
        1,
        "{tree:?}"
    );

    let root = accounts.list_folder(&name, "").await.unwrap();
    assert_eq!(root.len(), 35, "{root:?}");
    assert!(root.iter().all(|e| e.is_folder));
    assert!(!root.iter().any(|e| e.name == ".cozy_trash"), "{root:?}");
    assert_eq!(root[0].name, "f00");
    assert_eq!(root[34].name, "Reports");
    let inside = accounts.list_folder(&name, "/Reports").await.unwrap();
    assert_eq!(
        inside.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["2026", "notes.txt"]
    );
    let missing = accounts.list_folder(&name, "/Nope/deeper").await;
    assert!(
        matches!(&missing, Err(TwakeError::FolderNotFound { path, .. }) if path == "/Nope/deeper"),
        "{missing:?}"
    );
}
