//! `twake-upload`: the command line over the upload engine, for headless machines and
//! scripts. Thin: it parses arguments, drives the engine and renders its events.

mod render;
mod serve;
mod size;
mod twake;
mod upload;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::Dialect;

#[derive(Parser)]
#[command(
    name = "twake-upload",
    version,
    about = "Resumable uploads to Twake Drive and Resumable.js servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        #[arg(long, value_parser = size::parse_size)]
        chunk_size: Option<u64>,
        /// Cut every chunk to at most the chunk size (flow.js `forceChunkSize`).
        #[arg(long)]
        force_chunk_size: bool,
        /// Chunk requests in flight across all files.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
        parallel: u16,
        /// Files uploading at once.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
        files: u16,
        /// Parameter names: resumable or flow.
        #[arg(long, default_value = "resumable")]
        dialect: Dialect,
        /// Twake Drive: what to do when the folder has an item of the same name:
        /// version (add a version), keep-both (the server renames), skip.
        #[arg(long, default_value = "version")]
        collision: CollisionPolicy,
        /// One JSON object per event on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Sign in to a Twake Drive server (the password is prompted for, or read from stdin).
    Login {
        /// The server's address, e.g. https://drive.example.com
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        /// The company to upload to, when the account is in several.
        #[arg(long)]
        company: Option<String>,
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
    },
}

fn main() -> ExitCode {
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Upload {
                paths,
                to,
                chunk_size,
                force_chunk_size,
                parallel,
                files,
                dialect,
                collision,
                json,
            } => upload::run(upload::UploadArgs {
                paths,
                to,
                chunk_size,
                force_chunk_size,
                parallel: parallel.into(),
                files: files.into(),
                dialect,
                collision,
                json,
            })
            .await
            .map(|o| match o {
                upload::Outcome::AllDone => ExitCode::SUCCESS,
                upload::Outcome::SomeFailed => ExitCode::from(1),
                upload::Outcome::Interrupted => ExitCode::from(130),
            }),
            Command::Serve {
                dir,
                bind,
                max_chunk_size,
                cors,
            } => serve::run(serve::ServeArgs {
                dir,
                bind,
                max_chunk_size,
                cors,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Login {
                server,
                email,
                company,
            } => twake::login(&server, &email, company.as_deref())
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Logout => twake::logout().await.map(|()| ExitCode::SUCCESS),
            Command::Whoami => twake::whoami().await.map(|()| ExitCode::SUCCESS),
            Command::Ls { path } => twake::ls(&path).await.map(|()| ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A URL that cannot be used is a usage error, like a bad flag.
            if e.downcast_ref::<upload_engine::EngineError>()
                .is_some_and(|e| matches!(e, upload_engine::EngineError::BadUrl { .. }))
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
