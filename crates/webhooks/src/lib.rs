//! # persona-webhooks
//!
//! Persona's change events out, following Standard Webhooks v1: the JSON body of a user event,
//! its `webhook-id` / `webhook-timestamp` / `webhook-signature` headers (HMAC-SHA256 with
//! `whsec_` secrets, one signature per secret during a rotation), and the delivery loop over
//! the domain's [`Outbox`](persona_domain::webhook::Outbox) port: leased, in order per user,
//! users in parallel, retried with exponential backoff and jitter, parked when too old, and
//! stopped for an endpoint that answers 410 Gone.
//!
//! Secrets never leave [`Secret`]: its `Debug` hides them, and nothing here logs them.

mod client;
mod dispatch;
mod message;
pub mod stats;

pub use client::{Client, SendError, Target, UrlError};
pub use dispatch::{DeliverySettings, Dispatcher, Endpoint};
pub use message::{Secret, SecretError, body, rfc3339, signature_header};
pub use stats::{LAG_BOUNDS, WebhookStats};
