//! The binary as an operator runs it (issue 4): configuration and its errors, the commands,
//! logs without secrets, metrics, graceful shutdown, readiness, load shedding and limits, TLS,
//! and the OpenAPI document checked against real responses. Every test starts the real binary.

mod commands;
mod cors;
mod frames;
pub(crate) mod held;
mod http2;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod openapi;
mod readiness;
mod tls;
