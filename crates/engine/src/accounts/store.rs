//! Signed-in accounts and their secrets. The account list (server, email, user and company
//! ids, no secret) is `accounts.json` in the config dir (`$TWAKE_UPLOADER_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/twake-uploader`, else `~/.config/twake-uploader`). The tokens go to the
//! OS keyring (Secret Service on Linux); where none is reachable (a server, CI without a
//! D-Bus session) to `secrets.json` beside it, readable only by the user, with a warning the
//! first time. The password is never stored. Every call here blocks: use `spawn_blocking`.

use crate::targets::twake::api::Company;
use crate::targets::twake::{Tokens, TwakeError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Service name of our entries in the OS keyring.
const KEYRING_SERVICE: &str = "twake-uploader";
const ACCOUNTS_FILE: &str = "accounts.json";
const SECRETS_FILE: &str = "secrets.json";

/// Which server an account signed in to: the Node.js Twake Drive (tdrive) or Twake Drive
/// on cozy-stack. Accounts saved before there were two are tdrive ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    #[default]
    Tdrive,
    Cozy,
}

/// One signed-in account, as kept in `accounts.json`. No secret in here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub kind: AccountKind,
    /// `email@server-host`, the name the CLI and `TargetSpec::Twake` use.
    pub name: String,
    /// Base URL of the server, without a trailing slash.
    pub server: String,
    pub email: String,
    pub user_id: String,
    pub company_id: String,
    #[serde(default)]
    pub companies: Vec<Company>,
    /// Why the session ended, when a renewal was refused: sign in again.
    #[serde(default)]
    pub signed_out: Option<String>,
}

impl Account {
    /// The account name for an email on a server: `alice@example.com@drive.example.com`.
    pub fn name_for(email: &str, server: &str) -> String {
        let host = url::Url::parse(server)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_else(|| server.to_string());
        format!("{email}@{host}")
    }

    /// The email of an account name made by `name_for` (the host never holds an `@`).
    pub fn email_of(name: &str) -> &str {
        crate::targets::twake::session::account_email(name)
    }

    pub fn company_name(&self) -> Option<&str> {
        self.companies
            .iter()
            .find(|c| c.id == self.company_id)
            .and_then(|c| c.name.as_deref())
    }
}

#[derive(Default, Serialize, Deserialize)]
struct AccountsFile {
    /// The account `twake:` means when none is named.
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    accounts: Vec<Account>,
}

/// Where the tokens of an account were put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretsLocation {
    Keyring,
    /// The fallback file; `first_use` is true when this save created it.
    File {
        path: PathBuf,
        first_use: bool,
    },
}

/// The config dir: `$TWAKE_UPLOADER_CONFIG_DIR`, else the XDG config dir.
pub fn config_dir() -> Result<PathBuf, TwakeError> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("TWAKE_UPLOADER_CONFIG_DIR") {
        return Ok(dir);
    }
    if let Some(xdg) = env("XDG_CONFIG_HOME") {
        return Ok(xdg.join("twake-uploader"));
    }
    env("HOME")
        .map(|h| h.join(".config").join("twake-uploader"))
        .ok_or_else(|| TwakeError::Config {
            path: PathBuf::from("~/.config/twake-uploader"),
            reason: "neither HOME nor XDG_CONFIG_HOME is set; set TWAKE_UPLOADER_CONFIG_DIR".into(),
        })
}

/// The accounts and secrets under one config dir.
#[derive(Clone, Debug)]
pub struct AccountStore {
    dir: PathBuf,
    /// False keeps secrets in the private file only (tests, machines without a keyring).
    use_keyring: bool,
}

impl AccountStore {
    pub fn open_default() -> Result<AccountStore, TwakeError> {
        Ok(AccountStore::at(config_dir()?))
    }

    pub fn at(dir: impl Into<PathBuf>) -> AccountStore {
        AccountStore {
            dir: dir.into(),
            use_keyring: true,
        }
    }

    /// The same store, keeping secrets in the private file and never asking the keyring.
    pub fn without_keyring(mut self) -> AccountStore {
        self.use_keyring = false;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn config_error(&self, path: &Path, reason: impl std::fmt::Display) -> TwakeError {
        TwakeError::Config {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    fn read_json<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, TwakeError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                // A file an older version (or a copy) left readable by others is made private
                // on first use; a read-only disk just keeps it as it is.
                #[cfg(unix)]
                let _ = std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                );
                serde_json::from_slice(&bytes).map_err(|e| {
                    self.config_error(
                        &path,
                        format!("{e}; fix or delete the file and sign in again"),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(self.config_error(&path, e)),
        }
    }

    /// Writes a file atomically, readable only by the user.
    fn write_private(&self, name: &str, value: &impl Serialize) -> Result<(), TwakeError> {
        let path = self.dir.join(name);
        let err = |e: std::io::Error| self.config_error(&path, e);
        private_dir(&self.dir).map_err(err)?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| self.config_error(&path, e))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(err)?;
        // The mode above applies only to a new file, and only through the umask: set it.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    pub fn list(&self) -> Result<Vec<Account>, TwakeError> {
        Ok(self.read_json::<AccountsFile>(ACCOUNTS_FILE)?.accounts)
    }

    /// The account used when none is named: the last one signed in.
    pub fn current(&self) -> Result<Account, TwakeError> {
        let file: AccountsFile = self.read_json(ACCOUNTS_FILE)?;
        let name = file.current.clone().unwrap_or_default();
        file.accounts
            .into_iter()
            .find(|a| a.name == name)
            .ok_or(TwakeError::NotSignedIn {
                account: "any account".into(),
            })
    }

    pub fn get(&self, name: &str) -> Result<Account, TwakeError> {
        self.list()?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| TwakeError::NotSignedIn {
                account: name.to_string(),
            })
    }

    /// Adds or replaces an account and makes it the current one.
    pub fn save(&self, account: &Account) -> Result<(), TwakeError> {
        let mut file: AccountsFile = self.read_json(ACCOUNTS_FILE)?;
        file.accounts.retain(|a| a.name != account.name);
        file.accounts.push(account.clone());
        file.current = Some(account.name.clone());
        self.write_private(ACCOUNTS_FILE, &file)
    }

    /// Removes an account and its secrets.
    pub fn remove(&self, name: &str) -> Result<(), TwakeError> {
        let mut file: AccountsFile = self.read_json(ACCOUNTS_FILE)?;
        file.accounts.retain(|a| a.name != name);
        if file.current.as_deref() == Some(name) {
            file.current = file.accounts.last().map(|a| a.name.clone());
        }
        self.write_private(ACCOUNTS_FILE, &file)?;
        self.delete_tokens(name)
    }

    pub fn mark_signed_out(&self, name: &str, reason: &str) -> Result<(), TwakeError> {
        let mut file: AccountsFile = self.read_json(ACCOUNTS_FILE)?;
        for a in file.accounts.iter_mut().filter(|a| a.name == name) {
            a.signed_out = Some(reason.to_string());
        }
        self.write_private(ACCOUNTS_FILE, &file)
    }

    fn keyring_entry(&self, name: &str) -> Option<keyring::Entry> {
        if !self.use_keyring {
            return None;
        }
        keyring::Entry::new(KEYRING_SERVICE, name).ok()
    }

    /// Stores the tokens of an account: in the keyring, else in the private file.
    pub fn save_tokens(&self, name: &str, tokens: &Tokens) -> Result<SecretsLocation, TwakeError> {
        self.save_secret(name, tokens)
    }

    /// Stores an account's secrets of any kind (Twake Drive tokens, a cozy-stack client and
    /// its tokens) as JSON: in the keyring, else in the private file.
    pub fn save_secret<T: Serialize>(
        &self,
        name: &str,
        secret: &T,
    ) -> Result<SecretsLocation, TwakeError> {
        let value = serde_json::to_value(secret)
            .map_err(|e| self.config_error(&self.dir.join(SECRETS_FILE), e))?;
        let json = value.to_string();
        let keyring = self.keyring_entry(name).map(|e| e.set_password(&json));
        match keyring {
            Some(Ok(())) => {
                // A copy left in the file by an earlier fallback would go stale: drop it.
                self.remove_file_tokens(name)?;
                Ok(SecretsLocation::Keyring)
            }
            Some(Err(e)) => self.save_file_tokens(name, value, &e.to_string()),
            None => self.save_file_tokens(name, value, "the keyring is not used"),
        }
    }

    fn save_file_tokens(
        &self,
        name: &str,
        secret: serde_json::Value,
        why: &str,
    ) -> Result<SecretsLocation, TwakeError> {
        let path = self.dir.join(SECRETS_FILE);
        let first_use = !path.exists();
        let mut all: BTreeMap<String, serde_json::Value> = self.read_json(SECRETS_FILE)?;
        all.insert(name.to_string(), secret);
        self.write_private(SECRETS_FILE, &all)?;
        if first_use {
            tracing::warn!(
                "no OS keyring is reachable ({why}): the session tokens are kept in {}, \
                 readable only by you",
                path.display()
            );
        }
        Ok(SecretsLocation::File { path, first_use })
    }

    fn remove_file_tokens(&self, name: &str) -> Result<(), TwakeError> {
        if !self.dir.join(SECRETS_FILE).exists() {
            return Ok(());
        }
        let mut all: BTreeMap<String, serde_json::Value> = self.read_json(SECRETS_FILE)?;
        if all.remove(name).is_some() {
            self.write_private(SECRETS_FILE, &all)?;
        }
        Ok(())
    }

    /// The tokens of an account, from the keyring or the private file.
    pub fn load_tokens(&self, name: &str) -> Result<Tokens, TwakeError> {
        self.load_secret(name)
    }

    /// An account's secrets as saved by `save_secret`.
    pub fn load_secret<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, TwakeError> {
        if let Some(Ok(json)) = self.keyring_entry(name).map(|e| e.get_password()) {
            if let Ok(secret) = serde_json::from_str(&json) {
                return Ok(secret);
            }
        }
        let all: BTreeMap<String, serde_json::Value> = self.read_json(SECRETS_FILE)?;
        all.get(name)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| TwakeError::NotSignedIn {
                account: name.to_string(),
            })
    }

    pub fn delete_tokens(&self, name: &str) -> Result<(), TwakeError> {
        if let Some(entry) = self.keyring_entry(name) {
            let _ = entry.delete_credential();
        }
        self.remove_file_tokens(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::twake::Secret;

    fn account(name: &str) -> Account {
        Account {
            kind: AccountKind::Tdrive,
            name: name.into(),
            server: "http://127.0.0.1:1".into(),
            email: "a@b".into(),
            user_id: "u1".into(),
            company_id: "c1".into(),
            companies: vec![],
            signed_out: None,
        }
    }

    #[test]
    fn account_names_join_email_and_server_host() {
        assert_eq!(
            Account::name_for("a@b.c", "https://drive.b.c"),
            "a@b.c@drive.b.c"
        );
        assert_eq!(
            Account::name_for("a@b.c", "http://127.0.0.1:8080"),
            "a@b.c@127.0.0.1:8080"
        );
        assert_eq!(Account::email_of("a@b.c@127.0.0.1:8080"), "a@b.c");
    }

    #[test]
    fn the_account_list_keeps_no_secret_and_the_last_sign_in_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::at(dir.path());
        store.save(&account("one")).unwrap();
        store.save(&account("two")).unwrap();
        assert_eq!(store.current().unwrap().name, "two");
        store.remove("two").unwrap();
        assert_eq!(store.current().unwrap().name, "one");
        let text = std::fs::read_to_string(dir.path().join(ACCOUNTS_FILE)).unwrap();
        assert!(!text.contains("token"), "{text}");
    }

    #[test]
    fn tokens_come_back_from_wherever_they_were_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::at(dir.path()).without_keyring();
        let tokens = Tokens {
            access: Secret::new("acc"),
            refresh: Secret::new("ref"),
            access_expires: 10,
            refresh_expires: 20,
            issued: 5,
            skew: 0.0,
        };
        store
            .save_tokens("unit-test@twake-uploader.invalid", &tokens)
            .unwrap();
        let back = store
            .load_tokens("unit-test@twake-uploader.invalid")
            .unwrap();
        assert_eq!(back.access.expose(), "acc");
        store
            .delete_tokens("unit-test@twake-uploader.invalid")
            .unwrap();
        assert!(store
            .load_tokens("unit-test@twake-uploader.invalid")
            .is_err());
    }
}

/// Creates the settings folder (and its parents) and makes it the user's alone (0700),
/// whatever the umask: it holds the session file when no keyring is reachable.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod permission_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn settings_are_private_whatever_the_umask_and_earlier_modes() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("twake-uploader");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o777)).unwrap();
        let store = AccountStore::at(&dir).without_keyring();
        // A leftover temporary file readable by all must not carry its mode over.
        let tmp = dir.join(".accounts.json.tmp");
        std::fs::write(&tmp, b"{}").unwrap();
        std::fs::set_permissions(&tmp, PermissionsExt::from_mode(0o644)).unwrap();
        store
            .write_private("accounts.json", &AccountsFile::default())
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("accounts.json")), 0o600);
    }
}
