//! End-to-end tests: the real `persona` binary on a free port, driven over the network.

mod external;
mod harness;
mod protocols;
mod rest;
