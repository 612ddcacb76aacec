//! A Rust service embedding Persona's rules without a database: set up an instance, add a user,
//! update its profile, and see the rules answer exactly as the network API would.
//!
//! Run with `cargo run -p persona-domain --example embed`.

use persona_domain::commands::{EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields};
use persona_domain::memory::{InMemoryStore, SeededRandom, SystemClock, block_on};
use persona_domain::{BootstrapConfig, Error, RequestMeta, Service, ServiceConfig, UpdateHumanProfileRequest};
use std::sync::Arc;

fn main() -> Result<(), Error> {
    block_on(async {
        let service = Service::new(
            InMemoryStore::default(),
            Arc::new(SystemClock),
            Arc::new(SeededRandom::new(42)),
            ServiceConfig::default(),
        );
        let Some(admin) =
            service.bootstrap(&BootstrapConfig { org_name: "Acme".into(), admin_user_name: "admin".into() }).await?
        else {
            return Ok(());
        };
        let header = format!("Bearer {}", admin.admin_token);
        let meta = RequestMeta { authorization: Some(&header), ..RequestMeta::default() };

        let request = NewHumanRequest {
            user_name: "ada".into(),
            profile: Some(ProfileInput {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                ..ProfileInput::default()
            }),
            email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: true }),
            phone: None,
        };
        let created = service.add_human_user(&meta, &request, &UnsupportedHumanFields::default()).await?;
        println!("created user {} (sequence {})", created.id, created.details.sequence);

        let update = UpdateHumanProfileRequest {
            user_id: created.id.clone(),
            first_name: "Augusta Ada".into(),
            last_name: "King".into(),
            display_name: "Ada King".into(),
            preferred_language: "EN_gb".into(),
            gender: 1,
            ..UpdateHumanProfileRequest::default()
        };
        let details = service.update_human_profile(&meta, &update).await?;
        println!("updated to sequence {}", details.sequence);

        match service.update_human_profile(&meta, &update).await {
            Err(error) => println!("again: {} (gRPC code {})", error.message(), error.kind().grpc_code()),
            Ok(_) => println!("unexpected: an identical update was accepted"),
        }
        let (_, profile) = service.get_human_profile(&meta, &created.id).await?;
        println!("stored language: {}", profile.preferred_language());
        Ok(())
    })
}
