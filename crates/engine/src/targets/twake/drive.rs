//! Putting uploaded files into the Drive (docs/protocol.md, "Put it in the Drive"): resolve the
//! chosen folder, mirror the local folder tree under it (reusing folders that exist, never
//! duplicating them), detect name collisions by listing the parent first (the server would
//! silently rename), and apply the collision policy. Names are compared in Unicode NFC, so
//! `résumé.txt` written decomposed (NFD, as macOS does) meets the composed one already in the
//! Drive instead of becoming a second item that looks the same. A new top folder is built in the trash
//! and restored once all its announced files are in, as the web client does, so other users
//! never see a half-uploaded folder.

use super::api::{self, CreateItem, DriveItem, ItemDetails, NewItem, NewVersion};
use super::error::TwakeError;
use super::hidden::HiddenJournal;
use super::session::Session;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Children per page: the GET listing stops at this many, `browse` pages past it.
pub const PAGE: usize = 1000;

/// What to do when the Drive folder already has an item with the file's name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollisionPolicy {
    /// Add the upload as a new version of the existing item.
    #[default]
    Version,
    /// Create another item; the server names it `name-2.ext`.
    KeepBoth,
    /// Leave the existing item alone and drop the upload.
    Skip,
}

impl std::str::FromStr for CollisionPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "version" => Ok(CollisionPolicy::Version),
            "keep-both" | "keep_both" | "keepboth" => Ok(CollisionPolicy::KeepBoth),
            "skip" => Ok(CollisionPolicy::Skip),
            other => Err(format!(
                "unknown collision policy '{other}': use version, keep-both or skip"
            )),
        }
    }
}

/// What happened to one uploaded file in the Drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Created { item_id: String, name: String },
    NewVersion { item_id: String },
    Skipped { existing_id: String, reason: String },
}

/// A new top folder being built in the trash.
struct Batch {
    id: String,
    /// Relative paths announced and not yet placed (or cancelled).
    expected: HashSet<String>,
    placed: usize,
    published: bool,
}

#[derive(Default)]
struct Folders {
    /// Drive folder id of each resolved path under the destination ("" = the destination).
    ids: HashMap<String, String>,
    /// Children of folders we listed, by name, kept current as we add items.
    children: HashMap<String, HashMap<String, DriveItem>>,
    /// New top folders in the trash, by name.
    batches: HashMap<String, Batch>,
}

pub struct Drive {
    session: Arc<Session>,
    company_id: String,
    /// `user_<id>`: the user's own drive.
    root_id: String,
    /// The chosen Drive folder, `/`-separated, "" for My Drive's root.
    folder: String,
    collision: CollisionPolicy,
    state: tokio::sync::Mutex<Folders>,
    /// Where new hidden top folders are noted, so a later session can restore them.
    journal: Option<HiddenJournal>,
}

/// The form names are compared in: NFC, so composed and decomposed accents are one name.
pub fn name_key(name: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc()
        .normalize(name)
        .into_owned()
}

/// Splits a Drive path ("/Projects/2026/") into its names.
pub fn path_names(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// A Drive path in normal form, however it was typed: "" for the root, else "/a/b".
pub fn normal_path(path: &str) -> String {
    path_names(path).iter().map(|n| format!("/{n}")).collect()
}

impl Drive {
    pub fn new(
        session: Arc<Session>,
        company_id: &str,
        user_id: &str,
        folder: &str,
        collision: CollisionPolicy,
    ) -> Drive {
        Drive {
            session,
            company_id: company_id.to_string(),
            root_id: format!("user_{user_id}"),
            folder: path_names(folder).join("/"),
            collision,
            state: tokio::sync::Mutex::new(Folders::default()),
            journal: None,
        }
    }

    /// Notes hidden top folders in `journal` (see `hidden.rs`).
    pub fn with_journal(mut self, journal: HiddenJournal) -> Drive {
        self.journal = Some(journal);
        self
    }

    /// Takes up the top folders an earlier session left in the trash (it stopped before
    /// their last file was in): they stay hidden, the files that resume go into them, and
    /// each appears when the last file it waits for is in. A folder with nothing left to
    /// wait for, or that waited too long, is made visible now. Returns the names restored.
    pub async fn recover_hidden(&self) -> Result<Vec<String>, TwakeError> {
        let Some(journal) = &self.journal else {
            return Ok(Vec::new());
        };
        let mut restored = Vec::new();
        let now = std::time::SystemTime::now();
        for folder in journal.list(&self.company_id).await? {
            if folder.still_waiting(now) {
                let mut state = self.state.lock().await;
                state.ids.insert(folder.name.clone(), folder.id.clone());
                state.batches.insert(
                    folder.name.clone(),
                    Batch {
                        id: folder.id.clone(),
                        expected: folder.waits_for.iter().cloned().collect(),
                        placed: folder.placed,
                        published: false,
                    },
                );
                continue;
            }
            match self.restore(&folder.id).await {
                Ok(()) => restored.push(folder.name.clone()),
                // Deleted from the trash meanwhile: nothing left to show.
                Err(TwakeError::Server { status: 404, .. }) => {}
                Err(e) => {
                    tracing::warn!("could not make the folder '{}' visible: {e}", folder.name);
                    continue;
                }
            }
            journal.remove(&folder.id).await?;
        }
        Ok(restored)
    }

    async fn restore(&self, id: &str) -> Result<(), TwakeError> {
        let path = format!("{}/restore", api::item(&self.company_id, id));
        let url = self.session.url(&path);
        self.session
            .send(|| {
                self.session
                    .client()
                    .post(&url)
                    .json(&serde_json::json!({}))
            })
            .await
            .and_then(|a| a.ok(self.session.server()))
    }

    fn shown_folder(&self) -> String {
        format!("/{}", self.folder)
    }

    /// The folder and all its children (paged past the 1000 the GET listing returns).
    pub async fn list(&self, folder_id: &str) -> Result<ItemDetails, TwakeError> {
        let cid = &self.company_id;
        let mut details: ItemDetails = self.session.get_json(&api::item(cid, folder_id)).await?;
        if details.children.len() < PAGE {
            return Ok(details);
        }
        let mut seen: HashSet<String> = details.children.iter().map(|c| c.id.clone()).collect();
        for page in 0.. {
            let body = serde_json::json!({
                "paginate": {
                    "page": page, "limit": PAGE,
                    "page_token": page.to_string(), "limitStr": PAGE.to_string(),
                }
            });
            let more: ItemDetails = self
                .session
                .post_json(&api::browse(cid, folder_id), &body)
                .await?;
            let count = more.children.len();
            for child in more.children {
                if seen.insert(child.id.clone()) {
                    details.children.push(child);
                }
            }
            if count < PAGE {
                break;
            }
        }
        Ok(details)
    }

    /// Resolves a Drive path from My Drive's root, with its listing.
    pub async fn resolve(&self, path: &str) -> Result<(String, ItemDetails), TwakeError> {
        let mut id = self.root_id.clone();
        let mut details = self.list(&id).await?;
        let mut walked = String::new();
        for name in path_names(path) {
            walked = format!("{walked}/{name}");
            let next = details
                .children
                .iter()
                .find(|c| c.is_directory && !c.is_in_trash && name_key(&c.name) == name_key(name))
                .map(|c| c.id.clone())
                .ok_or_else(|| TwakeError::FolderNotFound {
                    server: self.session.server().to_string(),
                    path: walked.clone(),
                })?;
            id = next;
            details = self.list(&id).await?;
        }
        Ok((id, details))
    }

    /// The destination folder's id, checked once for write access.
    async fn destination(&self, state: &mut Folders) -> Result<String, TwakeError> {
        if let Some(id) = state.ids.get("") {
            return Ok(id.clone());
        }
        let (id, details) = self.resolve(&self.folder).await?;
        let access = details.access.as_deref().unwrap_or("manage");
        if !matches!(access, "write" | "manage") {
            return Err(TwakeError::NoWriteAccess {
                server: self.session.server().to_string(),
                folder: self.shown_folder(),
                message: format!("your access is '{access}'"),
            });
        }
        remember_children(state, &id, details.children);
        state.ids.insert(String::new(), id.clone());
        Ok(id)
    }

    /// Creates a folder named `name` in the Drive folder `parent` (a path from My Drive's
    /// root), as a person does from a folder chooser; a visible folder of that name already
    /// there is refused, never doubled.
    pub async fn new_folder(&self, parent: &str, name: &str) -> Result<(), TwakeError> {
        let (parent_id, details) = self.resolve(parent).await?;
        if details
            .children
            .iter()
            .any(|c| c.is_directory && !c.is_in_trash && name_key(&c.name) == name_key(name))
        {
            return Err(TwakeError::FolderExists {
                server: self.session.server().to_string(),
                path: format!("{}/{name}", parent.trim_end_matches('/')),
            });
        }
        let mut state = self.state.lock().await;
        self.create_folder(&mut state, &parent_id, name, false)
            .await
            .map(|_| ())
    }

    /// Checks that the destination exists and can be written to (before any byte is sent).
    pub async fn check_destination(&self) -> Result<(), TwakeError> {
        let mut state = self.state.lock().await;
        self.destination(&mut state).await.map(|_| ())
    }

    async fn children<'a>(
        &self,
        state: &'a mut Folders,
        folder_id: &str,
    ) -> Result<&'a mut HashMap<String, DriveItem>, TwakeError> {
        if !state.children.contains_key(folder_id) {
            let details = self.list(folder_id).await?;
            remember_children(state, folder_id, details.children);
        }
        Ok(state.children.entry(folder_id.to_string()).or_default())
    }

    async fn create(&self, body: &CreateItem<'_>) -> Result<DriveItem, TwakeError> {
        self.session
            .post_json(&api::items(&self.company_id), body)
            .await
            .map_err(|e| self.refine(e))
    }

    /// A refusal to create in our folder is a missing write access, said as such.
    fn refine(&self, e: TwakeError) -> TwakeError {
        match e {
            TwakeError::Server {
                status: 401 | 403,
                message,
                ..
            } => TwakeError::NoWriteAccess {
                server: self.session.server().to_string(),
                folder: self.shown_folder(),
                message,
            },
            other => other,
        }
    }

    async fn create_folder(
        &self,
        state: &mut Folders,
        parent_id: &str,
        name: &str,
        in_trash: bool,
    ) -> Result<DriveItem, TwakeError> {
        let created = self
            .create(&CreateItem {
                item: NewItem {
                    parent_id,
                    name,
                    is_directory: true,
                    company_id: &self.company_id,
                    is_in_trash: in_trash,
                },
                version: serde_json::json!({}),
            })
            .await?;
        if created.name != name {
            tracing::warn!(
                "Twake Drive named the new folder '{}' instead of '{name}' (an item of that name \
                 is in the trash)",
                created.name
            );
        }
        if !in_trash {
            self.children(state, parent_id)
                .await?
                .insert(name_key(&created.name), created.clone());
        }
        state.children.insert(created.id.clone(), HashMap::new());
        Ok(created)
    }

    /// The folder for the directories of `relative_path`, created where missing.
    async fn folder_for(
        &self,
        state: &mut Folders,
        relative_path: &str,
    ) -> Result<String, TwakeError> {
        let mut id = self.destination(state).await?;
        let names: Vec<&str> = relative_path.split('/').collect();
        let mut walked = String::new();
        for name in &names[..names.len().saturating_sub(1)] {
            walked = if walked.is_empty() {
                name.to_string()
            } else {
                format!("{walked}/{name}")
            };
            if let Some(known) = state.ids.get(&walked) {
                id = known.clone();
                continue;
            }
            let existing = self
                .children(state, &id)
                .await?
                .get(&name_key(name))
                .filter(|c| c.is_directory)
                .map(|c| c.id.clone());
            id = match existing {
                Some(found) => found,
                None => self.create_folder(state, &id, name, false).await?.id,
            };
            state.ids.insert(walked.clone(), id.clone());
        }
        Ok(id)
    }

    /// The folder holding `relative_path` if all its folders exist (nothing is created).
    async fn existing_folder_for(
        &self,
        state: &mut Folders,
        relative_path: &str,
    ) -> Result<Option<String>, TwakeError> {
        let mut id = self.destination(state).await?;
        let names: Vec<&str> = relative_path.split('/').collect();
        for name in &names[..names.len().saturating_sub(1)] {
            let found = self
                .children(state, &id)
                .await?
                .get(&name_key(name))
                .filter(|c| c.is_directory)
                .map(|c| c.id.clone());
            match found {
                Some(next) => id = next,
                None => return Ok(None),
            }
        }
        Ok(Some(id))
    }

    /// The folder and the Drive file at `relative_path`, if both exist (nothing is created).
    async fn existing_file(
        &self,
        state: &mut Folders,
        relative_path: &str,
    ) -> Result<Option<(String, DriveItem)>, TwakeError> {
        let Some(folder) = self.existing_folder_for(state, relative_path).await? else {
            return Ok(None);
        };
        let name = relative_path.rsplit('/').next().unwrap_or(relative_path);
        let item = self
            .children(state, &folder)
            .await?
            .get(&name_key(name))
            .filter(|c| !c.is_directory)
            .cloned();
        Ok(item.map(|i| (folder, i)))
    }

    /// The id of the Drive item whose current version is the uploaded file `file_id`, in the
    /// folder of `relative_path`: found by the file it holds, not by its name, so a file the
    /// server renamed (keep-both) is found, and one replaced since is not.
    pub async fn item_of_upload(
        &self,
        relative_path: &str,
        file_id: &str,
    ) -> Result<Option<String>, TwakeError> {
        let mut state = self.state.lock().await;
        let Some(folder) = self.existing_folder_for(&mut state, relative_path).await? else {
            return Ok(None);
        };
        drop(state);
        // Listed afresh: the cached children do not hold the items' versions.
        let details = self.list(&folder).await?;
        Ok(details
            .children
            .into_iter()
            .find(|c| !c.is_directory && !c.is_in_trash && c.current_file() == Some(file_id))
            .map(|c| c.id))
    }

    /// Renames and/or moves the file at `from` (relative to the destination) to `to`,
    /// creating `to`'s folders where missing, with the item update route (`POST
    /// …/item/{id}` with `name` and `parent_id`). `Ok(false)` when there is no file at
    /// `from`, or `to` is taken: the caller uploads instead.
    pub async fn move_item(&self, from: &str, to: &str) -> Result<bool, TwakeError> {
        let mut state = self.state.lock().await;
        let Some((source_folder, item)) = self.existing_file(&mut state, from).await? else {
            return Ok(false);
        };
        let old_name = from.rsplit('/').next().unwrap_or(from);
        let dest_folder = self.folder_for(&mut state, to).await?;
        let new_name = to.rsplit('/').next().unwrap_or(to);
        if self
            .children(&mut state, &dest_folder)
            .await?
            .contains_key(&name_key(new_name))
        {
            return Ok(false);
        }
        let body = api::UpdateItem {
            name: new_name,
            parent_id: &dest_folder,
        };
        let updated: DriveItem = self
            .session
            .post_json(&api::item(&self.company_id, &item.id), &body)
            .await
            .map_err(|e| self.refine(e))?;
        if let Some(children) = state.children.get_mut(&source_folder) {
            children.remove(&name_key(old_name));
        }
        state
            .children
            .entry(dest_folder)
            .or_default()
            .insert(name_key(&updated.name), updated);
        Ok(true)
    }

    /// Announces files about to be uploaded, so new top folders are built hidden in the
    /// trash and restored when the last of their files is in.
    pub async fn announce(&self, relative_paths: &[String]) -> Result<(), TwakeError> {
        let mut state = self.state.lock().await;
        let dest = self.destination(&mut state).await?;
        // Batches that got new files, so the journal is written once per batch.
        let mut grown: HashSet<String> = HashSet::new();
        for rel in relative_paths {
            let Some((top, _)) = rel.split_once('/') else {
                continue;
            };
            if let Some(batch) = state.batches.get_mut(top) {
                if !batch.published && batch.expected.insert(rel.clone()) {
                    grown.insert(top.to_string());
                }
                continue;
            }
            if state.ids.contains_key(top) {
                continue;
            }
            let existing = self
                .children(&mut state, &dest)
                .await?
                .get(&name_key(top))
                .filter(|c| c.is_directory)
                .map(|c| c.id.clone());
            if let Some(id) = existing {
                state.ids.insert(top.to_string(), id);
                continue;
            }
            let created = self.create_folder(&mut state, &dest, top, true).await?;
            tracing::debug!("created '{top}' in the trash until its files are uploaded");
            if let Some(journal) = &self.journal {
                journal
                    .add(
                        &self.company_id,
                        &created.id,
                        top,
                        std::slice::from_ref(rel),
                    )
                    .await?;
            }
            state.ids.insert(top.to_string(), created.id.clone());
            state.batches.insert(
                top.to_string(),
                Batch {
                    id: created.id,
                    expected: HashSet::from([rel.clone()]),
                    placed: 0,
                    published: false,
                },
            );
        }
        if let Some(journal) = &self.journal {
            for top in grown {
                if let Some(batch) = state.batches.get(&top) {
                    journal
                        .update(&batch.id, &waits_for(batch), batch.placed)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Why the file at `relative_path` is not wanted, decided before any byte is sent: its
    /// name is taken in its Drive folder and the collision policy is skip. `None` otherwise
    /// (nothing is created here).
    pub async fn declines(&self, relative_path: &str) -> Result<Option<String>, TwakeError> {
        if self.collision != CollisionPolicy::Skip {
            return Ok(None);
        }
        let mut state = self.state.lock().await;
        if self
            .existing_file(&mut state, relative_path)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        // A hidden top folder stops waiting for a file that will not come.
        self.settle(&mut state, relative_path, false).await;
        Ok(Some(self.skip_reason(relative_path)))
    }

    fn skip_reason(&self, relative_path: &str) -> String {
        let name = relative_path.rsplit('/').next().unwrap_or(relative_path);
        let folder = match relative_path.rsplit_once('/') {
            Some((dirs, _)) => format!("{}/{dirs}", self.shown_folder().trim_end_matches('/')),
            None => self.shown_folder(),
        };
        format!("'{name}' is already in the Drive folder '{folder}' (collision policy skip)")
    }

    /// Places an uploaded file (server id `file_id`) at `relative_path` under the destination.
    pub async fn place(
        &self,
        relative_path: &str,
        file_id: &str,
        mime: &str,
        size: u64,
    ) -> Result<Placement, TwakeError> {
        let mut state = self.state.lock().await;
        let parent = self.folder_for(&mut state, relative_path).await?;
        let name = relative_path.rsplit('/').next().unwrap_or(relative_path);
        let existing = self
            .children(&mut state, &parent)
            .await?
            .get(&name_key(name))
            .filter(|c| !c.is_directory)
            .cloned();
        let placement = match (existing, self.collision) {
            (Some(item), CollisionPolicy::Version) => {
                let version = NewVersion::internal(file_id, name, mime, size);
                let path = format!("{}/version", api::item(&self.company_id, &item.id));
                let _: serde_json::Value = self
                    .session
                    .post_json(&path, &version)
                    .await
                    .map_err(|e| self.refine(e))?;
                Placement::NewVersion { item_id: item.id }
            }
            (Some(item), CollisionPolicy::Skip) => {
                // The name was taken while the file was being sent.
                Placement::Skipped {
                    existing_id: item.id,
                    reason: self.skip_reason(relative_path),
                }
            }
            (_, _) => {
                let created = self
                    .create(&CreateItem {
                        item: NewItem {
                            parent_id: &parent,
                            name,
                            is_directory: false,
                            company_id: &self.company_id,
                            is_in_trash: false,
                        },
                        version: serde_json::to_value(NewVersion::internal(
                            file_id, name, mime, size,
                        ))
                        .unwrap_or_default(),
                    })
                    .await?;
                if created.name != name {
                    tracing::warn!(
                        "Twake Drive stored '{relative_path}' as '{}' (another item is named \
                         '{name}', maybe in the trash)",
                        created.name
                    );
                }
                if let Some(kids) = state.children.get_mut(&parent) {
                    kids.insert(name_key(&created.name), created.clone());
                }
                Placement::Created {
                    item_id: created.id,
                    name: created.name,
                }
            }
        };
        self.settle(&mut state, relative_path, true).await;
        Ok(placement)
    }

    /// Takes a placed or cancelled file off its batch; restores the batch's top folder once
    /// nothing more is expected there and something arrived.
    async fn settle(&self, state: &mut Folders, relative_path: &str, placed: bool) {
        let Some((top, _)) = relative_path.split_once('/') else {
            return;
        };
        let Some(batch) = state.batches.get_mut(top) else {
            return;
        };
        batch.expected.remove(relative_path);
        if placed {
            batch.placed += 1;
        }
        if batch.published {
            return;
        }
        if !batch.expected.is_empty() || batch.placed == 0 {
            // Still waiting: what for is kept, so an interrupted run picks it up again.
            if let Some(journal) = &self.journal {
                let (id, left, placed) = (batch.id.clone(), waits_for(batch), batch.placed);
                if let Err(e) = journal.update(&id, &left, placed).await {
                    tracing::warn!("{e}");
                }
            }
            return;
        }
        let id = batch.id.clone();
        match self.restore(&id).await {
            Ok(()) => {
                if let Some(batch) = state.batches.get_mut(top) {
                    batch.published = true;
                }
                tracing::debug!("restored '{top}' from the trash: all its files are in");
                if let Some(journal) = &self.journal {
                    if let Err(e) = journal.remove(&id).await {
                        tracing::warn!("{e}");
                    }
                }
            }
            Err(e) => tracing::warn!("could not make the folder '{top}' visible: {e}"),
        }
    }

    /// A cancelled file will not arrive: its batch stops waiting for it.
    pub async fn forget(&self, relative_path: &str) {
        let mut state = self.state.lock().await;
        self.settle(&mut state, relative_path, false).await;
    }

    /// New top folders still hidden in the trash, with the number of files they wait for.
    pub async fn hidden_folders(&self) -> Vec<(String, usize)> {
        let state = self.state.lock().await;
        let mut out: Vec<(String, usize)> = state
            .batches
            .iter()
            .filter(|(_, b)| !b.published)
            .map(|(name, b)| (name.clone(), b.expected.len()))
            .collect();
        out.sort();
        out
    }
}

/// A batch's files still expected, in a stable order for the journal.
fn waits_for(batch: &Batch) -> Vec<String> {
    let mut left: Vec<String> = batch.expected.iter().cloned().collect();
    left.sort();
    left
}

fn remember_children(state: &mut Folders, folder_id: &str, children: Vec<DriveItem>) {
    let map = children
        .into_iter()
        .filter(|c| !c.is_in_trash)
        .map(|c| (name_key(&c.name), c))
        .collect();
    state.children.insert(folder_id.to_string(), map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_paths_ignore_extra_slashes() {
        assert_eq!(path_names("/Projects//2026/"), ["Projects", "2026"]);
        assert!(path_names("/").is_empty());
        assert!(path_names("").is_empty());
        assert_eq!(normal_path(""), "");
        assert_eq!(normal_path("/"), "");
        assert_eq!(normal_path("Reports//2026/"), "/Reports/2026");
    }

    #[test]
    fn composed_and_decomposed_accents_are_one_name() {
        assert_eq!(
            name_key("re\u{301}sume\u{301}.txt"),
            name_key("r\u{e9}sum\u{e9}.txt")
        );
        assert_ne!(name_key("resume.txt"), name_key("r\u{e9}sum\u{e9}.txt"));
    }

    #[test]
    fn collision_policies_parse_from_user_words() {
        assert_eq!("version".parse(), Ok(CollisionPolicy::Version));
        assert_eq!("keep-both".parse(), Ok(CollisionPolicy::KeepBoth));
        assert_eq!("Skip".parse(), Ok(CollisionPolicy::Skip));
        assert!("overwrite".parse::<CollisionPolicy>().is_err());
    }
}
