//! End-to-end tests: the real `persona` binary on a free port, driven over the network.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a test crate: a failed step is a failed test, also in the helpers outside #[test] functions"
)]

mod bootstrap;
mod calls;
mod causes;
mod connect;
mod console;
mod crash;
mod extensions;
mod external;
mod harness;
mod hostile;
mod hostile_v2;
mod instances;
mod isolation;
mod operator;
mod order;
mod privilege;
mod protocols;
mod rest;
mod schemathesis;
mod scim;
mod sdk;
mod secrets;
mod timestamps;
mod v2;
mod webhooks;
