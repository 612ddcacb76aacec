//! SeaORM entities of the tables: the event log and the read model. Only this crate sees them.

pub mod events;
pub mod instance;
pub mod memberships;
pub mod orgs;
pub mod tokens;
pub mod users;
pub mod webhook_deliveries;
