//! Shared harness for end-to-end tests.
pub mod fault_proxy;
