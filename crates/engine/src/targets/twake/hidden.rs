//! A small journal of the new top folders being built hidden in the trash. The batch that
//! restores such a folder lives in memory; if the program stops before the folder's last
//! file is in (killed, power cut), the next session of the same account finds the folder
//! here and restores it, so the files already placed in it never stay in the trash and the
//! files that resume go into the same folder instead of a second one.

use super::error::TwakeError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One hidden folder: which account and company it belongs to, and its Drive item id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenFolder {
    pub account: String,
    pub company_id: String,
    pub id: String,
    pub name: String,
}

/// The journal file (JSON, next to the account settings). Not secret: ids and names only.
#[derive(Clone, Debug)]
pub struct HiddenJournal {
    path: PathBuf,
    account: String,
}

impl HiddenJournal {
    pub fn new(path: impl Into<PathBuf>, account: &str) -> HiddenJournal {
        HiddenJournal {
            path: path.into(),
            account: account.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: String) -> TwakeError {
        TwakeError::Config {
            path: self.path.clone(),
            reason,
        }
    }

    async fn read_all(&self) -> Result<Vec<HiddenFolder>, TwakeError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| self.error(format!("unreadable list of hidden folders: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    async fn write_all(&self, all: &[HiddenFolder]) -> Result<(), TwakeError> {
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| self.error(e.to_string()))?;
        }
        let bytes = serde_json::to_vec_pretty(all).map_err(|e| self.error(e.to_string()))?;
        // Written aside then renamed: a crash leaves the old list or the new one, whole.
        let tmp = self.path.with_extension("json.tmp");
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| self.error(e.to_string()))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| self.error(e.to_string()))
    }

    /// This account's hidden folders in `company_id`.
    pub async fn list(&self, company_id: &str) -> Result<Vec<HiddenFolder>, TwakeError> {
        Ok(self
            .read_all()
            .await?
            .into_iter()
            .filter(|h| h.account == self.account && h.company_id == company_id)
            .collect())
    }

    /// Records a folder just created in the trash.
    pub async fn add(&self, company_id: &str, id: &str, name: &str) -> Result<(), TwakeError> {
        let mut all = self.read_all().await?;
        all.push(HiddenFolder {
            account: self.account.clone(),
            company_id: company_id.to_string(),
            id: id.to_string(),
            name: name.to_string(),
        });
        self.write_all(&all).await
    }

    /// Forgets a folder that is visible now (or gone).
    pub async fn remove(&self, id: &str) -> Result<(), TwakeError> {
        let mut all = self.read_all().await?;
        let before = all.len();
        all.retain(|h| h.id != id);
        if all.len() == before {
            return Ok(());
        }
        self.write_all(&all).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn folders_are_kept_per_account_and_company_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hidden-folders.json");
        let alice = HiddenJournal::new(&path, "alice@s");
        let bob = HiddenJournal::new(&path, "bob@s");
        assert!(alice.list("c1").await.unwrap().is_empty(), "no file yet");
        alice.add("c1", "f1", "photos").await.unwrap();
        alice.add("c2", "f2", "other company").await.unwrap();
        bob.add("c1", "f3", "bob's").await.unwrap();
        let mine = alice.list("c1").await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            (mine[0].id.as_str(), mine[0].name.as_str()),
            ("f1", "photos")
        );
        alice.remove("f1").await.unwrap();
        assert!(alice.list("c1").await.unwrap().is_empty());
        assert_eq!(bob.list("c1").await.unwrap().len(), 1, "others are kept");
    }

    #[tokio::test]
    async fn a_damaged_journal_is_a_clear_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hidden-folders.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = HiddenJournal::new(&path, "a").list("c").await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("hidden-folders.json"), "{text}");
    }
}
