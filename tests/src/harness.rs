//! Helpers shared by the end-to-end tests: deterministic test files, checksums, a receiver
//! in a temp folder, and the path of the built `twake-upload` binary.

use receiver::{Receiver, ReceiverConfig};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Writes `size` bytes of seeded pseudo-random data at `dir/rel` (parents created), streaming
/// so multi-GiB files cost no memory. Returns the path.
pub fn write_file(dir: &Path, rel: &str, size: u64, seed: u64) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent folders");
    }
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&path).expect("create test file"),
    );
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for word in buf.chunks_mut(8) {
            // xorshift64*: fast and good enough to make every chunk distinct.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            word.copy_from_slice(&v[..word.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n]).expect("write test file");
        left -= n as u64;
    }
    out.flush().expect("flush test file");
    path
}

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> String {
    let mut f =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read for sha256");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Our receiver storing into its own temp folder.
pub struct ReceiverServer {
    pub receiver: Receiver,
    pub dir: tempfile::TempDir,
}

impl ReceiverServer {
    pub async fn start() -> ReceiverServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ReceiverConfig)) -> ReceiverServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ReceiverConfig::new(dir.path());
        adjust(&mut config);
        let receiver = Receiver::start(config).await.expect("start receiver");
        ReceiverServer { receiver, dir }
    }

    pub fn url(&self) -> String {
        self.receiver.upload_url()
    }

    /// Where a finished upload with this relative path lands.
    pub fn stored(&self, relative_path: &str) -> PathBuf {
        self.dir.path().join(relative_path)
    }
}

/// The `twake-upload` binary next to the test executables (`cargo build` puts it there; the
/// Makefile builds it before the tests run).
pub fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/e2e-xxxx → target/debug/twake-upload
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let bin = dir.join("twake-upload");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p twake-upload` (or `make test`) first",
        bin.display()
    );
    bin
}
