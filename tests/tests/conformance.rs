//! Runs the target conformance suite (`e2e_tests::conformance`) against every server we
//! have: our receiver in the Resumable.js and in the Flow.js dialect, and the Twake Drive
//! API double through the Twake Drive target, and the cozy-stack double through the cozy target.

use e2e_tests::conformance::{self, ConformanceServer};
use e2e_tests::cozy_double::conformance::CozyConformance;
use e2e_tests::harness::{sha256_file, ReceiverServer};
use e2e_tests::twake_double::conformance::TwakeConformance;
use std::net::SocketAddr;
use upload_engine::{Dialect, TargetSpec};

struct Receiver {
    server: ReceiverServer,
    dialect: Dialect,
}

impl ConformanceServer for Receiver {
    fn addr(&self) -> SocketAddr {
        self.server.receiver.local_addr()
    }
    fn spec_for(&self, addr: SocketAddr) -> TargetSpec {
        TargetSpec::Resumable {
            url: format!("http://{addr}/upload"),
            dialect: self.dialect,
        }
    }
    fn stored_sha256(&self, relative_path: &str) -> Option<String> {
        let p = self.server.stored(relative_path);
        p.is_file().then(|| sha256_file(&p))
    }
    fn chunk_posts(&self) -> Option<u64> {
        Some(self.server.receiver.stats().posts_accepted)
    }
}

async fn receiver(dialect: Dialect) -> Receiver {
    Receiver {
        server: ReceiverServer::start().await,
        dialect,
    }
}

macro_rules! suite {
    ($module:ident, $server:expr) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sizes_around_the_chunk_size_arrive_identical() {
                conformance::sizes_around_the_chunk_size(&$server.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nested_folders_with_unicode_names_keep_their_tree() {
                conformance::nested_folder_with_unicode_names(&$server.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pause_stops_progress_and_resume_finishes() {
                conformance::pause_then_resume(&$server.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cancel_stops_the_upload_for_good() {
                conformance::cancel_stops_the_upload(&$server.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_upload_continues_after_a_restart_without_resending() {
                conformance::restart_in_the_middle(&$server.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_failed_file_uploads_when_retried() {
                conformance::retry_after_failure(&$server.await).await;
            }
        }
    };
}

suite!(receiver_resumable_dialect, receiver(Dialect::Resumable));
suite!(receiver_flow_dialect, receiver(Dialect::Flow));
suite!(twake_double, TwakeConformance::start());
suite!(cozy_double, CozyConformance::start());
