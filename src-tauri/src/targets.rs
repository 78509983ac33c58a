//! Where new files go, as the UI lists them: the built-in local test server (the default, so
//! a newcomer sees an upload at once) and the Resumable.js / Flow.js URLs the person saved.
//! Each kind of target is one variant of `TargetKind` and one arm in `resolve`; Twake Drive
//! folders of signed-in accounts are one of them (accounts in `crate::twake`).

use crate::ipc::UserError;
use crate::settings::{AppSettings, SavedTarget};
use crate::twake::TwakeAccounts;
use receiver::{Receiver, ReceiverConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio::sync::OnceCell;
use ts_rs::TS;
use upload_engine::accounts::Account;
use upload_engine::targets::resumable::parse_upload_url;
use upload_engine::{Dialect, TargetSpec};

/// Id of the local test server in the target list and in the settings.
pub const LOCAL_ID: &str = "local";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    LocalTestServer,
    Resumable,
    TwakeDrive,
}

/// One entry of the target menu.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TargetInfo {
    pub id: String,
    pub kind: TargetKind,
    /// What the menu shows ("Local test server", "uploads.example.com").
    pub name: String,
    /// A second line: the full URL, or where the test server keeps files.
    pub detail: String,
    /// The label the engine gives uploads to this target (`UploadSummary::target`), so the
    /// queue can show `name` instead of a URL; `None` until the target is running.
    pub engine_label: Option<String>,
    pub removable: bool,
    /// Twake Drive: the account (`email@server-host`) the folder belongs to.
    #[serde(default)]
    #[ts(optional)]
    pub account: Option<String>,
    /// Twake Drive: why the account's session ended; its uploads wait for a new sign-in.
    #[serde(default)]
    #[ts(optional)]
    pub signed_out: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct TargetList {
    pub targets: Vec<TargetInfo>,
    pub default_id: String,
}

/// The id a saved target is known by; stable across restarts.
pub fn saved_id(t: &SavedTarget) -> String {
    match t {
        SavedTarget::Resumable { url, dialect } => {
            let d = match dialect {
                Dialect::Resumable => "resumable",
                Dialect::Flow => "flow",
            };
            format!("{d}:{url}")
        }
        // The engine's label for the target, so the queue finds the target's name by it.
        SavedTarget::Twake { account, folder } => {
            format!(
                "twake:{account}:/{}",
                crate::twake::normal_folder(folder).trim_start_matches('/')
            )
        }
    }
}

/// Checks a URL typed by the person and returns it in normal form.
pub fn check_upload_url(url: &str) -> Result<String, UserError> {
    parse_upload_url(url).map(|u| u.to_string()).map_err(|e| {
        UserError::new(
            e.to_string(),
            "Type the full address of the upload endpoint, like https://example.com/upload.",
        )
    })
}

/// The targets that need something running (the local test server).
pub struct Targets {
    local_dir: PathBuf,
    /// Port to try first (the one of the last run), 0 for any.
    local_port: u16,
    local: OnceCell<Receiver>,
    pub twake: TwakeAccounts,
}

impl Targets {
    /// `local_dir` is where the local test server stores what it receives.
    /// `local_port` is the port to try first for it (0 for any free one).
    pub fn new(local_dir: PathBuf, local_port: u16) -> Targets {
        Targets {
            local_dir,
            local_port,
            local: OnceCell::new(),
            twake: TwakeAccounts::default_store(Default::default()),
        }
    }

    /// The same targets with the default Twake Drive accounts reached through `network`.
    pub fn with_twake_network(
        mut self,
        network: upload_engine::targets::network::NetworkSettings,
    ) -> Targets {
        self.twake = TwakeAccounts::default_store(network);
        self
    }

    /// The same targets with Twake Drive accounts from `store` (tests: a temporary folder).
    pub fn with_twake_store(mut self, store: upload_engine::accounts::AccountStore) -> Targets {
        self.twake = TwakeAccounts::with_store(store);
        self
    }

    pub fn local_dir(&self) -> &std::path::Path {
        &self.local_dir
    }

    /// Starts the local test server on loopback the first time it is needed.
    pub async fn local_url(&self) -> Result<String, UserError> {
        let server = self
            .local
            .get_or_try_init(|| async {
                // The same port as last time keeps the durable queue's uploads to it valid;
                // when that port is taken, any free one will do.
                let mut config = ReceiverConfig::new(&self.local_dir);
                config.bind.set_port(self.local_port);
                match Receiver::start(config.clone()).await {
                    Err(_) if self.local_port != 0 => {
                        config.bind.set_port(0);
                        Receiver::start(config).await
                    }
                    started => started,
                }
            })
            .await
            .map_err(|e| {
                UserError::new(
                    format!("The local test server could not start: {e}"),
                    format!(
                        "Check that {} is writable, or choose another target.",
                        self.local_dir.display()
                    ),
                )
            })?;
        Ok(server.upload_url())
    }

    /// The port the local test server listens on, once started.
    pub fn local_port(&self) -> Option<u16> {
        self.local.get().map(|r| r.local_addr().port())
    }

    pub fn list(&self, settings: &AppSettings) -> TargetList {
        let mut targets = vec![TargetInfo {
            id: LOCAL_ID.into(),
            kind: TargetKind::LocalTestServer,
            name: "Local test server".into(),
            detail: format!("Keeps files in {}", self.local_dir.display()),
            engine_label: self.local.get().map(|r| r.upload_url()),
            removable: false,
            account: None,
            signed_out: None,
        }];
        let accounts = if settings
            .saved_targets
            .iter()
            .any(|t| matches!(t, SavedTarget::Twake { .. }))
        {
            self.twake.accounts_now()
        } else {
            Vec::new()
        };
        for saved in &settings.saved_targets {
            let (url, dialect) = match saved {
                SavedTarget::Resumable { url, dialect } => (url, dialect),
                SavedTarget::Twake { account, folder } => {
                    // A folder of an account signed out with the CLI is no target any more.
                    if let Some(a) = accounts.iter().find(|a| &a.name == account) {
                        targets.push(twake_info(saved, a, folder));
                    }
                    continue;
                }
            };
            // "host" or "host:port": enough to tell servers apart in a menu.
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| {
                    let host = u.host_str()?.to_string();
                    Some(match u.port() {
                        Some(p) => format!("{host}:{p}"),
                        None => host,
                    })
                })
                .unwrap_or_else(|| url.clone());
            targets.push(TargetInfo {
                id: saved_id(saved),
                kind: TargetKind::Resumable,
                name: host,
                detail: format!(
                    "{url} ({})",
                    match dialect {
                        Dialect::Resumable => "Resumable.js",
                        Dialect::Flow => "Flow.js",
                    }
                ),
                engine_label: Some(url.clone()),
                removable: true,
                account: None,
                signed_out: None,
            });
        }
        let default_id = if targets.iter().any(|t| t.id == settings.default_target) {
            settings.default_target.clone()
        } else {
            LOCAL_ID.into()
        };
        TargetList {
            targets,
            default_id,
        }
    }

    /// What the engine needs to upload to target `id`, and the target's name for messages.
    pub async fn resolve(
        &self,
        id: &str,
        settings: &AppSettings,
    ) -> Result<(TargetSpec, String), UserError> {
        if id == LOCAL_ID {
            let url = self.local_url().await?;
            return Ok((
                TargetSpec::Resumable {
                    url,
                    dialect: Dialect::Resumable,
                },
                "Local test server".into(),
            ));
        }
        let saved = settings
            .saved_targets
            .iter()
            .find(|t| saved_id(t) == id)
            .ok_or_else(|| {
                UserError::new(
                    "The chosen target no longer exists.",
                    "Choose another target in the toolbar.",
                )
            })?;
        match saved {
            SavedTarget::Resumable { url, dialect } => Ok((
                TargetSpec::Resumable {
                    url: url.clone(),
                    dialect: *dialect,
                },
                url.clone(),
            )),
            SavedTarget::Twake { account, folder } => {
                // Which Twake Drive the account is on decides the engine's target kind.
                let kind = self
                    .twake
                    .accounts_now()
                    .iter()
                    .find(|a| &a.name == account)
                    .map(|a| a.kind)
                    .unwrap_or_default();
                Ok((
                    crate::twake::spec(account, folder, kind),
                    twake_name(&account_email(account), folder),
                ))
            }
        }
    }
}

/// "Twake Drive — alice@example.com — My Drive › Reports".
pub(crate) fn twake_name(email: &str, folder: &str) -> String {
    format!(
        "Twake Drive — {email} — {}",
        crate::twake::shown_folder(folder)
    )
}

/// The email part of an account name (`email@server-host`).
pub(crate) fn account_email(account: &str) -> String {
    account
        .rsplit_once('@')
        .map_or(account, |(email, _)| email)
        .to_string()
}

fn twake_info(saved: &SavedTarget, account: &Account, folder: &str) -> TargetInfo {
    let id = saved_id(saved);
    TargetInfo {
        // A cozy-stack account has no email: its instance's host names it.
        name: twake_name(&account_email(&account.name), folder),
        detail: match &account.signed_out {
            Some(_) => format!("{} · signed out", account.server),
            None => account.server.clone(),
        },
        kind: TargetKind::TwakeDrive,
        engine_label: Some(id.clone()),
        id,
        removable: true,
        account: Some(account.name.clone()),
        signed_out: account.signed_out.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            check_upload_url(" http://127.0.0.1:8080/upload ").unwrap(),
            "http://127.0.0.1:8080/upload"
        );
        let e = check_upload_url("ftp://x/y").unwrap_err();
        assert!(e.message.contains("ftp://x/y"), "{e:?}");
        assert!(e.hint.contains("https://"));
    }

    #[test]
    fn the_list_starts_with_the_local_server_and_falls_back_to_it_as_default() {
        let t = Targets::new(PathBuf::from("/tmp/x"), 0);
        let saved = SavedTarget::Resumable {
            url: "https://up.example.org/upload".into(),
            dialect: Dialect::Flow,
        };
        let s = AppSettings {
            default_target: "gone".into(),
            saved_targets: vec![saved.clone()],
            ..AppSettings::default()
        };
        let list = t.list(&s);
        assert_eq!(list.targets[0].id, LOCAL_ID);
        assert_eq!(list.targets[1].name, "up.example.org");
        assert_eq!(list.targets[1].id, saved_id(&saved));
        assert_eq!(list.default_id, LOCAL_ID);
    }
}
