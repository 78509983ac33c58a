//! `twake-upload`: the command line over the upload engine, for headless machines and
//! scripts. Thin: it parses arguments, drives the engine and renders its events.

mod cozy;
mod destination;
mod docs;
mod history;
mod network;
mod queue_cmds;
mod render;
mod serve;
mod session;
mod size;
mod twake;
mod upload;
mod watch;

use clap::{Args, Parser, Subcommand};
use session::{Outcome, RunOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::Dialect;

#[derive(Parser)]
#[command(
    name = "twake-upload",
    version,
    about = "Resumable uploads to Twake Drive and Resumable.js servers"
)]
struct Cli {
    /// The upload queue's database [default: ~/.local/share/twake-uploader/queue.sqlite3]
    #[arg(long, global = true, env = "TWAKE_UPLOADER_DB")]
    db: Option<PathBuf>,
    /// Keep the queue in memory only: nothing survives the command (no resume).
    #[arg(long, global = true)]
    in_memory: bool,
    #[command(flatten)]
    network: network::NetworkFlags,
    #[command(subcommand)]
    command: Command,
}

/// Options of every command that uploads.
#[derive(Args, Clone)]
struct Sending {
    /// Chunk requests in flight across all files, exactly [default: follow the link: from 3
    /// up to what its measured speed and round trip need].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: Option<u16>,
    /// Files uploading at once, exactly [default: 2, more while small files leave the link
    /// idle].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    files: Option<u16>,
    /// Upload bandwidth limit across all files, e.g. 2MiB (per second); 0 = none.
    #[arg(long, default_value = "0", value_parser = size::parse_size)]
    limit_rate: u64,
    /// One JSON object per event on stdout.
    #[arg(long)]
    json: bool,
    /// Seconds without progress after which a chunk request is abandoned and retried.
    #[arg(long, default_value_t = 30.0)]
    stall_timeout: f64,
    /// Attempts per chunk before a file is reported as failed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    retries: u32,
    /// Give up after being offline this many seconds (default: wait for the network).
    #[arg(long)]
    give_up_offline: Option<f64>,
}

#[derive(Subcommand)]
enum Command {
    /// Upload files and folders (recursively) to a Resumable.js / Flow.js URL or to Twake Drive.
    Upload {
        /// Files and folders to upload.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Upload URL (http://127.0.0.1:8080/upload), or `twake:/Drive/Path` for a folder of
        /// the signed-in Twake Drive account (`twake:` is the root of My Drive).
        #[arg(long)]
        to: String,
        /// Chunk size, e.g. 512KiB, 4MiB, 1GB [default: 1MiB, 8MiB for Twake Drive].
        #[arg(long, value_parser = size::parse_chunk_size)]
        chunk_size: Option<u64>,
        /// Cut every chunk to at most the chunk size (flow.js `forceChunkSize`).
        #[arg(long)]
        force_chunk_size: bool,
        /// Parameter names: resumable or flow.
        #[arg(long, default_value = "resumable")]
        dialect: Dialect,
        /// Twake Drive: what to do when the folder has an item of the same name:
        /// version (add a version), keep-both (the server renames), skip.
        #[arg(long, default_value = "version")]
        collision: CollisionPolicy,
        /// Twake Drive: print a public share link for each file once it is uploaded (anyone
        /// with the link can open the file without an account).
        #[arg(long)]
        link: bool,
        #[command(flatten)]
        sending: Sending,
    },
    /// Continue every unfinished upload in the queue (paused and failed ones too).
    Resume {
        #[command(flatten)]
        sending: Sending,
    },
    /// Show the queue (works while another twake-upload is uploading).
    Status {
        /// One JSON object per upload.
        #[arg(long)]
        json: bool,
    },
    /// Pause one upload (by the id `status` shows).
    Pause { id: u64 },
    /// Cancel one upload (by the id `status` shows).
    Cancel { id: u64 },
    /// Forget finished and cancelled uploads.
    Clear,
    /// Show what was uploaded (done, failed, skipped, cancelled), newest first; kept when
    /// `clear` tidies the queue. Works while another twake-upload is uploading.
    History {
        /// One JSON object per line of history.
        #[arg(long)]
        json: bool,
        /// Only the files whose name, path or target contains this text.
        #[arg(long, default_value = "")]
        search: String,
        /// Write the lines as CSV into FILE instead.
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        csv: Option<PathBuf>,
        /// Forget the whole history (the queue is untouched).
        #[arg(long, conflicts_with_all = ["json", "search", "csv"])]
        clear: bool,
    },
    /// Sign in to a Twake Drive server. A server with its own passwords asks for one (prompted
    /// for, or read from stdin); one that signs in through its organisation's sign-in page
    /// opens it in the browser and waits (or takes the address the browser ended on, pasted);
    /// a Twake Drive on cozy-stack always signs in through the browser.
    Login {
        /// The server's address, e.g. drive.example.com (or give it with --server).
        #[arg(value_name = "ADDRESS", required_unless_present = "server")]
        address: Option<String>,
        /// The server's address, e.g. https://drive.example.com
        #[arg(long, conflicts_with = "address")]
        server: Option<String>,
        /// The email to sign in with (servers with their own passwords).
        #[arg(long)]
        email: Option<String>,
        /// The company to upload to, when the account is in several.
        #[arg(long)]
        company: Option<String>,
        /// Do not open a browser: print the address to open elsewhere, then paste back the
        /// address that browser ended on.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out of the current Twake Drive account and forget its session.
    Logout,
    /// Show the signed-in Twake Drive account.
    Whoami,
    /// List a Twake Drive folder ("/" or nothing: the root of My Drive).
    Ls {
        #[arg(default_value = "/")]
        path: String,
    },
    /// Keep a folder uploaded (foreground, until Ctrl-C): new and changed files go up once
    /// they are stable; renames and moves are applied on Twake Drive. Upload-only.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["dir", "list", "remove"])))]
    Watch {
        /// The folder to watch.
        dir: Option<PathBuf>,
        /// Where to upload: a Resumable.js / Flow.js URL or `twake:/Drive/Path`.
        #[arg(long, requires = "dir")]
        to: Option<String>,
        /// List the watched folders.
        #[arg(long, conflicts_with_all = ["dir", "remove"])]
        list: bool,
        /// Stop watching a folder and forget its sync index (nothing is deleted).
        #[arg(long, value_name = "DIR", conflicts_with = "dir")]
        remove: Option<PathBuf>,
        /// Seconds a file's size and mtime must stay unchanged before it is uploaded.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        /// Chunk size [default: 1MiB, 8MiB for Twake Drive].
        #[arg(long, value_parser = size::parse_chunk_size)]
        chunk_size: Option<u64>,
        /// Parameter names: resumable or flow.
        #[arg(long, default_value = "resumable")]
        dialect: Dialect,
        #[command(flatten)]
        sending: Sending,
    },
    /// Run the strict Resumable.js / Flow.js receiver.
    Serve {
        /// Folder to store finished files in.
        #[arg(long, default_value = "uploads")]
        dir: PathBuf,
        /// Address to listen on (loopback by default; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Largest chunk accepted; larger ones get 413.
        #[arg(long, default_value = "512MiB", value_parser = size::parse_size)]
        max_chunk_size: u64,
        /// Allow browser pages from any origin (for resumable.js / flow.js in a browser).
        #[arg(long)]
        cors: bool,
        /// Unfinished uploads kept at once; a new one past this gets 503 until some finish
        /// or expire.
        #[arg(long, default_value_t = receiver::DEFAULT_MAX_UPLOADS_IN_PROGRESS)]
        max_uploads_in_progress: usize,
        /// Hours after which an untouched unfinished upload is deleted.
        #[arg(long, default_value_t = 12.0)]
        expire_after: f64,
        /// Seconds a client has to send a request's headers.
        #[arg(long, default_value_t = 30.0)]
        header_timeout: f64,
        /// Connections served at once; more are closed at once.
        #[arg(long, default_value_t = receiver::DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
    },
    /// Writes the man pages and shell completions into DIR (`make package`); not for people.
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
}

impl Sending {
    fn options(&self, db: Option<PathBuf>) -> RunOptions {
        RunOptions {
            db,
            // 0: follow the link.
            parallel: self.parallel.map_or(0, usize::from),
            files: self.files.map_or(0, usize::from),
            stall_timeout: Duration::from_secs_f64(self.stall_timeout.clamp(0.1, 86_400.0)),
            retries: self.retries,
            limit_rate: self.limit_rate,
            give_up_offline: self
                .give_up_offline
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9))),
            json: self.json,
        }
    }
}

fn exit_code(o: Outcome) -> ExitCode {
    match o {
        Outcome::AllDone => ExitCode::SUCCESS,
        Outcome::SomeFailed => ExitCode::from(1),
        Outcome::Interrupted => ExitCode::from(130),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    network::init(cli.network)?;
    let db = if cli.in_memory {
        None
    } else {
        Some(cli.db.unwrap_or_else(upload_engine::store::default_path))
    };
    let queue_db = || {
        db.clone().ok_or_else(|| {
            anyhow::anyhow!("this command works on the durable queue; drop --in-memory")
        })
    };
    match cli.command {
        Command::Upload {
            paths,
            to,
            chunk_size,
            force_chunk_size,
            dialect,
            collision,
            link,
            sending,
        } => upload::run(upload::UploadArgs {
            paths,
            to,
            chunk_size,
            force_chunk_size,
            dialect,
            collision,
            link,
            run: sending.options(db),
        })
        .await
        .map(exit_code),
        Command::Resume { sending } => queue_cmds::resume(sending.options(Some(queue_db()?)))
            .await
            .map(exit_code),
        Command::Status { json } => {
            let db = queue_db()?;
            // SQLite reads stay off the async threads.
            tokio::task::spawn_blocking(move || queue_cmds::status(&db, json))
                .await?
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Pause { id } => queue_cmds::change(quiet_options(queue_db()?), id, false)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Cancel { id } => queue_cmds::change(quiet_options(queue_db()?), id, true)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Clear => queue_cmds::clear(quiet_options(queue_db()?))
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::History { clear: true, .. } => history::clear(quiet_options(queue_db()?))
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::History {
            json, search, csv, ..
        } => {
            let db = queue_db()?;
            tokio::task::spawn_blocking(move || {
                history::show(history::HistoryArgs {
                    db: &db,
                    json,
                    search: &search,
                    csv: csv.as_deref(),
                })
            })
            .await?
            .map(|()| ExitCode::SUCCESS)
        }
        Command::Login {
            address,
            server,
            email,
            company,
            no_browser,
        } => twake::login(
            address.or(server).as_deref().unwrap_or_default(),
            email.as_deref(),
            company.as_deref(),
            no_browser,
        )
        .await
        .map(|()| ExitCode::SUCCESS),
        Command::Logout => twake::logout().await.map(|()| ExitCode::SUCCESS),
        Command::Whoami => twake::whoami().await.map(|()| ExitCode::SUCCESS),
        Command::Ls { path } => twake::ls(&path).await.map(|()| ExitCode::SUCCESS),
        Command::Watch {
            dir,
            to,
            list,
            remove,
            settle,
            chunk_size,
            dialect,
            sending,
        } => {
            let args = if list {
                watch::WatchArgs::List {
                    db: queue_db()?,
                    json: sending.json,
                }
            } else if let Some(dir) = remove {
                watch::WatchArgs::Remove {
                    dir,
                    run: quiet_options(queue_db()?),
                }
            } else {
                let dir = dir.ok_or_else(|| anyhow::anyhow!("name the folder to watch"))?;
                let to = to.ok_or_else(|| {
                    anyhow::anyhow!("say where to upload with --to URL or --to twake:/Path")
                })?;
                queue_db()?;
                watch::WatchArgs::Follow {
                    dir,
                    to,
                    dialect,
                    settle: Duration::from_secs_f64(settle.clamp(0.0, 86_400.0)),
                    chunk_size,
                    run: sending.options(db.clone()),
                }
            };
            watch::run(args).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Serve {
            dir,
            bind,
            max_chunk_size,
            cors,
            max_uploads_in_progress,
            expire_after,
            header_timeout,
            max_connections,
        } => serve::run(serve::ServeArgs {
            dir,
            bind,
            max_chunk_size,
            cors,
            max_uploads_in_progress: max_uploads_in_progress.max(1),
            expire_after: Duration::from_secs_f64(expire_after.clamp(0.001, 1e5) * 3600.0),
            header_timeout: Duration::from_secs_f64(header_timeout.clamp(0.1, 3600.0)),
            max_connections: max_connections.max(1),
        })
        .await
        .map(|()| ExitCode::SUCCESS),
        Command::GenerateDocs { dir } => docs::run(&dir).map(|()| ExitCode::SUCCESS),
    }
}

/// Options for commands that only change the queue.
fn quiet_options(db: PathBuf) -> RunOptions {
    RunOptions {
        db: Some(db),
        parallel: 1,
        files: 1,
        stall_timeout: Duration::from_secs(30),
        retries: 1,
        limit_rate: 0,
        give_up_offline: None,
        json: false,
    }
}

fn main() -> ExitCode {
    // Like any Unix tool, end quietly when the reader of our output goes away (`status | head`)
    // instead of panicking in println!; Rust starts programs with SIGPIPE ignored.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TWAKE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A URL that cannot be used is a usage error, like a bad flag.
            let usage = e
                .downcast_ref::<upload_engine::EngineError>()
                .is_some_and(|e| matches!(e, upload_engine::EngineError::BadUrl { .. }))
                || e.downcast_ref::<upload_engine::targets::TargetError>()
                    .is_some_and(|e| {
                        matches!(e, upload_engine::targets::TargetError::BadUrl { .. })
                    });
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
