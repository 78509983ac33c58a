//! `twake-upload login ADDRESS` against the cozy-stack double, the browser played by the
//! `cozy-approve` program through `TWAKE_UPLOADER_BROWSER`, then an upload to the account
//! with the same `--to twake:/…` form tdrive accounts use, and `logout` unregistering.

use e2e_tests::cozy_double::CozyDouble;
use e2e_tests::harness::{sha256_file, write_file};
use e2e_tests::twake_harness::{cli, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_the_browser_then_upload_then_logout() {
    let double = CozyDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    let out = cli(config.path())
        .args(["login", &double.url()])
        .env("TWAKE_UPLOADER_BROWSER", env!("CARGO_BIN_EXE_cozy-approve"))
        .env("COZY_APPROVE_PASSPHRASE", double.config().passphrase)
        .output()
        .expect("twake-upload runs");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("/auth/authorize?"),
        "the address to open is shown: {said}"
    );
    assert!(said.contains("Signed in to"), "{said}");
    for secret in double.issued_secrets() {
        assert!(!said.contains(&secret), "a secret was printed");
    }

    let files = tempfile::tempdir().unwrap();
    let path = write_file(files.path(), "report.pdf", 300_000, 3);
    let out = cli(config.path())
        .args(["upload", "--to", "twake:/Backup"])
        .arg(&path)
        .output()
        .expect("twake-upload runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        double.sha256_of("/Backup/report.pdf"),
        Some(sha256_file(&path))
    );

    // `ls` and `whoami` work on the instance as on tdrive: folders first, the trash left out.
    double.make_folder("/Backup/Older");
    let out = cli(config.path())
        .args(["ls", "/Backup"])
        .output()
        .expect("twake-upload runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Older/\nreport.pdf\t300000\n"
    );
    let out = cli(config.path())
        .arg("ls")
        .output()
        .expect("twake-upload runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Backup/\n");
    let out = cli(config.path())
        .args(["ls", "/Nope"])
        .output()
        .expect("twake-upload runs");
    assert!(!out.status.success());
    assert!(text(&out).contains("/Nope"), "{}", text(&out));
    let out = cli(config.path())
        .arg("whoami")
        .output()
        .expect("twake-upload runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Twake Drive on cozy-stack at {}", double.url())
    );

    let out = cli(config.path())
        .arg("logout")
        .output()
        .expect("twake-upload runs");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        double.clients().is_empty(),
        "logout unregistered the client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_browser_takes_the_pasted_address() {
    let double = CozyDouble::start().await;
    let config = tempfile::tempdir().unwrap();
    // --no-browser: nothing is opened; a browser elsewhere (here the approver, started by
    // hand on the printed address) ends on an address that is pasted on stdin.
    let mut child = cli(config.path())
        .args(["login", &double.url(), "--no-browser"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("twake-upload starts");
    let stderr = child.stderr.take().unwrap();
    // Read stderr to its end on a thread (the CLI keeps writing to it), handing over the
    // address to open as soon as it is printed.
    let (found, address) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.trim().starts_with("http") {
                let _ = found.send(line.trim().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = tokio::task::spawn_blocking(move || {
        address.recv_timeout(std::time::Duration::from_secs(30))
    })
    .await
    .unwrap()
    .expect("the address to open is printed");
    // Sign in as a browser elsewhere would, without following the last redirect.
    let passphrase = double.config().passphrase;
    let location = e2e_tests::cozy_double::approver::Approver::redirect_for(&url, &passphrase)
        .await
        .expect("approved");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{location}").unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let errors = reader.join().unwrap();
    assert!(out.status.success(), "{}{errors}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signed in to"));
}
