//! Target `cozy`: Twake Drive on cozy-stack, the Drive of Twake Workplace (docs/protocol.md).
//! cozy-stack has no chunked or resumable upload: each file goes in one request
//! (`whole_file`), so resuming a file means sending it again from its start, and the queue
//! says so. Folders are found or created by path under the chosen folder (`folders`), the
//! file is sent with its MD5 (`upload`), and the collision policy is applied before any
//! byte goes. The session comes from the accounts service (`CozySessions`), asked again at
//! each file, so a new sign-in reaches uploads already queued.

pub mod api;
pub mod error;
pub mod folders;
pub mod session;
pub mod upload;

pub use error::CozyError;
pub use session::{CozySession, CredentialSink, Credentials};

use super::twake::CollisionPolicy;
use super::{
    Capabilities, ChunkReceipt, Target, TargetContext, TargetKind, TargetSpec, UploadFile,
};
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::protocol::TestAnswer;
use crate::targets::TargetError;
use async_trait::async_trait;
use folders::Folders;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upload::Destination;

/// Timeout of the small JSON requests (sign-in, folder lookups).
pub const JSON_TIMEOUT: Duration = Duration::from_secs(30);

/// The `cozy` kind: one request per file, nothing to test, a real reachability probe.
pub static KIND: TargetKind = TargetKind {
    name: "cozy",
    capabilities: Capabilities {
        whole_file: true,
        reachability_probe: true,
        ..Capabilities::NONE
    },
    build,
};

/// Where cozy targets get their account's session: the engine's accounts service, or one
/// session given whole (`FixedCozySession`, tests and tools).
#[async_trait]
pub trait CozySessions: Send + Sync + 'static {
    async fn cozy_session(&self, account: &str) -> Result<Arc<CozySession>, CozyError>;
}

pub struct FixedCozySession(pub Arc<CozySession>);

#[async_trait]
impl CozySessions for FixedCozySession {
    async fn cozy_session(&self, _account: &str) -> Result<Arc<CozySession>, CozyError> {
        Ok(self.0.clone())
    }
}

fn build(spec: &TargetSpec, context: &TargetContext) -> Result<Arc<dyn Target>, TargetError> {
    let TargetSpec::Cozy {
        account,
        folder,
        collision,
    } = spec
    else {
        return Err(TargetError::wrong_kind(spec, "cozy"));
    };
    let sessions = context
        .cozy
        .clone()
        .ok_or_else(|| TargetError::no_accounts("Twake Drive (cozy)"))?;
    Ok(Arc::new(CozyTarget::new(
        sessions,
        account,
        folder,
        *collision,
        context.http.stall_timeout,
    )))
}

/// Timeout of the "does the instance answer at all" probe while the queue is offline.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct CozyTarget {
    sessions: Arc<dyn CozySessions>,
    account: String,
    /// The destination folder's path, "" or "/" for the root.
    folder: String,
    collision: CollisionPolicy,
    stall: Duration,
    /// Folder ids by path, per session (a new sign-in may be another instance's user).
    folders: tokio::sync::Mutex<Option<(Arc<CozySession>, Arc<Folders>)>>,
    /// MD5s already read, by upload identifier, size and mtime: a retry does not read the
    /// file twice more.
    md5s: Mutex<HashMap<String, String>>,
}

impl CozyTarget {
    pub fn new(
        sessions: Arc<dyn CozySessions>,
        account: &str,
        folder: &str,
        collision: CollisionPolicy,
        stall: Duration,
    ) -> CozyTarget {
        CozyTarget {
            sessions,
            account: account.to_string(),
            folder: folder.to_string(),
            collision,
            stall,
            folders: tokio::sync::Mutex::new(None),
            md5s: Mutex::new(HashMap::new()),
        }
    }

    /// A target over one session opened elsewhere (tests, tools).
    pub fn with_session(
        session: Arc<CozySession>,
        folder: &str,
        collision: CollisionPolicy,
        stall: Duration,
    ) -> CozyTarget {
        let account = session.account().to_string();
        CozyTarget::new(
            Arc::new(FixedCozySession(session)),
            &account,
            folder,
            collision,
            stall,
        )
    }

    async fn ready(&self) -> Result<(Arc<CozySession>, Arc<Folders>), CozyError> {
        let session = self.sessions.cozy_session(&self.account).await?;
        let mut held = self.folders.lock().await;
        if let Some((s, f)) = held.as_ref() {
            if Arc::ptr_eq(s, &session) {
                return Ok((s.clone(), f.clone()));
            }
        }
        let fresh = (session, Arc::new(Folders::default()));
        *held = Some(fresh.clone());
        Ok(fresh)
    }

    async fn md5_of(&self, file: &UploadFile) -> Result<String, ChunkError> {
        let key = format!("{}|{}|{:?}", file.identifier, file.plan.size, file.mtime);
        if let Some(known) = self.md5s.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(known);
        }
        let md5 = upload::content_md5(file).await?;
        if let Ok(mut m) = self.md5s.lock() {
            m.insert(key, md5.clone());
        }
        Ok(md5)
    }

    /// Where the file goes under the collision policy, or why it is not sent (`Declined`).
    async fn destination(
        &self,
        session: &CozySession,
        folders: &Folders,
        file: &UploadFile,
    ) -> Result<Destination, ChunkError> {
        let path = folders::join(&self.folder, &file.relative_path);
        let (parent, name) = folders::split(&path);
        let dir_id = folders
            .ensure(session, &parent)
            .await
            .map_err(CozyError::into_chunk_error)?;
        let existing = Folders::lookup(session, &path)
            .await
            .map_err(CozyError::into_chunk_error)?;
        let Some(existing) = existing else {
            return Ok(Destination::New { dir_id, name });
        };
        match self.collision {
            CollisionPolicy::Skip => Err(ChunkError::Declined {
                reason: format!(
                    "{path} already exists on {}: skipped, as the collision policy says",
                    session.server()
                ),
            }),
            CollisionPolicy::Version if !existing.is_dir() => Ok(Destination::Version {
                id: existing.id,
                rev: existing.meta.rev,
            }),
            // Keep both, or a folder holds the name: the next free copy name.
            _ => {
                let mut candidate = upload::next_copy_name(&name);
                loop {
                    let taken = Folders::lookup(session, &folders::join(&parent, &candidate))
                        .await
                        .map_err(CozyError::into_chunk_error)?;
                    if taken.is_none() {
                        return Ok(Destination::New {
                            dir_id,
                            name: candidate,
                        });
                    }
                    candidate = upload::next_copy_name(&candidate);
                }
            }
        }
    }
}

#[async_trait]
impl Target for CozyTarget {
    fn label(&self) -> String {
        format!("cozy:{}:{}", self.account, folders::join(&self.folder, ""))
    }

    fn capabilities(&self) -> Capabilities {
        KIND.capabilities
    }

    fn account(&self) -> Option<String> {
        Some(self.account.clone())
    }

    async fn prepare(&self, _relative_paths: &[String]) -> Result<(), ChunkError> {
        // The destination must be a folder (made if missing) before anything is queued.
        let (session, folders) = self.ready().await.map_err(CozyError::into_chunk_error)?;
        folders
            .ensure(&session, &folders::join(&self.folder, ""))
            .await
            .map(|_| ())
            .map_err(CozyError::into_chunk_error)
    }

    async fn test_chunk(&self, _file: &UploadFile, _number: u32) -> Result<TestAnswer, ChunkError> {
        // Nothing of a file is kept by the stack until the whole of it arrived.
        Ok(TestAnswer::Absent)
    }

    async fn send_chunk(
        &self,
        file: &UploadFile,
        _number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        if file.plan.size > upload::MAX_FILE_SIZE {
            return Err(CozyError::FileTooBig {
                path: file.path.clone(),
                size: file.plan.size,
                limit: upload::MAX_FILE_SIZE,
            }
            .into_chunk_error());
        }
        let (session, folders) = self.ready().await.map_err(CozyError::into_chunk_error)?;
        let to = self.destination(&session, &folders, file).await;
        let to = match to {
            Err(ChunkError::Permanent {
                kind: crate::events::FailureKind::NotFound,
                ..
            }) => {
                // A folder deleted since it was looked up: forget it and look once more.
                folders.forget_under(&folders::join(&self.folder, "")).await;
                self.destination(&session, &folders, file).await?
            }
            other => other?,
        };
        let md5 = self.md5_of(file).await?;
        match upload::send(&session, file, &to, &md5, body, self.stall).await {
            // The folder went away after it was looked up (deleted on another device): the
            // next attempt makes it again, as the tree being mirrored still has it.
            Err(ChunkError::Permanent {
                kind: crate::events::FailureKind::NotFound,
                url,
                message,
                ..
            }) => {
                folders.forget_under(&folders::join(&self.folder, "")).await;
                Err(ChunkError::Retryable {
                    url,
                    status: 404,
                    message: format!("{message} (it is made again on the next attempt)"),
                    retry_after: None,
                })
            }
            other => other,
        }
    }

    async fn reachable(&self) -> Result<(), ChunkError> {
        let session = match self.ready().await {
            Ok((s, _)) => s,
            Err(e @ CozyError::Unreachable { .. }) => return Err(e.into_chunk_error()),
            Err(_) => return Ok(()),
        };
        session
            .client()
            .get(session.url("/version"))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CozyError::from_transport(session.server(), &e).into_chunk_error())
    }
}
