//! A real HTTP proxy for the proxy tests: tinyproxy (Debian package `tinyproxy`, installed
//! by `make deps`), on 127.0.0.1, optionally asking for a user name and password, its log
//! read back to see which tunnels (`CONNECT host:port`) it opened.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// A proxy open to anyone on loopback.
    pub fn start() -> Tinyproxy {
        Tinyproxy::start_with(None)
    }

    /// A proxy that answers 407 unless the request carries `user` and `password`.
    pub fn with_credentials(user: &str, password: &str) -> Tinyproxy {
        Tinyproxy::start_with(Some((user, password)))
    }

    fn start_with(credentials: Option<(&str, &str)>) -> Tinyproxy {
        // tinyproxy cannot be told to pick a free port and say which: take one the kernel
        // just gave out, and try again in the unlikely case someone took it meanwhile.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let log = dir.path().join("tinyproxy.log");
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nAllow 127.0.0.1\n\
                 LogLevel Info\nLogFile \"{}\"\nDisableViaHeader Yes\n",
                log.display()
            );
            if let Some((user, password)) = credentials {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let conf_path = dir.path().join("tinyproxy.conf");
            std::fs::write(&conf_path, conf).expect("tinyproxy config");
            let child = Command::new("tinyproxy")
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the tinyproxy command (Debian package tinyproxy; `make deps`)");
            let mut proxy = Tinyproxy {
                child,
                port,
                log,
                _dir: dir,
            };
            if proxy.wait_listening() {
                return proxy;
            }
        }
        panic!("tinyproxy did not start listening");
    }

    /// Waits until the proxy says it accepts connections, or has died.
    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            if self
                .log_lines()
                .iter()
                .any(|l| l.contains("Accepting connections"))
            {
                return std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The proxy's address, as HTTPS_PROXY or `--proxy` takes it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_lines(&self) -> Vec<String> {
        match std::fs::File::open(&self.log) {
            Ok(file) => BufReader::new(file).lines().map_while(Result::ok).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The `host:port` of every tunnel a client asked for, in order.
    pub fn tunnels(&self) -> Vec<String> {
        self.log_lines()
            .iter()
            .filter_map(|line| {
                let request = line.split("): ").nth(1)?;
                let target = request.strip_prefix("CONNECT ")?;
                Some(target.split(' ').next()?.to_string())
            })
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
