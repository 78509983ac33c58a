//! Target `twake`: Twake Drive (docs/protocol.md). A signed-in session (`session`), chunk upload
//! to the files service (`files`), then the file is put into a Drive folder (`drive`) with a
//! collision policy. The session comes from the engine's accounts service through `Sessions`,
//! asked again at each request, so a new sign-in reaches uploads already queued and a target
//! can be rebuilt from its `TargetSpec` alone after a restart.

pub mod api;
pub mod drive;
pub mod error;
pub mod files;
pub mod hidden;
pub mod secret;
pub mod session;
pub mod share;

pub use drive::{CollisionPolicy, Drive, Placement};
pub use error::TwakeError;
pub use hidden::HiddenJournal;
pub use secret::Secret;
pub use session::{Session, TokenSink, Tokens};

use super::{
    Capabilities, ChunkReceipt, HttpSettings, Target, TargetContext, TargetKind, TargetSpec,
    UploadFile,
};
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::protocol::TestAnswer;
use crate::targets::TargetError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Chunk size for this target unless the user picks another: large enough for throughput,
/// well under the 100 MB body limits of common reverse proxies.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// Timeout of the small JSON requests (sign-in, listings, Drive items).
pub const JSON_TIMEOUT: Duration = Duration::from_secs(30);

/// The `twake` kind: the server file is created before its chunks, which then go in any
/// order; no chunk tests; files placed in a Drive folder that may be hidden until its last
/// file is in.
pub static KIND: TargetKind = TargetKind {
    name: "twake",
    capabilities: Capabilities {
        creates_file_first: true,
        preferred_chunk_size: DEFAULT_CHUNK_SIZE,
        move_files: true,
        hide_new_folders: true,
        share_links: true,
        ..Capabilities::NONE
    },
    build,
};

fn build(spec: &TargetSpec, context: &TargetContext) -> Result<Arc<dyn Target>, TargetError> {
    let TargetSpec::Twake {
        account,
        folder,
        collision,
    } = spec
    else {
        return Err(TargetError::wrong_kind(spec, "twake"));
    };
    let sessions = context
        .sessions
        .clone()
        .ok_or_else(|| TargetError::no_accounts("Twake Drive"))?;
    Ok(Arc::new(TwakeTarget::new(
        sessions,
        account,
        folder,
        *collision,
        &context.http,
    )))
}

/// A live session and the ids uploads of its account need.
#[derive(Clone)]
pub struct AccountSession {
    pub session: Arc<Session>,
    pub user_id: String,
    pub company_id: String,
}

/// Where Twake Drive targets get their account's session: the engine's accounts service
/// (the `accounts` module), or one session given whole (`FixedSession`).
#[async_trait]
pub trait Sessions: Send + Sync + 'static {
    /// The current session of `account`; `SignedOut` once it ended.
    async fn twake_session(&self, account: &str) -> Result<AccountSession, TwakeError>;

    /// Where the hidden top folders of `account` are noted, if anywhere.
    fn hidden_journal(&self, account: &str) -> Option<HiddenJournal>;
}

/// One session opened elsewhere (tests, tools), never replaced.
pub struct FixedSession(pub AccountSession);

#[async_trait]
impl Sessions for FixedSession {
    async fn twake_session(&self, _account: &str) -> Result<AccountSession, TwakeError> {
        Ok(self.0.clone())
    }

    fn hidden_journal(&self, _account: &str) -> Option<HiddenJournal> {
        None
    }
}

/// Timeout of the "does the server answer at all" probe while the queue is offline.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A session and Drive placement ready to use.
struct Ready {
    session: Arc<Session>,
    drive: Drive,
    company_id: String,
}

pub struct TwakeTarget {
    sessions: Arc<dyn Sessions>,
    account: String,
    folder: String,
    collision: CollisionPolicy,
    http: HttpSettings,
    /// The Drive state built on the current session; rebuilt when the session changes.
    ready: tokio::sync::Mutex<Option<Arc<Ready>>>,
    /// A journal given by the caller, over the one `sessions` keeps.
    journal: Option<HiddenJournal>,
}

/// An HTTP client for one Twake Drive server. Redirects are followed only within the same
/// origin: a sign-in re-sent to another host would hand it the email and password (a 307/308
/// keeps the body), and an upload re-sent there would hand it the session.
pub fn http_client(http: &HttpSettings) -> Result<reqwest::Client, TwakeError> {
    let same_origin = reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|o| o != attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    super::network::http_client(http, same_origin).map_err(|e| TwakeError::Config {
        path: Default::default(),
        reason: e.to_string(),
    })
}

impl TwakeTarget {
    /// A target for `account`'s Drive folder `folder`; the session is asked of `sessions`.
    pub fn new(
        sessions: Arc<dyn Sessions>,
        account: &str,
        folder: &str,
        collision: CollisionPolicy,
        http: &HttpSettings,
    ) -> TwakeTarget {
        TwakeTarget {
            sessions,
            account: account.to_string(),
            folder: folder.to_string(),
            collision,
            http: http.clone(),
            ready: tokio::sync::Mutex::new(None),
            journal: None,
        }
    }

    /// A target over a session opened elsewhere (tests, or a tool that just signed in).
    pub fn with_session(
        session: Arc<Session>,
        user_id: &str,
        company_id: &str,
        folder: &str,
        collision: CollisionPolicy,
        http: &HttpSettings,
    ) -> TwakeTarget {
        let account = session.account().to_string();
        let fixed = FixedSession(AccountSession {
            session,
            user_id: user_id.to_string(),
            company_id: company_id.to_string(),
        });
        TwakeTarget::new(Arc::new(fixed), &account, folder, collision, http)
    }

    /// Notes hidden top folders in `journal`, and restores those an earlier session left
    /// in the trash when this target first connects.
    pub fn with_journal(mut self, journal: HiddenJournal) -> TwakeTarget {
        self.journal = Some(journal);
        self
    }

    async fn open(&self, current: AccountSession) -> Ready {
        let mut drive = Drive::new(
            current.session.clone(),
            &current.company_id,
            &current.user_id,
            &self.folder,
            self.collision,
        );
        let journal = self
            .journal
            .clone()
            .or_else(|| self.sessions.hidden_journal(&self.account));
        if let Some(journal) = journal {
            drive = drive.with_journal(journal);
            // A failure here must not stop the uploads: the folder stays listed for the
            // next session.
            match drive.recover_hidden().await {
                Ok(names) if !names.is_empty() => tracing::info!(
                    "made visible the folders an interrupted upload left hidden: {}",
                    names.join(", ")
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("{e}"),
            }
        }
        Ready {
            session: current.session,
            drive,
            company_id: current.company_id,
        }
    }

    /// The Drive state on the account's current session: the same as last time unless a new
    /// sign-in replaced the session.
    /// The live session and Drive, once the destination folder is known to take files.
    async fn writable(&self) -> Result<Arc<Ready>, ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        ready
            .drive
            .check_destination()
            .await
            .map_err(TwakeError::into_chunk_error)?;
        Ok(ready)
    }

    async fn ready(&self) -> Result<Arc<Ready>, TwakeError> {
        let current = self.sessions.twake_session(&self.account).await?;
        let mut ready = self.ready.lock().await;
        if let Some(r) = ready.as_ref() {
            if Arc::ptr_eq(&r.session, &current.session) && r.company_id == current.company_id {
                return Ok(r.clone());
            }
        }
        let fresh = Arc::new(self.open(current).await);
        *ready = Some(fresh.clone());
        Ok(fresh)
    }

    /// Announces the files about to be queued (relative paths): their new top folders are
    /// built hidden in the trash and appear once all their files are in. Files that were
    /// not announced still upload; their folders appear at once.
    pub async fn announce(&self, relative_paths: &[String]) -> Result<(), TwakeError> {
        self.ready().await?.drive.announce(relative_paths).await
    }

    /// Checks that the destination folder exists and can be written to.
    pub async fn check_destination(&self) -> Result<(), TwakeError> {
        self.ready().await?.drive.check_destination().await
    }

    /// New top folders still hidden in the trash, with how many files each still waits for.
    pub async fn hidden_folders(&self) -> Vec<(String, usize)> {
        match self.ready().await {
            Ok(r) => r.drive.hidden_folders().await,
            Err(_) => Vec::new(),
        }
    }

    fn stall_timeout(&self) -> Duration {
        self.http.stall_timeout
    }
}

fn missing_file_id(file: &UploadFile) -> ChunkError {
    ChunkError::Permanent {
        url: String::new(),
        status: 400,
        message: format!(
            "{} has no server file id although all its chunks were acknowledged: retry it",
            file.path.display()
        ),
        kind: crate::events::FailureKind::Refused,
    }
}

#[async_trait]
impl Target for TwakeTarget {
    fn label(&self) -> String {
        format!(
            "twake:{}:/{}",
            self.account,
            drive::path_names(&self.folder).join("/")
        )
    }

    fn capabilities(&self) -> Capabilities {
        KIND.capabilities
    }

    fn account(&self) -> Option<String> {
        Some(self.account.clone())
    }

    async fn prepare(&self, relative_paths: &[String]) -> Result<(), ChunkError> {
        let ready = self.writable().await?;
        ready
            .drive
            .announce(relative_paths)
            .await
            .map_err(TwakeError::into_chunk_error)
    }

    async fn waiting_folders(&self) -> Vec<(String, usize)> {
        self.hidden_folders().await
    }

    async fn create_file(&self, file: &UploadFile) -> Result<String, ChunkError> {
        // Before the first byte: a folder we cannot write to fails now, not after the upload.
        let ready = self.writable().await?;
        // A file the collision policy skips is never sent.
        let declined = ready
            .drive
            .declines(&file.relative_path)
            .await
            .map_err(TwakeError::into_chunk_error)?;
        if let Some(reason) = declined {
            return Err(ChunkError::Declined { reason });
        }
        files::create_file(&ready.session, &ready.company_id, file)
            .await
            .map_err(TwakeError::into_chunk_error)
    }

    async fn test_chunk(&self, _file: &UploadFile, _number: u32) -> Result<TestAnswer, ChunkError> {
        // The server has no chunk test (a GET on the file answers 200 with metadata).
        Ok(TestAnswer::Absent)
    }

    async fn send_chunk(
        &self,
        file: &UploadFile,
        number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        files::send_chunk(
            &ready.session,
            &ready.company_id,
            file,
            number,
            body,
            self.stall_timeout(),
        )
        .await
    }

    async fn finish(&self, file: &UploadFile) -> Result<(), ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        let file_id = file
            .remote_id
            .as_deref()
            .ok_or_else(|| missing_file_id(file))?;
        let placement = ready
            .drive
            .place(
                &file.relative_path,
                file_id,
                &file.mime_type,
                file.plan.size,
            )
            .await
            .map_err(TwakeError::into_chunk_error)?;
        if let Placement::Skipped { reason, .. } = placement {
            // The upload is not wanted after all: free the space it takes.
            if let Err(e) = files::delete_file(&ready.session, &ready.company_id, file_id).await {
                tracing::warn!(
                    "cannot delete the skipped upload of {}: {e}",
                    file.path.display()
                );
            }
            return Err(ChunkError::Declined { reason });
        }
        Ok(())
    }

    /// Any HTTP answer of the server's origin counts: a server still starting answers 401
    /// for a moment, which the session's patient renewal rides out.
    async fn reachable(&self) -> Result<(), ChunkError> {
        let session = match self.ready().await {
            Ok(ready) => ready.session.clone(),
            Err(e @ TwakeError::Unreachable { .. }) => return Err(e.into_chunk_error()),
            // Not a network matter (signed out, no account): the next request says so.
            Err(_) => return Ok(()),
        };
        session
            .client()
            .get(session.url("/"))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| TwakeError::from_transport(session.server(), &e).into_chunk_error())
    }

    async fn move_file(&self, from: &str, to: &str) -> Result<bool, ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        ready
            .drive
            .move_item(from, to)
            .await
            .map_err(TwakeError::into_chunk_error)
    }

    async fn share_link(&self, file: &UploadFile) -> Result<String, ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        let not_there = || ChunkError::Permanent {
            url: self.label(),
            status: 404,
            kind: crate::events::FailureKind::NotFound,
            message: format!(
                "{} is no longer where it was uploaded on {} (moved, deleted or replaced \
                 since): no link was made",
                file.relative_path,
                ready.session.server()
            ),
        };
        let file_id = file.remote_id.as_deref().ok_or_else(not_there)?;
        let item = ready
            .drive
            .item_of_upload(&file.relative_path, file_id)
            .await
            .map_err(TwakeError::into_chunk_error)?
            .ok_or_else(not_there)?;
        share::make_public(&ready.session, &ready.company_id, &item)
            .await
            .map_err(TwakeError::into_chunk_error)
    }

    async fn cancel(&self, file: &UploadFile) -> Result<(), ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        ready.drive.forget(&file.relative_path).await;
        match &file.remote_id {
            Some(id) => files::delete_file(&ready.session, &ready.company_id, id)
                .await
                .map_err(TwakeError::into_chunk_error),
            None => Ok(()),
        }
    }
}
