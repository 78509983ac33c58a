//! Target `twake`: Twake Drive (docs/protocol.md). A signed-in session (`session`), chunk upload
//! to the files service (`files`), then the file is put into a Drive folder (`drive`) with a
//! collision policy. Accounts and their secrets live in `account`. The session is opened on
//! first use, so a target can be rebuilt from its `TargetSpec` alone after a restart.

pub mod account;
pub mod api;
pub mod drive;
pub mod error;
pub mod files;
pub mod hidden;
pub mod secret;
pub mod session;

pub use account::{Account, AccountStore, SecretsLocation};
pub use drive::{CollisionPolicy, Drive, Placement};
pub use error::TwakeError;
pub use hidden::HiddenJournal;
pub use secret::Secret;
pub use session::{Session, TokenSink, Tokens};

use super::{ChunkReceipt, HttpSettings, Target, UploadFile};
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::protocol::TestAnswer;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Chunk size for this target unless the user picks another: large enough for throughput,
/// well under the 100 MB body limits of common reverse proxies.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// Timeout of the small JSON requests (sign-in, listings, Drive items).
const JSON_TIMEOUT: Duration = Duration::from_secs(30);

/// A session and Drive placement ready to use.
struct Ready {
    session: Arc<Session>,
    drive: Drive,
    company_id: String,
}

/// How a target finds its session: from the account store (normal use), or given whole.
enum Source {
    Store {
        store: AccountStore,
        account: String,
    },
    Session {
        session: Arc<Session>,
        user_id: String,
        company_id: String,
    },
}

pub struct TwakeTarget {
    source: Source,
    folder: String,
    collision: CollisionPolicy,
    http: HttpSettings,
    ready: tokio::sync::OnceCell<Ready>,
    /// Where hidden top folders are noted (next to the account settings by default).
    journal: Option<HiddenJournal>,
}

/// The journal's file name in the account settings folder.
const HIDDEN_JOURNAL: &str = "hidden-folders.json";

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
    /// A target for a signed-in account of the store; the session opens on first use.
    pub fn new(
        store: AccountStore,
        account: &str,
        folder: &str,
        collision: CollisionPolicy,
        http: &HttpSettings,
    ) -> TwakeTarget {
        TwakeTarget {
            journal: Some(HiddenJournal::new(
                store.dir().join(HIDDEN_JOURNAL),
                account,
            )),
            source: Source::Store {
                store,
                account: account.to_string(),
            },
            folder: folder.to_string(),
            collision,
            http: http.clone(),
            ready: tokio::sync::OnceCell::new(),
        }
    }

    /// A target over a session opened elsewhere (tests, or a front end that just signed in).
    pub fn with_session(
        session: Arc<Session>,
        user_id: &str,
        company_id: &str,
        folder: &str,
        collision: CollisionPolicy,
        http: &HttpSettings,
    ) -> TwakeTarget {
        TwakeTarget {
            source: Source::Session {
                session,
                user_id: user_id.to_string(),
                company_id: company_id.to_string(),
            },
            folder: folder.to_string(),
            collision,
            http: http.clone(),
            ready: tokio::sync::OnceCell::new(),
            journal: None,
        }
    }

    /// Notes hidden top folders in `journal`, and restores those an earlier session left
    /// in the trash when this target first connects.
    pub fn with_journal(mut self, journal: HiddenJournal) -> TwakeTarget {
        self.journal = Some(journal);
        self
    }

    async fn open(&self) -> Result<Ready, TwakeError> {
        let (session, user_id, company_id) = match &self.source {
            Source::Session {
                session,
                user_id,
                company_id,
            } => (session.clone(), user_id.clone(), company_id.clone()),
            Source::Store { store, account } => {
                let (store, name) = (store.clone(), account.clone());
                let loaded = tokio::task::spawn_blocking(move || {
                    let account = store.get(&name)?;
                    let tokens = store.load_tokens(&name)?;
                    Ok::<_, TwakeError>((account, tokens, store))
                })
                .await
                .map_err(|e| TwakeError::Config {
                    path: Default::default(),
                    reason: e.to_string(),
                })??;
                let (account, tokens, store) = loaded;
                if let Some(reason) = account.signed_out {
                    return Err(TwakeError::SignedOut {
                        server: account.server,
                        account: account.name,
                        reason,
                    });
                }
                let sink = Arc::new(account::StoreSink {
                    store,
                    account: account.name.clone(),
                });
                let session = Session::new(
                    http_client(&self.http)?,
                    &account.server,
                    &account.name,
                    tokens,
                    sink,
                    JSON_TIMEOUT,
                );
                (Arc::new(session), account.user_id, account.company_id)
            }
        };
        let mut drive = Drive::new(
            session.clone(),
            &company_id,
            &user_id,
            &self.folder,
            self.collision,
        );
        if let Some(journal) = &self.journal {
            drive = drive.with_journal(journal.clone());
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
        Ok(Ready {
            session,
            drive,
            company_id,
        })
    }

    async fn ready(&self) -> Result<&Ready, TwakeError> {
        self.ready.get_or_try_init(|| self.open()).await
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
    }
}

#[async_trait]
impl Target for TwakeTarget {
    fn label(&self) -> String {
        let account = match &self.source {
            Source::Store { account, .. } => account.clone(),
            Source::Session { session, .. } => session.account().to_string(),
        };
        format!(
            "twake:{account}:/{}",
            drive::path_names(&self.folder).join("/")
        )
    }

    fn can_test(&self) -> bool {
        false
    }

    fn first_chunk_alone(&self) -> bool {
        true
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
        if number == 1 {
            // Before the first byte: a folder we cannot write to fails now, not after the upload.
            ready
                .drive
                .check_destination()
                .await
                .map_err(TwakeError::into_chunk_error)?;
        }
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
        if let Placement::Skipped { .. } = placement {
            // The upload is not wanted: free the space it takes.
            if let Err(e) = files::delete_file(&ready.session, &ready.company_id, file_id).await {
                tracing::warn!(
                    "cannot delete the skipped upload of {}: {e}",
                    file.path.display()
                );
            }
        }
        Ok(())
    }

    async fn move_file(&self, from: &str, to: &str) -> Result<bool, ChunkError> {
        let ready = self.ready().await.map_err(TwakeError::into_chunk_error)?;
        ready
            .drive
            .move_item(from, to)
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
