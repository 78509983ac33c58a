//! Shared harness for end-to-end tests.
pub mod cli_run;
pub mod conformance;
pub mod cozy_double;
pub mod fake_power;
pub mod fault_proxy;
pub mod harness;
pub mod link_emulator;
pub mod oidc_browser;
pub mod oidc_provider;
pub mod scripted_server;
pub mod test_ca;
pub mod tinyproxy;
pub mod tls_front;
pub mod tls_server;
pub mod twake_double;
pub mod twake_harness;
