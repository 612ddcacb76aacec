//! End-to-end tests: the real `persona` binary on a free port, driven over the network.

mod bootstrap;
mod calls;
mod causes;
mod crash;
mod extensions;
mod external;
mod harness;
mod hostile;
mod instances;
mod isolation;
mod operator;
mod order;
mod privilege;
mod protocols;
mod rest;
mod schemathesis;
mod secrets;
mod timestamps;
