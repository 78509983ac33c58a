//! Certificates and proxies, through the `twake-upload` binary: a server signed by an
//! authority the system does not know is refused with words saying what to do, then accepted
//! with `--ca-cert`; uploads go through a real proxy (tinyproxy) taken from the environment
//! or from `--proxy`, skip it for NO_PROXY hosts, and give its password only when asked.

use e2e_tests::cli_run::{text, Cli};
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use e2e_tests::test_ca::TestAuthority;
use e2e_tests::tinyproxy::Tinyproxy;
use e2e_tests::tls_front::TlsFront;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROXY_VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The receiver behind an HTTPS front signed by a fresh test authority.
struct TlsReceiver {
    receiver: ReceiverServer,
    front: TlsFront,
    authority: TestAuthority,
}

impl TlsReceiver {
    async fn start() -> TlsReceiver {
        let receiver = ReceiverServer::start().await;
        let authority = TestAuthority::new();
        let front = TlsFront::start(&authority, receiver.receiver.local_addr()).await;
        TlsReceiver {
            receiver,
            front,
            authority,
        }
    }

    fn stored(&self, name: &str) -> PathBuf {
        self.receiver.stored(name)
    }

    fn server(&self) -> String {
        format!("127.0.0.1:{}", self.front.port())
    }
}

/// An upload command with no proxy of the machine's own in its environment.
fn upload(cli: &Cli, to: &str, file: &Path) -> Command {
    let mut c = cli.cmd();
    for var in PROXY_VARS {
        c.env_remove(var);
    }
    c.args(["upload", "--in-memory", "--retries", "2", "--to", to])
        .arg(file);
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run twake-upload")
}

fn a_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), name, 300_000, 7);
    (dir, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_authority_is_refused_then_accepted_with_its_certificate_file() {
    let server = TlsReceiver::start().await;
    let (_src, file) = a_file("signed.bin");
    let cli = Cli::new();

    let out = run(upload(&cli, &server.front.upload_url(), &file));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("not trusted by this system"), "{said}");
    assert!(said.contains("--ca-cert FILE"), "{said}");
    assert!(!server.stored("signed.bin").exists());

    let mut trusted = upload(&cli, &server.front.upload_url(), &file);
    trusted.arg("--ca-cert").arg(server.authority.ca_file());
    let out = run(trusted);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sha256_file(&server.stored("signed.bin")),
        sha256_file(&file)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_certificate_file_is_named() {
    let (_src, file) = a_file("x.bin");
    let cli = Cli::new();
    let mut missing = upload(&cli, "https://127.0.0.1:9/upload", &file);
    missing.args(["--ca-cert", "/nonexistent/company-ca.pem"]);
    let out = run(missing);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("/nonexistent/company-ca.pem"), "{said}");

    let mut not_pem = upload(&cli, "https://127.0.0.1:9/upload", &file);
    not_pem.arg("--ca-cert").arg(&file);
    let said = text(&run(not_pem));
    assert!(
        said.contains("x.bin") && said.contains("no certificate"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_from_the_environment_carries_the_upload() {
    let server = TlsReceiver::start().await;
    let proxy = Tinyproxy::start();
    let (_src, file) = a_file("proxied.bin");
    let mut c = upload(&Cli::new(), &server.front.upload_url(), &file);
    c.arg("--ca-cert")
        .arg(server.authority.ca_file())
        .env("HTTPS_PROXY", proxy.url());
    let out = run(c);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sha256_file(&server.stored("proxied.bin")),
        sha256_file(&file)
    );
    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty(), "the proxy saw no tunnel");
    assert!(tunnels.iter().all(|t| *t == server.server()), "{tunnels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_are_reached_directly() {
    let server = TlsReceiver::start().await;
    let proxy = Tinyproxy::start();
    for (var, value) in [
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "localhost,127.0.0.1"),
    ] {
        let (_src, file) = a_file(&format!("direct-{var}.bin"));
        let mut c = upload(&Cli::new(), &server.front.upload_url(), &file);
        c.arg("--ca-cert")
            .arg(server.authority.ca_file())
            .env("https_proxy", proxy.url())
            .env(var, value);
        let out = run(c);
        assert!(out.status.success(), "{var}: {}", text(&out));
        let stored = server.stored(&format!("direct-{var}.bin"));
        assert_eq!(sha256_file(&stored), sha256_file(&file));
    }
    assert_eq!(proxy.tunnels(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_asking_for_a_password_gets_it_only_from_the_setting() {
    let server = TlsReceiver::start().await;
    let proxy = Tinyproxy::with_credentials("alice", "s3cret-pw");
    let (_src, file) = a_file("auth.bin");
    let cli = Cli::new();

    let mut without = upload(&cli, &server.front.upload_url(), &file);
    without
        .arg("--ca-cert")
        .arg(server.authority.ca_file())
        .args(["--proxy", &proxy.url()]);
    let out = run(without);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("407") && said.contains("user name and password"),
        "{said}"
    );
    assert!(!server.stored("auth.bin").exists());

    let mut with = upload(&cli, &server.front.upload_url(), &file);
    with.arg("--ca-cert")
        .arg(server.authority.ca_file())
        .args(["--proxy", &proxy.url(), "--proxy-user", "alice"])
        .env("TWAKE_UPLOADER_PROXY_PASSWORD", "s3cret-pw");
    let out = run(with);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("s3cret-pw"), "{said}");
    assert_eq!(sha256_file(&server.stored("auth.bin")), sha256_file(&file));
    assert!(proxy.tunnels().contains(&server.server()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_address_with_a_password_in_it_is_refused_without_showing_it() {
    let (_src, file) = a_file("y.bin");
    let mut c = upload(&Cli::new(), "http://127.0.0.1:9/upload", &file);
    c.args(["--proxy", "http://alice:hunter2@127.0.0.1:3128"]);
    let out = run(c);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("proxy") && !said.contains("hunter2"),
        "{said}"
    );
}
