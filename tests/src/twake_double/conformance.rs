//! The double as a `ConformanceServer`: the suite's target is a Twake Drive target signed in
//! to the double (through the suite's proxies when it puts one in front), and what was stored
//! is read back through the Drive API.

use super::reader::DriveReader;
use super::TwakeDouble;
use crate::conformance::ConformanceServer;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upload_engine::targets::twake::{session, CollisionPolicy, Session, Tokens, TwakeTarget};
use upload_engine::targets::HttpSettings;
use upload_engine::{Engine, TargetSpec};

pub struct TwakeConformance {
    pub double: TwakeDouble,
    tokens: Tokens,
    reader: DriveReader,
    /// The engine of the running suite function, to register targets with.
    engine: Mutex<Option<Engine>>,
}

/// HTTP settings matching the suite's engine settings (short stall detection).
pub fn test_http() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(2),
        network: Default::default(),
    }
}

impl TwakeConformance {
    pub async fn start() -> TwakeConformance {
        let double = TwakeDouble::start().await;
        let config = double.config();
        let tokens = session::login(
            &reqwest::Client::new(),
            &double.url(),
            &config.email,
            &config.password,
            Duration::from_secs(10),
        )
        .await
        .expect("sign in to the double");
        let reader = DriveReader::login(&double.url(), &config.email, &config.password).await;
        TwakeConformance {
            double,
            tokens,
            reader,
            engine: Mutex::new(None),
        }
    }
}

impl ConformanceServer for TwakeConformance {
    fn addr(&self) -> SocketAddr {
        self.double.addr()
    }

    fn spec_for(&self, addr: SocketAddr) -> TargetSpec {
        let account = format!("{}@{addr}", self.double.config().email);
        let spec = TargetSpec::Twake {
            account: account.clone(),
            folder: String::new(),
            collision: CollisionPolicy::Version,
        };
        let target = self.target_at(addr);
        if let Some(engine) = self.engine.lock().ok().and_then(|e| e.clone()) {
            engine.register_target(spec.clone(), target);
        }
        spec
    }

    fn target_for(&self, spec: &TargetSpec) -> Option<Arc<dyn upload_engine::Target>> {
        let TargetSpec::Twake { account, .. } = spec else {
            return None;
        };
        let addr: SocketAddr = account.rsplit('@').next()?.parse().ok()?;
        Some(self.target_at(addr))
    }

    fn stored_sha256(&self, relative_path: &str) -> Option<String> {
        self.reader.sha256_blocking(relative_path)
    }

    fn chunk_posts(&self) -> Option<u64> {
        Some(self.double.count(|c| &c.chunk_posts))
    }

    fn prepare(&self, engine: &Engine) {
        if let Ok(mut e) = self.engine.lock() {
            *e = Some(engine.clone());
        }
    }
}

impl TwakeConformance {
    /// A Twake Drive target signed in to the double, reached at `addr` (the double's own
    /// address or a proxy's).
    fn target_at(&self, addr: SocketAddr) -> Arc<dyn upload_engine::Target> {
        let account = format!("{}@{addr}", self.double.config().email);
        let session = Session::new(
            reqwest::Client::new(),
            &format!("http://{addr}"),
            &account,
            self.tokens.clone(),
            Arc::new(session::NoSink),
            Duration::from_secs(10),
        );
        let target = TwakeTarget::with_session(
            Arc::new(session),
            &self.double.user_id(),
            &self.double.company_id(),
            "",
            CollisionPolicy::Version,
            &test_http(),
        );
        Arc::new(target)
    }
}
