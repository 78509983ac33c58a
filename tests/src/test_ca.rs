//! A certificate authority made for one test with the `openssl` command, and a server
//! certificate for 127.0.0.1 signed by it: what a company or self-signed authority looks like
//! to a client that does not know it yet.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct TestAuthority {
    dir: tempfile::TempDir,
}

impl TestAuthority {
    /// A new authority and a server certificate (`CN=127.0.0.1`, IP SAN) it signed.
    pub fn new() -> TestAuthority {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-days",
                "2",
                "-subj",
                "/CN=Uploader Test CA",
            ],
            &ec,
            &[
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        openssl(
            d,
            &["req", "-subj", "/CN=127.0.0.1"],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        );
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("extension file");
        openssl(
            d,
            &["x509", "-req", "-days", "2", "-in", "server.csr"],
            &["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"],
            &["-extfile", "server.ext", "-out", "server.pem"],
        );
        TestAuthority { dir }
    }

    /// The authority's certificate, the file a user gives with `--ca-cert`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    pub fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

impl Default for TestAuthority {
    fn default() -> Self {
        TestAuthority::new()
    }
}

fn openssl(dir: &Path, a: &[&str], b: &[&str], c: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(a)
        .args(b)
        .args(c)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command (Debian package openssl)");
    assert!(status.success(), "openssl {a:?} failed");
}
