//! An HTTPS server on 127.0.0.1 with a certificate no one trusts (self-signed, made for the
//! test with the `openssl` command), served by Python's own TLS stack: a real peer for checking
//! how clients take a refused certificate.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Serves 200 "{}" to every request over TLS until dropped.
pub struct UntrustedTlsServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

const SERVE: &str = r#"
import http.server, ssl, sys
class Answer(http.server.BaseHTTPRequestHandler):
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl UntrustedTlsServer {
    pub fn start() -> UntrustedTlsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the openssl command (Debian package openssl)");
        assert!(made.success(), "openssl could not make a test certificate");
        let mut child = Command::new("python3")
            .args(["-c", SERVE])
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's port");
        let port = line.trim().parse().expect("a port number");
        UntrustedTlsServer {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/upload", self.port)
    }
}

impl Drop for UntrustedTlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
