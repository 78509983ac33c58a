//! The engine's own configuration: the queue's database, its limits and policies, and what it
//! is given to reach servers (the network settings, the accounts service). It sits with the
//! queue because it names services of the layers below it.

use crate::config::{ChangedFilePolicy, Limits, RetryPolicy};
use std::time::Duration;

/// Engine-wide configuration.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The durable queue's database; `None` keeps the queue in memory only.
    pub database: Option<std::path::PathBuf>,
    pub changed_files: ChangedFilePolicy,
    /// Bytes per second across all uploads; 0 = no limit.
    pub bandwidth_limit: u64,
    /// Fail what is left after being offline this long; `None` waits for the network forever.
    pub offline_give_up: Option<Duration>,
    /// Open the queue without sending anything (for tools that only change the queue, like
    /// `twake-upload pause ID`).
    pub hold: bool,
    /// Conditions of the machine that hold the queue from the start (`Engine::hold`), so a
    /// laptop started on battery sends nothing before the front end has told the engine.
    pub held: Vec<crate::events::HoldReason>,
    pub limits: Limits,
    pub retry: RetryPolicy,
    /// A chunk request that moves no byte for this long is abandoned and retried.
    pub stall_timeout: Duration,
    pub connect_timeout: Duration,
    /// Smallest chunk size a 413 may re-plan down to.
    pub min_chunk_size: u64,
    /// Extra trusted authorities and the proxy of every target (`targets/network.rs`).
    pub network: crate::targets::network::NetworkSettings,
    /// Capacity of the event channel; a slower subscriber sees `Lagged` and should re-read
    /// `snapshot()`.
    pub event_capacity: usize,
    /// The signed-in accounts, for targets that need a session (Twake Drive). The front end
    /// opens the service on the store it chose and hands it in; `None` allows only targets
    /// without accounts.
    pub accounts: Option<std::sync::Arc<crate::accounts::Accounts>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            database: None,
            changed_files: ChangedFilePolicy::Restart,
            bandwidth_limit: 0,
            offline_give_up: None,
            hold: false,
            held: Vec::new(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            stall_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            min_chunk_size: 64 * 1024,
            network: Default::default(),
            event_capacity: 65_536,
            accounts: None,
        }
    }
}
