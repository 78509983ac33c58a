//! Twake Drive accounts in the app, as the UI sees them: the dialog's sign-in, the company
//! choice, the folder chooser's listings, sign-out. The work is the engine's accounts service
//! (`upload_engine::accounts`), shared with the engine and with the CLI's store, so an account
//! signed in with `twake-upload login` shows here too; this module turns its answers and
//! errors into the UI's types and words.

use crate::ipc::UserError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use ts_rs::TS;
use upload_engine::accounts::{
    Account, AccountKind, AccountStore, Accounts, BrowserSteps, SecretsLocation, ServerKind,
    SignIn, SignedIn,
};
use upload_engine::targets::network::NetworkSettings;
use upload_engine::targets::twake::{api::Company, CollisionPolicy, TwakeError};
use upload_engine::targets::HttpSettings;
use upload_engine::TargetSpec;

/// A signed-in account as the UI shows it (no secret in here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TwakeAccountInfo {
    /// `email@server-host`: the id of the account in every other Twake command.
    pub name: String,
    pub server: String,
    pub email: String,
    pub company_id: String,
    /// The companies the person belongs to; more than one means a choice to offer.
    pub companies: Vec<TwakeCompany>,
    /// Why the session ended (a refused renewal): the person must sign in again.
    pub signed_out: Option<String>,
    /// Set by a sign-in when no keyring was reachable: the file (readable only by the user)
    /// the session went to instead, which the dialog names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub session_file: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TwakeCompany {
    pub id: String,
    /// The company's name, or its id when the server gives none.
    pub name: String,
}

/// How a server signs people in, as the dialog's next step needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TwakeSignInKind {
    /// The tdrive backend with its own passwords: the email and password form.
    Password,
    /// The tdrive backend behind its organisation's identity provider: the browser.
    Browser,
    /// Twake Drive on cozy-stack: OAuth with the stack, in the browser.
    Cozy,
}

/// What "Continue" found at the address the person typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TwakeServer {
    /// The server's address as the account will keep it.
    pub server: String,
    pub kind: TwakeSignInKind,
    /// The email, when one was typed instead of an address.
    pub email: Option<String>,
}

/// The folders inside one Drive folder, for the folder chooser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TwakeFolders {
    /// The folder listed, from My Drive's root: "" for the root, "/Reports/2026" below it.
    pub path: String,
    /// Names of its sub-folders (trashed ones left out), sorted.
    pub folders: Vec<String>,
    /// How many files (not trashed) it holds, so an empty list can say "3 files, no folders".
    pub files: u32,
}

impl From<&Account> for TwakeAccountInfo {
    fn from(a: &Account) -> TwakeAccountInfo {
        TwakeAccountInfo {
            name: a.name.clone(),
            server: a.server.clone(),
            email: a.email.clone(),
            company_id: a.company_id.clone(),
            companies: a.companies.iter().map(company).collect(),
            signed_out: a.signed_out.clone(),
            session_file: None,
        }
    }
}

/// A new sign-in as the dialog shows it, with where the session went.
fn shown(signed: SignedIn) -> TwakeAccountInfo {
    let mut info = TwakeAccountInfo::from(&signed.account);
    if let SecretsLocation::File { path, .. } = signed.kept {
        info.session_file = Some(path.display().to_string());
    }
    info
}

fn company(c: &Company) -> TwakeCompany {
    TwakeCompany {
        id: c.id.clone(),
        name: c.name.clone().unwrap_or_else(|| c.id.clone()),
    }
}

/// A Drive path in normal form: "" for the root, else "/a/b" (the engine's, for both servers).
pub use upload_engine::targets::twake::drive::normal_path as normal_folder;

/// How a Drive folder reads in menus: "My Drive" for the root, "My Drive › Reports" below.
pub fn shown_folder(folder: &str) -> String {
    let mut words = String::from("My Drive");
    for part in normal_folder(folder).split('/').filter(|p| !p.is_empty()) {
        words.push_str(" › ");
        words.push_str(part);
    }
    words
}

/// What the engine uploads to for `account`'s `folder`, by the kind of Twake Drive the
/// account is on.
pub fn spec(account: &str, folder: &str, kind: AccountKind) -> TargetSpec {
    let (account, folder) = (account.to_string(), normal_folder(folder));
    let collision = CollisionPolicy::default();
    match kind {
        AccountKind::Tdrive => TargetSpec::Twake {
            account,
            folder,
            collision,
        },
        AccountKind::Cozy => TargetSpec::Cozy {
            account,
            folder,
            collision,
        },
    }
}

/// Turns the engine's typed errors into words, each with the action to take.
pub fn user_error(e: TwakeError) -> UserError {
    use TwakeError as E;
    match e {
        E::WrongCredentials { server } => UserError::new(
            format!("{server} refused this email and password (403)."),
            "Check the email and the password (it is case-sensitive), then sign in again.",
        )
        .on_field("password"),
        E::Unreachable { server, reason } => UserError::new(
            format!("Cannot reach the server {server} ({reason})."),
            "Check the server address and your network connection, then try again.",
        )
        .on_field("server"),
        E::Untrusted { server, reason } => UserError::new(
            format!("The certificate of {server} is not trusted by this system ({reason})."),
            "If your organisation uses its own certificate authority, choose its certificate \
             file in Settings (Extra certificate authority) or add it to the system's trusted \
             certificates; otherwise check the address.",
        )
        .on_field("server"),
        E::RedirectedAway { url, to } => UserError::new(
            format!("{url} sent the sign-in to another server ({to}); nothing was sent there."),
            "Use the address of the Twake Drive server itself.",
        )
        .on_field("server"),
        E::NotTwakeDrive { url, what } => UserError::new(
            format!("{url} is not a Twake Drive server ({what})."),
            "Use the address you open Twake Drive at in a browser, like https://drive.example.com.",
        )
        .on_field("server"),
        E::BadServerUrl { url, reason } => UserError::new(
            format!("'{url}' is not a server address: {reason}."),
            "Type the address you open Twake Drive at, like drive.example.com.",
        )
        .on_field("server"),
        E::SignedOut {
            server, account, ..
        } => UserError::new(
            format!(
                "Signed out of {server} as {}.",
                crate::targets::account_email(&account)
            ),
            "Sign in again; the queued uploads are kept and continue after that.",
        ),
        E::NotSignedIn { account } => UserError::new(
            format!(
                "Not signed in to Twake Drive as {}.",
                crate::targets::account_email(&account)
            ),
            "Choose \"Sign in to Twake Drive…\" in the Upload to menu.",
        ),
        E::FolderNotFound { server, path } => UserError::new(
            format!(
                "There is no Drive folder {} on {server}.",
                shown_folder(&path)
            ),
            "Choose another folder; it may have been moved or deleted.",
        ),
        E::NotInCompany { account, .. } => UserError::new(
            format!("{account} is not in that company."),
            "Choose one of the companies listed.",
        ),
        E::NoCompany { server, account } => UserError::new(
            format!(
                "{} belongs to no company on {server}.",
                crate::targets::account_email(&account)
            ),
            "Ask the Twake Drive administrator to add you to a company.",
        ),
        E::NoServerForEmail { email, .. } => UserError::new(
            format!("Cannot tell from {email} where its Twake Drive is."),
            "Type the address you open Twake Drive at in a browser, like drive.example.com.",
        )
        .on_field("server"),
        E::NeedsBrowser { server } => UserError::new(
            format!("{server} signs you in through your organisation's sign-in page."),
            "Sign in with the browser: type the address again and press Continue.",
        )
        .on_field("server"),
        E::NeedsPassword { server } => UserError::new(
            format!("{server} signs you in with an email and password."),
            "Type the address again and press Continue for the password form.",
        )
        .on_field("server"),
        E::SignInCancelled { server } => UserError::new(
            format!("The sign-in to {server} was cancelled."),
            "Press Continue to start it again.",
        ),
        E::BrowserFlow { server, reason } => UserError::new(
            format!("The sign-in to {server} in the browser did not finish: {reason}."),
            "Press Continue to start again, and finish the sign-in in the browser window.",
        ),
        E::Provider {
            server,
            url,
            reason,
        } => UserError::new(
            format!("The sign-in service {url} of {server} {reason}."),
            "Try again later; if it keeps failing, tell the server's administrator.",
        ),
        E::ProviderTokenRefused {
            server, message, ..
        } => UserError::new(
            format!("{server} did not accept the sign-in from its identity provider ({message})."),
            "Sign in again; if it keeps failing, its administrator should check the server's \
             OpenID settings.",
        ),
        E::Config { path, reason } => UserError::new(
            format!(
                "Cannot use the account settings in {}: {reason}.",
                path.display()
            ),
            "Check that your configuration folder is writable, then sign in again.",
        ),
        other => UserError::new(
            other.to_string(),
            "Try again; if it keeps failing, sign out and sign in again.",
        ),
    }
}

/// The engine's accounts service, or why there is none (no config folder: no HOME).
pub struct TwakeAccounts {
    service: Result<Arc<Accounts>, TwakeError>,
    /// The Cancel of the browser sign-in in progress, if one is.
    waiting: std::sync::Mutex<Option<(u64, tokio_util::sync::CancellationToken)>>,
    /// Numbers the browser sign-ins, so one ending clears only its own Cancel.
    sign_ins: std::sync::atomic::AtomicU64,
}

fn http(network: NetworkSettings) -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(10),
        stall_timeout: Duration::from_secs(30),
        network,
    }
}

impl TwakeAccounts {
    /// The store the CLI uses too (`$TWAKE_UPLOADER_CONFIG_DIR`, else XDG config).
    /// Sign-ins and listings go through `network` (trusted authorities, proxy), like uploads.
    pub fn default_store(network: NetworkSettings) -> TwakeAccounts {
        TwakeAccounts {
            service: Accounts::open_default(http(network)),
            waiting: Default::default(),
            sign_ins: Default::default(),
        }
    }

    /// A given store (tests: a temporary folder without the keyring).
    pub fn with_store(store: AccountStore) -> TwakeAccounts {
        TwakeAccounts {
            service: Ok(Accounts::new(store, http(NetworkSettings::default()))),
            waiting: Default::default(),
            sign_ins: Default::default(),
        }
    }

    /// The service, for the engine's config (one service for the engine and the dialogs).
    pub fn service(&self) -> Option<Arc<Accounts>> {
        self.service.as_ref().ok().cloned()
    }

    fn live(&self) -> Result<&Arc<Accounts>, UserError> {
        self.service.as_ref().map_err(|e| user_error(e.clone()))
    }

    /// Signs in and saves the account with its first company (see `choose_company`); the
    /// engine restarts the uploads a sign-out stopped. The password goes to the token
    /// request only and is dropped.
    pub async fn sign_in(
        &self,
        server: &str,
        email: &str,
        password: String,
    ) -> Result<TwakeAccountInfo, UserError> {
        let email = email.trim();
        if email.is_empty() || password.is_empty() {
            return Err(UserError::new(
                "The email or the password is empty.",
                "Type both to sign in.",
            ));
        }
        let signed = self
            .live()?
            .sign_in(SignIn::Password {
                server: server.to_string(),
                email: email.to_string(),
                password,
                company: None,
            })
            .await
            .map_err(user_error)?;
        Ok(shown(signed))
    }

    /// Which kind of server is at `typed` (an address, or an email whose domain serves it).
    pub async fn detect(&self, typed: &str) -> Result<TwakeServer, UserError> {
        let found = self.live()?.detect(typed).await.map_err(user_error)?;
        Ok(TwakeServer {
            server: found.server,
            kind: match found.kind {
                ServerKind::TwakePassword => TwakeSignInKind::Password,
                ServerKind::TwakeOidc(_) => TwakeSignInKind::Browser,
                ServerKind::Cozy => TwakeSignInKind::Cozy,
            },
            email: found.email,
        })
    }

    /// Signs in through the browser (the system's, or `$TWAKE_UPLOADER_BROWSER`) and waits
    /// until the person is done there or presses Cancel (`cancel_sign_in`). A second one
    /// cancels the first.
    pub async fn sign_in_browser(&self, server: &str) -> Result<TwakeAccountInfo, UserError> {
        let steps = BrowserSteps::system();
        let mine = self
            .sign_ins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut waiting) = self.waiting.lock() {
            if let Some((_, before)) = waiting.replace((mine, steps.cancel.clone())) {
                before.cancel();
            }
        }
        let signed = self
            .live()?
            .sign_in(SignIn::TwakeBrowser {
                server: server.to_string(),
                company: None,
                steps,
            })
            .await;
        if let Ok(mut waiting) = self.waiting.lock() {
            if waiting.as_ref().is_some_and(|(n, _)| *n == mine) {
                *waiting = None;
            }
        }
        Ok(shown(signed.map_err(user_error)?))
    }

    /// True while a browser sign-in waits for the person.
    pub fn is_waiting(&self) -> bool {
        self.waiting.lock().is_ok_and(|w| w.is_some())
    }

    /// Stops the browser sign-in in progress: its loopback listener closes at once.
    pub fn cancel_sign_in(&self) {
        if let Some((_, waiting)) = self.waiting.lock().ok().and_then(|mut w| w.take()) {
            waiting.cancel();
        }
    }

    /// Uploads of account `name` go to company `company_id` from now on.
    pub async fn choose_company(
        &self,
        name: &str,
        company_id: &str,
    ) -> Result<TwakeAccountInfo, UserError> {
        let account = self
            .live()?
            .choose_company(name, company_id)
            .await
            .map_err(user_error)?;
        Ok(TwakeAccountInfo::from(&account))
    }

    /// The signed-in accounts (read from the store, so a sign-out the engine recorded shows).
    pub async fn accounts(&self) -> Result<Vec<TwakeAccountInfo>, UserError> {
        let all = self.live()?.list().await.map_err(user_error)?;
        Ok(all.iter().map(TwakeAccountInfo::from).collect())
    }

    /// The same, read on the caller's thread: a small file, for the target menu.
    pub fn accounts_now(&self) -> Vec<Account> {
        match &self.service {
            Ok(service) => service.list_now(),
            Err(_) => Vec::new(),
        }
    }

    /// Forgets the account and its tokens.
    pub async fn sign_out(&self, name: &str) -> Result<(), UserError> {
        self.live()?.sign_out(name).await.map_err(user_error)?;
        Ok(())
    }

    /// The sub-folders of Drive folder `path` of account `name` (read only: creates nothing),
    /// on either kind of Twake Drive.
    pub async fn folders(&self, name: &str, path: &str) -> Result<TwakeFolders, UserError> {
        let entries = self
            .live()?
            .list_folder(name, path)
            .await
            .map_err(user_error)?;
        let files = entries.iter().filter(|e| !e.is_folder).count();
        let folders: Vec<String> = entries
            .into_iter()
            .filter(|e| e.is_folder)
            .map(|e| e.name)
            .collect();
        Ok(TwakeFolders {
            path: normal_folder(path),
            folders,
            files: u32::try_from(files).unwrap_or(u32::MAX),
        })
    }

    /// Creates the folder `name` inside `parent` and lists `parent` again, so the chooser
    /// shows the new folder at once.
    pub async fn create_folder(
        &self,
        account_name: &str,
        parent: &str,
        name: &str,
    ) -> Result<TwakeFolders, UserError> {
        let name = name.trim();
        if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
            return Err(UserError::new(
                "A folder name cannot be empty or hold a '/'.",
                "Type another name.",
            )
            .on_field("name"));
        }
        let parent = normal_folder(parent);
        let made = self.live()?.make_folder(account_name, &parent, name).await;
        made.map_err(|e| match e {
            TwakeError::FolderExists { .. } => UserError::new(
                format!(
                    "There is already a folder {name} in {}.",
                    shown_folder(&parent)
                ),
                "Open it, or choose another name.",
            )
            .on_field("name"),
            TwakeError::FileExists { .. } => UserError::new(
                format!(
                    "There is already a file {name} in {}.",
                    shown_folder(&parent)
                ),
                "Choose another name for the folder.",
            )
            .on_field("name"),
            other => user_error(other),
        })?;
        self.folders(account_name, &parent).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_read_the_same_however_they_are_typed() {
        assert_eq!(normal_folder(""), "");
        assert_eq!(normal_folder("/"), "");
        assert_eq!(normal_folder("Reports/2026/"), "/Reports/2026");
        assert_eq!(shown_folder(""), "My Drive");
        assert_eq!(shown_folder("/Reports/2026"), "My Drive › Reports › 2026");
    }

    #[test]
    fn each_sign_in_error_says_what_to_do() {
        let e = user_error(TwakeError::WrongCredentials {
            server: "https://d.example".into(),
        });
        assert!(e.message.contains("https://d.example"), "{e:?}");
        assert!(e.hint.contains("password"), "{e:?}");
        let e = user_error(TwakeError::NotTwakeDrive {
            url: "http://x".into(),
            what: "an HTML page".into(),
        });
        assert!(e.message.contains("not a Twake Drive server"), "{e:?}");
        let e = user_error(TwakeError::BadServerUrl {
            url: "ftp:/x".into(),
            reason: "unsupported scheme".into(),
        });
        assert!(e.hint.contains("drive.example.com"), "{e:?}");
        assert_eq!(e.field.as_deref(), Some("server"));
    }
}
