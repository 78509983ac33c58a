//! Errors that stop the receiver from starting. Errors answered to a client over HTTP live
//! in `rejection.rs`; these ones reach the person who launched the server, so each names
//! the path or address involved and what to do about it.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error("cannot create the storage folder {path}: {source}; pick a folder you can write to")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot read the receiver's state in {path}: {source}; \
         fix its permissions or delete that folder to start afresh"
    )]
    LoadState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}; is another program using that port?")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
