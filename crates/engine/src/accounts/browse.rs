//! Browsing an account's Drive, whichever Twake Drive it is on: what a folder holds and a new
//! folder in it, for the app's folder chooser and `twake-upload ls`. The front ends see one
//! shape (`Entry`) and one set of errors (`TwakeError`), so a cozy-stack account is chosen
//! and browsed exactly like a tdrive one.

use super::{AccountKind, Accounts};
use crate::targets::cozy::folders::{self as cozy_folders, Folders, Made};
use crate::targets::twake::{drive, TwakeError};

/// One thing in a Drive folder (trashed things are never listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_folder: bool,
    /// A file's size in bytes, when the server gives it.
    pub size: Option<u64>,
}

/// Folders first, then files, each by name as a person reads it (case left aside).
fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| {
        (!a.is_folder, a.name.to_lowercase(), &a.name).cmp(&(
            !b.is_folder,
            b.name.to_lowercase(),
            &b.name,
        ))
    });
    entries
}

impl Accounts {
    /// What folder `path` ("" or "/" for the root, "/a/b" below) of account `name`'s Drive
    /// holds. A missing folder is `FolderNotFound`.
    pub async fn list_folder(&self, name: &str, path: &str) -> Result<Vec<Entry>, TwakeError> {
        let account = self.get(name).await?;
        let path = drive::normal_path(path);
        let entries = match account.kind {
            AccountKind::Tdrive => {
                let (_, details) = self.drive(name).await?.resolve(&path).await?;
                details
                    .children
                    .into_iter()
                    .filter(|c| !c.is_in_trash)
                    .map(|c| Entry {
                        name: c.name,
                        is_folder: c.is_directory,
                        size: c.size,
                    })
                    .collect()
            }
            AccountKind::Cozy => {
                let session = self.cozy_session_of(name).await?;
                Folders::contents(&session, &path)
                    .await?
                    .ok_or_else(|| TwakeError::FolderNotFound {
                        server: account.server.clone(),
                        path: path.clone(),
                    })?
                    .into_iter()
                    .map(|d| Entry {
                        is_folder: d.is_dir(),
                        size: d.attributes.size,
                        name: d.attributes.name,
                    })
                    .collect()
            }
        };
        Ok(sorted(entries))
    }

    /// Makes folder `folder` inside `parent` of account `name`'s Drive, for a person's "New
    /// folder": `FolderExists` when a folder has the name, `FileExists` when a file has it
    /// (a Drive on cozy-stack holds one thing per name), and nothing is made then.
    pub async fn make_folder(
        &self,
        name: &str,
        parent: &str,
        folder: &str,
    ) -> Result<(), TwakeError> {
        let account = self.get(name).await?;
        let parent = drive::normal_path(parent);
        match account.kind {
            AccountKind::Tdrive => self.drive(name).await?.new_folder(&parent, folder).await,
            AccountKind::Cozy => {
                let session = self.cozy_session_of(name).await?;
                match Folders::default().make(&session, &parent, folder).await? {
                    Made::New(_) => Ok(()),
                    Made::Existing => Err(TwakeError::FolderExists {
                        server: account.server,
                        path: cozy_folders::join(&parent, folder),
                    }),
                    Made::FileThere => Err(TwakeError::FileExists {
                        server: account.server,
                        path: cozy_folders::join(&parent, folder),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_folder: bool) -> Entry {
        Entry {
            name: name.into(),
            is_folder,
            size: None,
        }
    }

    #[test]
    fn folders_come_first_then_files_by_name_whatever_the_case() {
        let got = sorted(vec![
            entry("b.txt", false),
            entry("Zeta", true),
            entry("A.txt", false),
            entry("alpha", true),
        ]);
        let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha", "Zeta", "A.txt", "b.txt"]);
    }
}
