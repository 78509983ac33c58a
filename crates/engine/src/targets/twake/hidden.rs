//! A small journal of the new top folders being built hidden in the trash, each with the
//! files it still waits for. If the program stops before a folder's last file is in
//! (killed, power cut), the next session of the same account takes the folder up again from
//! here: the files that resume go into the same folder instead of a second one, and the
//! folder appears when its last file is in, not before. A folder that waited longer than
//! `MAX_WAIT` (its files were dropped from the queue meanwhile) is made visible as it is.

use super::error::TwakeError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a hidden folder waits for its files across sessions before it is shown anyway.
pub const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// One hidden folder: which account and company it belongs to, its Drive item id, and the
/// server paths of the files it still waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenFolder {
    pub account: String,
    pub company_id: String,
    pub id: String,
    pub name: String,
    /// Files announced and not yet in. Empty in journals of older versions: then the folder
    /// is shown at the next session, as those versions did.
    #[serde(default)]
    pub waits_for: Vec<String>,
    /// Files already placed in it.
    #[serde(default)]
    pub placed: usize,
    /// When it was created (Unix seconds; 0 in older journals).
    #[serde(default)]
    pub since: u64,
}

impl HiddenFolder {
    /// True when the next session should take the folder up again rather than show it.
    pub fn still_waiting(&self, now: SystemTime) -> bool {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(self.since);
        let waited = now.duration_since(created).unwrap_or_default();
        !self.waits_for.is_empty() && self.since > 0 && waited < MAX_WAIT
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

    /// Records a folder just created in the trash, waiting for `waits_for`.
    pub async fn add(
        &self,
        company_id: &str,
        id: &str,
        name: &str,
        waits_for: &[String],
    ) -> Result<(), TwakeError> {
        let mut all = self.read_all().await?;
        all.push(HiddenFolder {
            account: self.account.clone(),
            company_id: company_id.to_string(),
            id: id.to_string(),
            name: name.to_string(),
            waits_for: waits_for.to_vec(),
            placed: 0,
            since: unix_now(),
        });
        self.write_all(&all).await
    }

    /// Records what folder `id` waits for now.
    pub async fn update(
        &self,
        id: &str,
        waits_for: &[String],
        placed: usize,
    ) -> Result<(), TwakeError> {
        let mut all = self.read_all().await?;
        let Some(folder) = all.iter_mut().find(|h| h.id == id) else {
            return Ok(());
        };
        folder.waits_for = waits_for.to_vec();
        folder.placed = placed;
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
        alice.add("c1", "f1", "photos", &[]).await.unwrap();
        alice.add("c2", "f2", "other company", &[]).await.unwrap();
        bob.add("c1", "f3", "bob's", &[]).await.unwrap();
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
    async fn what_a_folder_waits_for_is_kept_and_judged_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let journal = HiddenJournal::new(dir.path().join("h.json"), "a@s");
        let files = ["top/a".to_string(), "top/b".to_string()];
        journal.add("c", "f1", "top", &files).await.unwrap();
        journal.update("f1", &files[1..], 1).await.unwrap();
        let kept = journal.list("c").await.unwrap().remove(0);
        assert_eq!(
            (kept.waits_for.clone(), kept.placed),
            (vec!["top/b".into()], 1)
        );
        let now = SystemTime::now();
        assert!(kept.still_waiting(now));
        assert!(!kept.still_waiting(now + MAX_WAIT + Duration::from_secs(1)));
        let done = HiddenFolder {
            waits_for: vec![],
            ..kept.clone()
        };
        assert!(!done.still_waiting(now), "nothing left to wait for");
        let old = HiddenFolder { since: 0, ..kept };
        assert!(
            !old.still_waiting(now),
            "an older journal's folder is shown"
        );
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
