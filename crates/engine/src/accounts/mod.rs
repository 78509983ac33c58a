//! The accounts service: signing in, the one live session of each account (renewed by the
//! session itself, replaced by a new sign-in), signing out, and the news of both, for every
//! front end. The CLI and the app only ask for a sign-in and render what happened; the engine
//! gives the service to its targets (`targets::twake::Sessions`) and, on a new sign-in,
//! restarts the uploads the end of the old session stopped.
//!
//! Accounts and their secrets are kept by an `AccountStore` the front end chooses (the
//! default one in the config folder, or a test's own) and hands in when it opens the service.

/// The browser sign-in pieces, kept with the sessions they serve (`targets/browser.rs`).
pub use crate::targets::browser;
pub mod browse;
pub mod cozy;
pub mod detect;
pub mod oidc;
pub mod oidc_signin;
pub mod store;

pub use browse::Entry;
pub use cozy::BrowserSignIn;
pub use detect::{Detected, Provider, ServerKind};
pub use oidc_signin::BrowserSteps;
pub use store::{config_dir, Account, AccountKind, AccountStore, SecretsLocation};

use crate::targets::cozy::{
    self as cozy_target, CozyError, CozySession, CredentialSink, Credentials,
};

use crate::targets::twake::{
    self, session, AccountSession, CollisionPolicy, Drive, HiddenJournal, Session, Sessions,
    TokenSink, Tokens, TwakeError,
};
use crate::targets::HttpSettings;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// The journal of hidden folders, in the store's folder.
const HIDDEN_JOURNAL: &str = "hidden-folders.json";

/// How a person signs in.
pub enum SignIn {
    /// Twake Drive on cozy-stack, through the person's browser (OAuth with the instance).
    CozyBrowser(BrowserSignIn),
    /// Email and password, sent once in the token request and dropped.
    Password {
        server: String,
        email: String,
        password: String,
        /// The company uploads go to; the first one when `None`.
        company: Option<String>,
    },
    /// A tdrive server whose console is an OpenID provider: the provider's page in the
    /// browser, the code caught on loopback (or pasted), then the server's own session.
    TwakeBrowser {
        server: String,
        company: Option<String>,
        steps: BrowserSteps,
    },
}

/// The result of a sign-in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub account: Account,
    /// Where the tokens went: the keyring, or the private file when none was reachable.
    pub kept: SecretsLocation,
}

/// What happened to an account, for front ends and the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// A sign-in (new, or again after a sign-out).
    SignedIn { account: String },
    /// The server refused to renew the session: uploads wait for a new sign-in.
    SignedOut { account: String, reason: String },
    /// The person signed out: the account and its secrets are gone.
    Removed { account: String },
}

/// The email as the server finds it: the Twake Drive server lower-cases emails when an
/// account is made but looks them up as typed, so `Alice@Example.com` would be refused.
pub fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub struct Accounts {
    store: AccountStore,
    http: HttpSettings,
    /// The live session of each account used so far in this process, with the account as
    /// it was read then (so a request does not read the store).
    live: Mutex<HashMap<String, (Account, Arc<Session>)>>,
    /// The same for accounts on cozy-stack instances.
    cozy_live: Mutex<HashMap<String, Arc<CozySession>>>,
    changes: broadcast::Sender<AccountChange>,
    /// How long the sessions opened here ask again for refused renewals (`Session`).
    renewal_patience: Mutex<Duration>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("store", &self.store.dir())
            .finish_non_exhaustive()
    }
}

/// Runs blocking account-store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TwakeError> + Send + 'static,
) -> Result<T, TwakeError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| TwakeError::Config {
            path: Default::default(),
            reason: e.to_string(),
        })?
}

/// Keeps an account's renewed tokens and its sign-out in the store, and tells the service.
struct StoreSink {
    store: AccountStore,
    account: String,
    changes: broadcast::Sender<AccountChange>,
}

impl CredentialSink for StoreSink {
    fn save(&self, credentials: &Credentials) {
        if let Err(e) = self.store.save_secret(&self.account, credentials) {
            tracing::warn!("cannot keep the renewed session of {}: {e}", self.account);
        }
    }

    fn signed_out(&self, reason: &str) {
        TokenSink::signed_out(self, reason)
    }
}

impl TokenSink for StoreSink {
    fn save(&self, tokens: &Tokens) {
        if let Err(e) = self.store.save_tokens(&self.account, tokens) {
            tracing::warn!("cannot keep the renewed session of {}: {e}", self.account);
        }
    }

    fn signed_out(&self, reason: &str) {
        if let Err(e) = self.store.mark_signed_out(&self.account, reason) {
            tracing::warn!("cannot record the sign-out of {}: {e}", self.account);
        }
        let _ = self.changes.send(AccountChange::SignedOut {
            account: self.account.clone(),
            reason: reason.to_string(),
        });
    }
}

impl Accounts {
    /// The service over `store`.
    pub fn new(store: AccountStore, http: HttpSettings) -> Arc<Accounts> {
        let (changes, _) = broadcast::channel(64);
        Arc::new(Accounts {
            store,
            http,
            live: Mutex::new(HashMap::new()),
            cozy_live: Mutex::new(HashMap::new()),
            changes,
            renewal_patience: Mutex::new(twake::session::RENEWAL_PATIENCE),
        })
    }

    /// How long the sessions ask again for a refused renewal before signing out (60 s unless
    /// set; tests shorten it), the live ones and those opened later.
    pub fn set_renewal_patience(&self, patience: Duration) {
        if let Ok(mut p) = self.renewal_patience.lock() {
            *p = patience;
        }
        if let Ok(live) = self.live.lock() {
            for (_, session) in live.values() {
                session.set_renewal_patience(patience);
            }
        }
    }

    fn patient(&self, session: Session) -> Session {
        if let Ok(p) = self.renewal_patience.lock() {
            session.set_renewal_patience(*p);
        }
        session
    }

    /// The service over the default store (`$TWAKE_UPLOADER_CONFIG_DIR`, else XDG config),
    /// the one the CLI and the app share.
    pub fn open_default(http: HttpSettings) -> Result<Arc<Accounts>, TwakeError> {
        Ok(Accounts::new(AccountStore::open_default()?, http))
    }

    pub fn store(&self) -> &AccountStore {
        &self.store
    }

    /// News of sign-ins and sign-outs from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AccountChange> {
        self.changes.subscribe()
    }

    fn client(&self) -> Result<reqwest::Client, TwakeError> {
        twake::http_client(&self.http)
    }

    fn sink(&self, account: &str) -> Arc<dyn TokenSink> {
        Arc::new(StoreSink {
            store: self.store.clone(),
            account: account.to_string(),
            changes: self.changes.clone(),
        })
    }

    /// Signs in, saves the account and its tokens, and makes its session the live one: the
    /// uploads a sign-out stopped start again (the engine listens).
    pub async fn sign_in(&self, how: SignIn) -> Result<SignedIn, TwakeError> {
        match how {
            SignIn::Password {
                server,
                email,
                password,
                company,
            } => {
                self.sign_in_password(server, email, password, company)
                    .await
            }
            SignIn::CozyBrowser(how) => self.sign_in_cozy(how).await,
            SignIn::TwakeBrowser {
                server,
                company,
                steps,
            } => self.sign_in_with_browser(&server, company, steps).await,
        }
    }

    async fn sign_in_cozy(&self, how: BrowserSignIn) -> Result<SignedIn, TwakeError> {
        let server = session::normalize_server(&how.server)?;
        let client = self.client()?;
        let credentials = cozy::sign_in(&client, &server, how, cozy_target::JSON_TIMEOUT).await?;
        let name = cozy_account_name(&server);
        let account = Account {
            kind: AccountKind::Cozy,
            name: name.clone(),
            server: server.clone(),
            email: String::new(),
            user_id: String::new(),
            company_id: String::new(),
            companies: Vec::new(),
            signed_out: None,
        };
        // A client registered by an earlier sign-in to the same instance is replaced.
        let earlier = self.cozy_credentials(&name).await.ok();
        let kept = {
            let store = self.store.clone();
            let (saved, secret) = (account.clone(), credentials.clone());
            blocking(move || {
                store.save(&saved)?;
                store.save_secret(&saved.name, &secret)
            })
            .await?
        };
        if let Some(old) = earlier.filter(|old| old.client_id != credentials.client_id) {
            if let Err(e) =
                cozy_target::session::unregister(&client, &server, &old, cozy_target::JSON_TIMEOUT)
                    .await
            {
                tracing::warn!("cannot unregister the earlier client on {server}: {e}");
            }
        }
        let live = Arc::new(CozySession::new(
            client,
            &server,
            &name,
            credentials,
            self.cozy_sink(&name),
            cozy_target::JSON_TIMEOUT,
        ));
        if let Ok(mut map) = self.cozy_live.lock() {
            map.insert(name.clone(), live);
        }
        let _ = self.changes.send(AccountChange::SignedIn { account: name });
        Ok(SignedIn { account, kept })
    }

    fn cozy_sink(&self, account: &str) -> Arc<dyn CredentialSink> {
        Arc::new(StoreSink {
            store: self.store.clone(),
            account: account.to_string(),
            changes: self.changes.clone(),
        })
    }

    async fn cozy_credentials(&self, name: &str) -> Result<Credentials, TwakeError> {
        let store = self.store.clone();
        let name = name.to_string();
        blocking(move || store.load_secret::<Credentials>(&name)).await
    }

    /// The live session of cozy account `name` (opened from the store the first time);
    /// `SignedOut` once the instance refused to renew it.
    pub async fn cozy_session_of(&self, name: &str) -> Result<Arc<CozySession>, TwakeError> {
        let existing = self
            .cozy_live
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned())
            .filter(|s| !s.is_signed_out());
        if let Some(live) = existing {
            return Ok(live);
        }
        let account = self.get(name).await?;
        if account.kind != AccountKind::Cozy {
            return Err(TwakeError::NotSignedIn {
                account: format!("{name} (a Twake Drive on cozy-stack)"),
            });
        }
        if let Some(reason) = &account.signed_out {
            return Err(CozyError::SignedOut {
                server: account.server.clone(),
                reason: reason.clone(),
            }
            .into());
        }
        let credentials = self.cozy_credentials(name).await?;
        let session = Arc::new(CozySession::new(
            self.client()?,
            &account.server,
            &account.name,
            credentials,
            self.cozy_sink(&account.name),
            cozy_target::JSON_TIMEOUT,
        ));
        let mut map = self.cozy_live.lock().map_err(|_| TwakeError::Config {
            path: self.store.dir().to_path_buf(),
            reason: "the accounts state was lost".into(),
        })?;
        let entry = map
            .entry(account.name.clone())
            .or_insert_with(|| session.clone());
        if entry.is_signed_out() {
            *entry = session;
        }
        Ok(entry.clone())
    }

    async fn sign_in_password(
        &self,
        server: String,
        email: String,
        password: String,
        company: Option<String>,
    ) -> Result<SignedIn, TwakeError> {
        let server = session::normalize_server(&server)?;
        let email = normal_email(&email);
        let client = self.client()?;
        let tokens = session::login(&client, &server, &email, &password, twake::JSON_TIMEOUT).await;
        drop(password);
        let tokens = match tokens {
            // A server that signs in through its identity provider keeps no passwords: say
            // so rather than "wrong password".
            Err(TwakeError::WrongCredentials { .. }) => {
                Err(self.password_refused(&client, &server).await)
            }
            other => other,
        }?;
        self.keep_session(client, server, Some(email), tokens, company)
            .await
    }

    /// The browser sign-in of a tdrive server in remote-console mode: its provider is read
    /// from the server first, as its web client does.
    async fn sign_in_with_browser(
        &self,
        server: &str,
        company: Option<String>,
        steps: BrowserSteps,
    ) -> Result<SignedIn, TwakeError> {
        let server = session::normalize_server(server)?;
        let client = self.client()?;
        let provider = match detect::detect_server(&client, &server).await? {
            ServerKind::TwakeOidc(provider) => provider,
            ServerKind::TwakePassword => return Err(TwakeError::NeedsPassword { server }),
            // Twake Drive on cozy-stack: its own OAuth flow, through the same browser steps.
            ServerKind::Cozy => return self.sign_in_cozy(cozy_steps(&server, steps)).await,
        };
        let tokens =
            oidc_signin::sign_in(&client, &server, &provider, steps, twake::JSON_TIMEOUT).await?;
        self.keep_session(client, server, None, tokens, company)
            .await
    }

    /// The error for a refused password: `NeedsBrowser` when the server signs in with an
    /// identity provider, else the wrong email or password.
    async fn password_refused(&self, client: &reqwest::Client, server: &str) -> TwakeError {
        match detect::detect_server(client, server).await {
            Ok(ServerKind::TwakeOidc(_)) => TwakeError::NeedsBrowser {
                server: server.to_string(),
            },
            _ => TwakeError::WrongCredentials {
                server: server.to_string(),
            },
        }
    }

    /// Which kind of Twake Drive is at the address (or the email's domain) the person typed,
    /// so the front end offers the right sign-in.
    pub async fn detect(&self, typed: &str) -> Result<Detected, TwakeError> {
        detect::detect(&self.client()?, typed).await
    }

    /// Saves the account of a new tdrive session and makes it the live one. `email` is what
    /// the person typed, if anything; else the server's record of the user gives it.
    async fn keep_session(
        &self,
        client: reqwest::Client,
        server: String,
        email: Option<String>,
        tokens: Tokens,
        company: Option<String>,
    ) -> Result<SignedIn, TwakeError> {
        let probe_name = email
            .as_deref()
            .map_or_else(|| server.clone(), |e| Account::name_for(e, &server));
        let probe = Session::new(
            client.clone(),
            &server,
            &probe_name,
            tokens.clone(),
            Arc::new(session::NoSink),
            twake::JSON_TIMEOUT,
        );
        let me = probe.me().await?;
        let email = match email.or_else(|| me.email.as_deref().map(normal_email)) {
            Some(e) if !e.is_empty() => e,
            _ => {
                return Err(TwakeError::NotTwakeDrive {
                    url: format!("{server}{}", twake::api::USERS_ME),
                    what: "it did not say which email the session belongs to".into(),
                })
            }
        };
        let name = Account::name_for(&email, &server);
        let companies: Vec<twake::api::Company> =
            me.companies.iter().map(|c| c.company.clone()).collect();
        let chosen = match &company {
            Some(id) => companies
                .iter()
                .find(|c| &c.id == id)
                .cloned()
                .ok_or_else(|| TwakeError::NotInCompany {
                    server: server.clone(),
                    account: email.clone(),
                    company: id.clone(),
                    choices: describe_companies(&companies),
                })?,
            None => companies
                .first()
                .cloned()
                .ok_or_else(|| TwakeError::NoCompany {
                    server: server.clone(),
                    account: email.clone(),
                })?,
        };
        let account = Account {
            kind: AccountKind::Tdrive,
            name: name.clone(),
            server: server.clone(),
            email,
            user_id: me.id,
            company_id: chosen.id,
            companies,
            signed_out: None,
        };
        let kept = {
            let store = self.store.clone();
            let (saved, tokens) = (account.clone(), tokens.clone());
            blocking(move || {
                store.save(&saved)?;
                store.save_tokens(&saved.name, &tokens)
            })
            .await?
        };
        let live = self.patient(Session::new(
            client,
            &server,
            &name,
            tokens,
            self.sink(&name),
            twake::JSON_TIMEOUT,
        ));
        if let Ok(mut map) = self.live.lock() {
            map.insert(name.clone(), (account.clone(), Arc::new(live)));
        }
        let _ = self.changes.send(AccountChange::SignedIn { account: name });
        Ok(SignedIn { account, kept })
    }

    /// Uploads of account `name` go to company `company_id` from now on.
    pub async fn choose_company(
        &self,
        name: &str,
        company_id: &str,
    ) -> Result<Account, TwakeError> {
        let mut account = self.get(name).await?;
        if !account.companies.iter().any(|c| c.id == company_id) {
            return Err(TwakeError::NotInCompany {
                server: account.server.clone(),
                account: account.email.clone(),
                company: company_id.to_string(),
                choices: describe_companies(&account.companies),
            });
        }
        account.company_id = company_id.to_string();
        let store = self.store.clone();
        let saved = account.clone();
        blocking(move || store.save(&saved)).await?;
        if let Ok(mut map) = self.live.lock() {
            if let Some(entry) = map.get_mut(name) {
                entry.0 = account.clone();
            }
        }
        Ok(account)
    }

    /// Every signed-in account (a sign-out the session recorded shows in `signed_out`).
    pub async fn list(&self) -> Result<Vec<Account>, TwakeError> {
        let store = self.store.clone();
        blocking(move || store.list()).await
    }

    /// The same, read on the caller's thread (a small file), for menus built synchronously.
    pub fn list_now(&self) -> Vec<Account> {
        self.store.list().unwrap_or_else(|e| {
            tracing::warn!("{e}");
            Vec::new()
        })
    }

    /// The account used when none is named: the last one signed in.
    pub async fn current(&self) -> Result<Account, TwakeError> {
        let store = self.store.clone();
        blocking(move || store.current()).await
    }

    pub async fn get(&self, name: &str) -> Result<Account, TwakeError> {
        let store = self.store.clone();
        let name = name.to_string();
        blocking(move || store.get(&name)).await
    }

    /// Forgets the account and its tokens; its uploads stop as signed out.
    pub async fn sign_out(&self, name: &str) -> Result<Account, TwakeError> {
        let account = self.get(name).await?;
        if account.kind == AccountKind::Cozy {
            // The instance forgets the client (and its tokens) first; an instance out of reach
            // does not keep the person signed in here: the client stays listed there, to revoke
            // from its settings.
            if let Ok(credentials) = self.cozy_credentials(name).await {
                let client = self.client()?;
                if let Err(e) = cozy_target::session::unregister(
                    &client,
                    &account.server,
                    &credentials,
                    cozy_target::JSON_TIMEOUT,
                )
                .await
                {
                    tracing::warn!(
                        "signed out here, but {} was not told ({e}): remove \"Twake Uploader\" \
                         from its connected devices",
                        account.server
                    );
                }
            }
            if let Ok(mut map) = self.cozy_live.lock() {
                map.remove(name);
            }
        }
        let store = self.store.clone();
        let gone = name.to_string();
        blocking(move || store.remove(&gone)).await?;
        if let Ok(mut map) = self.live.lock() {
            map.remove(name);
        }
        let _ = self.changes.send(AccountChange::Removed {
            account: name.to_string(),
        });
        Ok(account)
    }

    /// The live session of account `name` (opened from the store the first time), with the
    /// account; `SignedOut` once the server refused to renew it.
    pub async fn session(&self, name: &str) -> Result<(Account, Arc<Session>), TwakeError> {
        let existing = self
            .live
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned())
            .filter(|(_, s)| !s.is_signed_out());
        if let Some(live) = existing {
            return Ok(live);
        }
        let account = self.get(name).await?;
        if let Some(reason) = &account.signed_out {
            return Err(TwakeError::SignedOut {
                server: account.server.clone(),
                account: account.email.clone(),
                reason: reason.clone(),
            });
        }
        let tokens = {
            let store = self.store.clone();
            let name = name.to_string();
            blocking(move || store.load_tokens(&name)).await?
        };
        let session = Arc::new(self.patient(Session::new(
            self.client()?,
            &account.server,
            &account.name,
            tokens,
            self.sink(&account.name),
            twake::JSON_TIMEOUT,
        )));
        let mut map = self.live.lock().map_err(|_| TwakeError::Config {
            path: self.store.dir().to_path_buf(),
            reason: "the accounts state was lost".into(),
        })?;
        // Two callers may have opened it at once: keep the first live one, so both share it.
        let entry = map
            .entry(account.name.clone())
            .or_insert_with(|| (account.clone(), session.clone()));
        if entry.1.is_signed_out() {
            *entry = (account, session);
        }
        Ok(entry.clone())
    }

    /// Account `name`'s Drive from My Drive's root, for folder choosers and listings.
    pub async fn drive(&self, name: &str) -> Result<Drive, TwakeError> {
        let (account, session) = self.session(name).await?;
        Ok(Drive::new(
            session,
            &account.company_id,
            &account.user_id,
            "",
            CollisionPolicy::default(),
        ))
    }
}

/// The account name of a cozy-stack instance: its host (an instance is one person's).
pub fn cozy_account_name(server: &str) -> String {
    url::Url::parse(server)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| server.to_string())
}

fn describe_companies(companies: &[twake::api::Company]) -> String {
    companies
        .iter()
        .map(|c| match &c.name {
            Some(n) => format!("{n} ({})", c.id),
            None => c.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Sessions for Accounts {
    async fn twake_session(&self, account: &str) -> Result<AccountSession, TwakeError> {
        let (account, session) = self.session(account).await?;
        Ok(AccountSession {
            session,
            user_id: account.user_id,
            company_id: account.company_id,
        })
    }

    fn hidden_journal(&self, account: &str) -> Option<HiddenJournal> {
        Some(HiddenJournal::new(
            self.store.dir().join(HIDDEN_JOURNAL),
            account,
        ))
    }
}

#[async_trait]
impl cozy_target::CozySessions for Accounts {
    async fn cozy_session(&self, account: &str) -> Result<Arc<CozySession>, CozyError> {
        self.cozy_session_of(account).await.map_err(|e| match e {
            TwakeError::Cozy(e) => e,
            TwakeError::NotSignedIn { account } => CozyError::SignedOut {
                server: account,
                reason: "not signed in".into(),
            },
            other => CozyError::SignedOut {
                server: account.to_string(),
                reason: other.to_string(),
            },
        })
    }
}

/// The browser steps of a front end, as the cozy-stack sign-in takes them (the company choice
/// is tdrive's alone).
fn cozy_steps(server: &str, steps: BrowserSteps) -> BrowserSignIn {
    let mut how = BrowserSignIn::new(server, steps.opener);
    how.show_url = Some(steps.on_url);
    how.cancel = steps.cancel;
    how.patience = steps.patience;
    if let Some(pasted) = steps.pasted {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            if let Ok(url) = pasted.await {
                let _ = tx.send(url).await;
            }
        });
        how.pasted = Some(rx);
    }
    how
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_signed_in_as_the_server_stores_them() {
        assert_eq!(normal_email(" Alice@Example.COM "), "alice@example.com");
    }
}
