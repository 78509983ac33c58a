//! The uploads the receiver knows, in memory: what each identifier is bound to, which
//! chunks are stored, whether it is finished, and when it was last touched. It owns the
//! per-upload locks that make assembly happen exactly once, and the expiry sweep.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::plan::ChunkPlan;
use crate::rejection::Rejection;
use crate::relpath::RelativePath;
use crate::storage::{DoneRecord, LoadedUpload, Storage};

/// What an identifier is bound to by its first chunk; every later chunk must agree, so
/// two different files sharing an identifier cannot mix their bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadSpec {
    pub identifier: String,
    pub path: RelativePath,
    pub plan: ChunkPlan,
}

/// The changing part of an upload, behind a short-lived lock.
#[derive(Debug)]
pub(crate) struct UploadState {
    /// Chunk numbers stored in full, at their planned size.
    pub received: BTreeSet<u64>,
    pub done: Option<DoneRecord>,
    pub last_activity: SystemTime,
    /// Set by the expiry sweep: a request still holding this upload must not store into it.
    pub removed: bool,
}

/// One upload, shared by the requests working on it.
#[derive(Debug)]
pub(crate) struct Upload {
    pub spec: UploadSpec,
    pub dir: PathBuf,
    /// Created lazily by the first chunk, so a refused first chunk leaves no folder.
    dir_ready: tokio::sync::OnceCell<()>,
    /// Held while a chunk is renamed into place and while the file is assembled: the one
    /// request that completes the set assembles, the others wait and then see `done`.
    pub commit: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<UploadState>,
}

/// All known uploads by identifier.
#[derive(Debug)]
pub(crate) struct Registry {
    uploads: Mutex<HashMap<String, Arc<Upload>>>,
    storage: Arc<Storage>,
    max_in_progress: usize,
    expiry: Duration,
}

impl Upload {
    fn new(spec: UploadSpec, dir: PathBuf, state: UploadState, dir_exists: bool) -> Self {
        let dir_ready = if dir_exists {
            tokio::sync::OnceCell::new_with(Some(()))
        } else {
            tokio::sync::OnceCell::new()
        };
        Upload {
            spec,
            dir,
            dir_ready,
            commit: Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(state),
        }
    }

    /// The state lock. A panic while holding it cannot leave it half-updated (every
    /// update is a single insert or assignment), so a poisoned lock is still usable.
    pub fn state(&self) -> MutexGuard<'_, UploadState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates the upload's folder and plan record on first use.
    pub async fn ensure_dir(&self, storage: &Arc<Storage>) -> Result<(), Rejection> {
        self.dir_ready
            .get_or_try_init(|| async {
                let storage = Arc::clone(storage);
                let dir = self.dir.clone();
                let spec = self.spec.clone();
                let what = format!("creating the folder for '{}'", spec.path.as_str());
                match tokio::task::spawn_blocking(move || storage.create_upload_dir(&dir, &spec))
                    .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => Err(Rejection::from_io(&what, &err)),
                    Err(join) => Err(Rejection::from_io(&what, &std::io::Error::other(join))),
                }
            })
            .await
            .map(|_| ())
    }
}

impl Registry {
    pub fn new(
        storage: Arc<Storage>,
        loaded: Vec<LoadedUpload>,
        max_in_progress: usize,
        expiry: Duration,
    ) -> Self {
        let uploads = loaded
            .into_iter()
            .map(|upload| {
                let dir = storage.upload_dir(&upload.spec.identifier);
                let state = UploadState {
                    received: upload.received.into_iter().collect(),
                    done: upload.done,
                    last_activity: upload.last_activity,
                    removed: false,
                };
                let identifier = upload.spec.identifier.clone();
                (
                    identifier,
                    Arc::new(Upload::new(upload.spec, dir, state, true)),
                )
            })
            .collect();
        Registry {
            uploads: Mutex::new(uploads),
            storage,
            max_in_progress,
            expiry,
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Upload>>> {
        self.uploads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn by_identifier(&self, identifier: &str) -> Option<Arc<Upload>> {
        self.map().get(identifier).cloned()
    }

    /// The upload bound to `spec.identifier`, if there is one; refused if it was bound to
    /// a different file. Touches it, so a client still testing chunks keeps it alive.
    pub fn find(&self, spec: &UploadSpec) -> Result<Option<Arc<Upload>>, Rejection> {
        match self.by_identifier(&spec.identifier) {
            Some(upload) => {
                check_same(&upload.spec, spec)?;
                upload.state().last_activity = SystemTime::now();
                Ok(Some(upload))
            }
            None => Ok(None),
        }
    }

    /// The upload for `spec`, created if new, unless too many are already in progress.
    pub fn find_or_create(&self, spec: &UploadSpec) -> Result<Arc<Upload>, Rejection> {
        let mut map = self.map();
        if let Some(upload) = map.get(&spec.identifier) {
            check_same(&upload.spec, spec)?;
            upload.state().last_activity = SystemTime::now();
            return Ok(Arc::clone(upload));
        }
        let in_progress = map.values().filter(|u| u.state().done.is_none()).count();
        if in_progress >= self.max_in_progress {
            return Err(Rejection::busy(
                "too_many_uploads",
                format!(
                    "the receiver already has {in_progress} unfinished uploads (its limit); \
                     retry '{}' when some have finished or expired",
                    spec.path.as_str()
                ),
                60,
            ));
        }
        let state = UploadState {
            received: BTreeSet::new(),
            done: None,
            last_activity: SystemTime::now(),
            removed: false,
        };
        let dir = self.storage.upload_dir(&spec.identifier);
        let upload = Arc::new(Upload::new(spec.clone(), dir, state, false));
        map.insert(spec.identifier.clone(), Arc::clone(&upload));
        Ok(upload)
    }

    pub fn all(&self) -> Vec<Arc<Upload>> {
        self.map().values().cloned().collect()
    }

    /// Forgets uploads untouched for longer than the expiry and moves their folders to the
    /// trash; returns the trash folders for the caller to delete. An upload whose commit
    /// lock is held is busy, hence not expired. Blocking (renames).
    pub fn sweep(&self, now: SystemTime) -> Vec<PathBuf> {
        let mut map = self.map();
        let mut trash = Vec::new();
        map.retain(|identifier, upload| {
            let Ok(_commit) = upload.commit.try_lock() else {
                return true;
            };
            let mut state = upload.state();
            let idle = now.duration_since(state.last_activity).unwrap_or_default();
            if idle <= self.expiry {
                return true;
            }
            match self.storage.move_to_trash(&upload.dir) {
                Ok(folder) => {
                    state.removed = true;
                    tracing::info!(identifier, idle_secs = idle.as_secs(), "upload expired");
                    trash.push(folder);
                    false
                }
                Err(err) => {
                    tracing::warn!(identifier, dir = %upload.dir.display(), %err, "cannot expire upload");
                    true
                }
            }
        });
        trash
    }
}

/// Refuses a request whose file does not match what its identifier is bound to.
fn check_same(bound: &UploadSpec, asked: &UploadSpec) -> Result<(), Rejection> {
    if bound == asked {
        return Ok(());
    }
    let describe = |spec: &UploadSpec| {
        format!(
            "'{}' of {} bytes in {} chunks of {}",
            spec.path.as_str(),
            spec.plan.total_size,
            spec.plan.total_chunks,
            spec.plan.chunk_size
        )
    };
    Err(Rejection::bad_request(
        "identifier_conflict",
        format!(
            "identifier '{}' is already used by {}, but this request is for {}; \
             use a different identifier for a different file",
            bound.identifier,
            describe(bound),
            describe(asked)
        ),
    ))
}
