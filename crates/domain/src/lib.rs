//! # persona-domain
//!
//! The pure rules of Persona, a service for the profiles of human users that speaks ZITADEL's
//! management API. This crate has no I/O: it holds the types, the validation of every request,
//! the update decisions, the events, the errors in the wire contract's shape, and the ports
//! (traits) that storage adapters implement. Protocol adapters call [`Service`]; so can any Rust
//! program that embeds Persona's rules.
//!
//! Where to look:
//! - what makes a profile valid: [`profile`], with every field's limits in [`rules`];
//! - when an update is a change: [`update`];
//! - who may do what: [`auth`];
//! - what storage must do: [`ports`].
//!
//! ## Embedding Persona in a Rust service
//!
//! A program calls [`Service`] directly, over a [`Store`](ports::Store) of its choice. In
//! memory (the `memory` module, feature `testing`), for tests and for programs that want the
//! rules without a database:
//!
//! ```
//! use persona_domain::memory::{InMemoryStore, SeededRandom, SystemClock};
//! use persona_domain::{BootstrapConfig, RequestMeta, Service, ServiceConfig, UpdateHumanProfileRequest};
//! use persona_domain::commands::{EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields};
//! use std::sync::Arc;
//!
//! # tokio_test_block_on(async {
//! let service = Service::new(InMemoryStore::default(), Arc::new(SystemClock), Arc::new(SeededRandom::new(1)), ServiceConfig::default());
//! let admin = service
//!     .bootstrap(&BootstrapConfig { org_name: "Acme".into(), admin_user_name: "admin".into() })
//!     .await?
//!     .expect("an empty store is set up");
//! let header = format!("Bearer {}", admin.admin_token);
//! let meta = RequestMeta { authorization: Some(&header), ..RequestMeta::default() };
//!
//! let ada = NewHumanRequest {
//!     user_name: "ada".into(),
//!     profile: Some(ProfileInput { first_name: "Ada".into(), last_name: "Lovelace".into(), ..Default::default() }),
//!     email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: true }),
//!     phone: None,
//! };
//! let created = service.add_human_user(&meta, &ada, &UnsupportedHumanFields::default()).await?;
//!
//! let update = UpdateHumanProfileRequest {
//!     user_id: created.id.clone(),
//!     first_name: "Ada".into(),
//!     last_name: "King".into(),
//!     display_name: "Ada King".into(),
//!     preferred_language: "en_gb".into(),
//!     ..Default::default()
//! };
//! let details = service.update_human_profile(&meta, &update).await?;
//! assert_eq!(details.sequence, 2);
//!
//! let again = service.update_human_profile(&meta, &update).await.unwrap_err();
//! assert_eq!(again.message(), "Profile not changed (COMMAND-2M0fs)");
//! # Ok::<(), persona_domain::Error>(())
//! # });
//! # fn tokio_test_block_on<F: std::future::Future<Output = Result<(), persona_domain::Error>>>(f: F) {
//! #     persona_domain::memory::block_on(f).expect("example runs");
//! # }
//! ```
//!
//! Durably, with the `persona-storage` crate: the same service on a SQLite file (a
//! `postgres://` URL selects PostgreSQL), inside a Tokio runtime. What one service wrote, a
//! service opened later on the same file reads:
//!
//! ```
//! use persona_domain::commands::{EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields};
//! use persona_domain::{BootstrapConfig, RequestMeta, Service, ServiceConfig};
//! use persona_storage::{OsRandom, SeaOrmStore, StorageConfig, SystemClock};
//! use std::sync::Arc;
//!
//! async fn open(url: &str) -> Result<Service<SeaOrmStore>, Box<dyn std::error::Error>> {
//!     let store = SeaOrmStore::connect(&StorageConfig::new(url)).await?;
//!     Ok(Service::new(store, Arc::new(SystemClock), Arc::new(OsRandom::new()?), ServiceConfig::default()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
//!
//! let service = open(&url).await?;
//! let names = BootstrapConfig { org_name: "Acme".into(), admin_user_name: "admin".into() };
//! let admin = service.bootstrap(&names).await?.expect("a new file is set up");
//! let header = format!("Bearer {}", admin.admin_token);
//! let meta = RequestMeta { authorization: Some(&header), ..RequestMeta::default() };
//! let ada = NewHumanRequest {
//!     user_name: "ada".into(),
//!     profile: Some(ProfileInput { first_name: "Ada".into(), last_name: "Lovelace".into(), ..Default::default() }),
//!     email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: true }),
//!     phone: None,
//! };
//! let created = service.add_human_user(&meta, &ada, &UnsupportedHumanFields::default()).await?;
//! drop(service);
//!
//! let reopened = open(&url).await?;
//! assert!(reopened.bootstrap(&names).await?.is_none(), "set up once, on the first start");
//! let (details, profile) = reopened.get_human_profile(&meta, &created.id).await?;
//! assert_eq!((details.sequence, profile.last_name()), (1, "Lovelace"));
//! # Ok(())
//! # }
//! ```

pub mod aggregate;
pub mod auth;
pub mod commands;
pub mod error;
pub mod events;
pub mod ids;
pub mod language;
mod locks;
pub mod org;
pub mod patch;
pub mod ports;
pub mod profile;
pub mod query;
pub mod rules;
pub mod service;
pub mod time;
pub mod update;
pub mod user;
mod validation;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(any(test, feature = "testing"))]
pub mod memory;

pub use error::{Error, ErrorKind};
pub use profile::{Gender, Profile, UpdateHumanProfileRequest};
pub use service::{BootstrapConfig, RequestMeta, Service, ServiceConfig};
