//! The double as a `ConformanceServer`: the suite's target is a cozy target over a session
//! the double issued directly (the browser sign-in has its own tests), reached through the
//! suite's proxies when it puts one in front; what was stored is read from the double's disk.

use super::CozyDouble;
use crate::conformance::ConformanceServer;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upload_engine::targets::cozy::{session, CozySession, CozyTarget, Credentials};
use upload_engine::targets::twake::{CollisionPolicy, Secret};
use upload_engine::{Engine, TargetSpec};

pub struct CozyConformance {
    pub double: CozyDouble,
    credentials: Credentials,
    engine: Mutex<Option<Engine>>,
}

impl CozyConformance {
    pub async fn start() -> CozyConformance {
        let double = CozyDouble::start().await;
        let credentials = credentials_of(&double);
        CozyConformance {
            double,
            credentials,
            engine: Mutex::new(None),
        }
    }
}

/// A client and tokens the double hands out without a browser.
pub fn credentials_of(double: &CozyDouble) -> Credentials {
    let (client_id, secret, access, refresh) = double.issue_client("http://127.0.0.1:1/callback");
    Credentials {
        client_id,
        client_secret: Secret::new(secret),
        registration_token: Secret::new("not used by uploads"),
        access: Secret::new(access),
        refresh: Secret::new(refresh),
    }
}

/// A session on the instance reached at `addr` (the double or a proxy in front of it).
pub fn session_at(addr: SocketAddr, credentials: &Credentials) -> Arc<CozySession> {
    Arc::new(CozySession::new(
        reqwest::Client::new(),
        &format!("http://{addr}"),
        &addr.to_string(),
        credentials.clone(),
        Arc::new(session::NoSink),
        Duration::from_secs(10),
    ))
}

impl CozyConformance {
    fn target_at(&self, addr: SocketAddr) -> Arc<dyn upload_engine::Target> {
        Arc::new(CozyTarget::with_session(
            session_at(addr, &self.credentials),
            "",
            CollisionPolicy::Version,
            Duration::from_secs(2),
        ))
    }
}

impl ConformanceServer for CozyConformance {
    fn addr(&self) -> SocketAddr {
        self.double.addr()
    }

    fn spec_for(&self, addr: SocketAddr) -> TargetSpec {
        let spec = TargetSpec::Cozy {
            account: addr.to_string(),
            folder: String::new(),
            collision: CollisionPolicy::Version,
        };
        if let Some(engine) = self.engine.lock().ok().and_then(|e| e.clone()) {
            engine.register_target(spec.clone(), self.target_at(addr));
        }
        spec
    }

    fn target_for(&self, spec: &TargetSpec) -> Option<Arc<dyn upload_engine::Target>> {
        let TargetSpec::Cozy { account, .. } = spec else {
            return None;
        };
        Some(self.target_at(account.parse().ok()?))
    }

    fn stored_sha256(&self, relative_path: &str) -> Option<String> {
        self.double.sha256_of(&format!("/{relative_path}"))
    }

    fn chunk_posts(&self) -> Option<u64> {
        Some(self.double.count(|c| &c.files_stored))
    }

    fn whole_file(&self) -> bool {
        true
    }

    fn prepare(&self, engine: &Engine) {
        if let Ok(mut e) = self.engine.lock() {
            *e = Some(engine.clone());
        }
    }
}
