//! The uploads the receiver knows, in memory: what each identifier is bound to, which
//! chunks are stored, whether it is finished, and when it was last touched. It owns the
//! per-upload locks that make completion happen exactly once, the claims on chunk ranges
//! of the data file, the running hash, and the expiry sweep.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use sha2::Sha256;

use crate::rejection::Rejection;
use crate::storage::{DoneRecord, LoadedUpload, RangeClaim, Storage, UploadSpec};

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
    /// Held while a chunk is committed (copied in if staged, logged, hashed) and while the
    /// file is completed: the one request that completes the set moves the file into
    /// place, the others wait and then see `done`.
    pub commit: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<UploadState>,
    /// Who may write each chunk's range of the data file right now (see [`WriteClaim`]).
    writers: Mutex<HashMap<u64, Weak<WriteClaim>>>,
    /// The running SHA-256 of the file: only touched under the commit lock.
    hash: Mutex<HashCursor>,
}

/// The file's SHA-256 so far: chunks `1..=through` are hashed, each exactly once, in order.
/// Kept in memory only; a restarted receiver starts again from chunk 1.
#[derive(Debug, Default)]
pub(crate) struct HashCursor {
    pub hasher: Sha256,
    pub through: u64,
}

/// The right to write one chunk's range of the data file. At most one live claim per
/// chunk; a request streaming a chunk straight into the data file gets one only while that
/// chunk is not stored, and a staged chunk being committed takes it over by revoking the
/// current one. Every write is made under the claim's lock after checking it was not
/// revoked, so once [`WriteClaim::revoke`] returns, its holder writes nothing more (a
/// write in flight finishes first). The claim is released when the last reference goes,
/// including the one a blocking write job still holds after its request was dropped.
#[derive(Debug)]
pub(crate) struct WriteClaim {
    upload: Arc<Upload>,
    number: u64,
    revoked: Mutex<bool>,
}

impl WriteClaim {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.revoked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops the holder's writes; waits for a write in flight. Blocking.
    pub fn revoke(&self) {
        *self.lock() = true;
    }
}

impl RangeClaim for WriteClaim {
    /// Writes `bytes` at `offset` unless the claim was revoked; says whether it wrote.
    /// Blocking.
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> std::io::Result<bool> {
        let revoked = self.lock();
        if *revoked {
            return Ok(false);
        }
        file.write_all_at(bytes, offset)?;
        Ok(true)
    }

    /// Where the claimed chunk starts in the data file.
    fn range_start(&self) -> u64 {
        crate::storage::chunk_offset(&self.upload.spec.plan, self.number)
    }

    /// Gives back the disk blocks of `len` bytes at `offset` (the claimed chunk's range,
    /// never stored, after a failed write), unless the claim was revoked: a disk-full
    /// chunk must not keep the space it got before failing. Best effort. Blocking.
    fn release_range(&self, file: &File, offset: u64, len: u64) {
        let revoked = self.lock();
        if !*revoked {
            punch_hole(file, offset, len);
        }
    }

    fn is_revoked(&self) -> bool {
        *self.lock()
    }
}

/// Deallocates a range of `file`, leaving zeros and the file size unchanged.
#[cfg(target_os = "linux")]
fn punch_hole(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: fallocate only reads its integer arguments; the descriptor is open and
    // owned by `file` for the duration of the call.
    let result = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            len,
        )
    };
    if result != 0 {
        tracing::debug!(err = %std::io::Error::last_os_error(), "cannot free a failed chunk's range");
    }
}

#[cfg(not(target_os = "linux"))]
fn punch_hole(_file: &File, _offset: u64, _len: u64) {}

impl Drop for WriteClaim {
    fn drop(&mut self) {
        let mut writers = self.upload.writers();
        if writers
            .get(&self.number)
            .is_some_and(|weak| std::ptr::eq(weak.as_ptr(), self))
        {
            writers.remove(&self.number);
        }
    }
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
            writers: Mutex::new(HashMap::new()),
            hash: Mutex::new(HashCursor::default()),
        }
    }

    fn writers(&self) -> MutexGuard<'_, HashMap<u64, Weak<WriteClaim>>> {
        self.writers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The running hash; the caller holds the commit lock.
    pub fn hash_cursor(&self) -> MutexGuard<'_, HashCursor> {
        self.hash
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The running hash if nobody holds it right now (a commit may be hashing).
    pub fn try_hash_cursor(&self) -> Option<MutexGuard<'_, HashCursor>> {
        match self.hash.try_lock() {
            Ok(cursor) => Some(cursor),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// A claim to stream chunk `number` straight into the data file, if that is safe: the
    /// upload is live and unfinished, the chunk is not stored, and nobody else is writing
    /// it. Otherwise the caller stages the body in a file of its own.
    pub fn try_claim(self: &Arc<Self>, number: u64) -> Option<Arc<WriteClaim>> {
        // The state lock is held across the writers check, so a chunk cannot become
        // stored (which its claim holder does under the state lock) in between.
        let state = self.state();
        if state.removed || state.done.is_some() || state.received.contains(&number) {
            return None;
        }
        let mut writers = self.writers();
        if writers
            .get(&number)
            .is_some_and(|weak| weak.strong_count() > 0)
        {
            return None;
        }
        let claim = Arc::new(WriteClaim {
            upload: Arc::clone(self),
            number,
            revoked: Mutex::new(false),
        });
        writers.insert(number, Arc::downgrade(&claim));
        Some(claim)
    }

    /// Takes chunk `number`'s range over from whoever is writing it, for a staged chunk
    /// about to be copied in. The caller holds the commit lock and has checked that the
    /// chunk is not stored. Blocking (waits for the previous holder's write in flight).
    pub fn force_claim(self: &Arc<Self>, number: u64) -> Arc<WriteClaim> {
        let claim = Arc::new(WriteClaim {
            upload: Arc::clone(self),
            number,
            revoked: Mutex::new(false),
        });
        let previous = self
            .writers()
            .insert(number, Arc::downgrade(&claim))
            .and_then(|weak| weak.upgrade());
        if let Some(previous) = previous {
            previous.revoke();
        }
        claim
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
