//! ZITADEL's v2 user service (`zitadel.user.v2.UserService`, CONTRACT section 7) over the same
//! application service as v1: [`convert`] reads and writes its messages, [`rpc`] has one
//! function per RPC for every protocol, and [`UserApi`] serves them over gRPC.

pub mod convert;
pub mod rpc;
mod service;

pub use service::UserApi;
