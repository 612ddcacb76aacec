//! The first start on an empty database: the default org, the admin and its token, in one
//! commit, so several instances starting at once set the instance up exactly once.

use super::{BootstrapConfig, Bootstrapped, Service, store_error};
use crate::auth::{Membership, PersonalAccessToken, Role, TokenHash, hex};
use crate::commands::validate_org_name;
use crate::error::Error;
use crate::events::{EventPayload, InstanceAdded, MachineAdded, MemberAdded, OrgAdded, TokenAdded};
use crate::ids::{OrgId, TokenId, UserId};
use crate::org::{Org, OrgState, primary_domain};
use crate::ports::{AggregateChange, AggregateState, Commit, Instance, SideEffect, Store, StoreError};
use crate::user::{AccessTokenType, Machine, User, UserKind, UserState};

impl<S: Store> Service<S> {
    /// Sets up an empty database: the default org, an `admin` machine user holding
    /// `IAM_OWNER`, and its personal access token. Returns `None` when the instance exists
    /// already (also when another process set it up at the same moment).
    ///
    /// # Errors
    /// Invalid names, storage failures.
    pub async fn bootstrap(&self, config: &BootstrapConfig) -> Result<Option<Bootstrapped>, Error> {
        if self.inner.store.instance().await.map_err(store_error)?.is_some() {
            return Ok(None);
        }
        let name = validate_org_name(&config.org_name)?;
        let now = self.now();
        let org_id = OrgId::new(self.next_id());
        let admin_id = UserId::new(self.next_id());
        let token_id = TokenId::new(self.next_id());
        let mut secret = [0u8; 32];
        self.inner.random.fill(&mut secret);
        let admin_token = hex(&secret);

        let org = Org {
            id: org_id.clone(),
            primary_domain: primary_domain(&name, &self.inner.config.instance_domain),
            name,
            state: OrgState::Active,
            sequence: 1,
            created_at: now,
            changed_at: now,
        };
        let machine = Machine {
            name: "Persona administrator".to_owned(),
            description: String::new(),
            access_token_type: AccessTokenType::Bearer,
        };
        let admin = User {
            id: admin_id.clone(),
            org_id: org_id.clone(),
            user_name: config.admin_user_name.clone(),
            state: UserState::Active,
            kind: UserKind::Machine(machine.clone()),
            sequence: 2,
            created_at: now,
            changed_at: now,
        };
        let instance = Instance { default_org_id: org_id.clone(), sequence: 2, created_at: now, changed_at: now };
        let owner = Membership { user_id: admin_id.clone(), org_id: None, roles: vec![Role::IamOwner] };
        let token = PersonalAccessToken {
            id: token_id.clone(),
            user_id: admin_id.clone(),
            hash: TokenHash::of(&admin_token),
            expires_at: None,
        };
        let commit = Commit {
            editor: admin_id.clone(),
            changes: vec![
                AggregateChange {
                    expected_sequence: 0,
                    state: AggregateState::Instance(instance),
                    events: vec![
                        EventPayload::InstanceAdded(InstanceAdded { default_org_id: org_id.as_str().to_owned() }),
                        EventPayload::InstanceMemberAdded(MemberAdded {
                            user_id: admin_id.as_str().to_owned(),
                            roles: vec![Role::IamOwner.name().to_owned()],
                        }),
                    ],
                },
                AggregateChange {
                    expected_sequence: 0,
                    events: vec![EventPayload::OrgAdded(OrgAdded {
                        name: org.name.clone(),
                        primary_domain: org.primary_domain.clone(),
                    })],
                    state: AggregateState::Org(org),
                },
                AggregateChange {
                    expected_sequence: 0,
                    state: AggregateState::User(admin),
                    events: vec![
                        EventPayload::MachineAdded(MachineAdded {
                            user_name: config.admin_user_name.clone(),
                            name: machine.name,
                            description: machine.description,
                            access_token_type: machine.access_token_type.number(),
                        }),
                        EventPayload::TokenAdded(TokenAdded {
                            token_id: token_id.as_str().to_owned(),
                            expiration: None,
                        }),
                    ],
                },
            ],
            side_effects: vec![SideEffect::PutMembership(owner), SideEffect::PutToken(token)],
        };
        match self.inner.store.commit(commit).await {
            Ok(_) => Ok(Some(Bootstrapped { org_id, admin_id, admin_token })),
            // Another process set the instance up first.
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(store_error(other)),
        }
    }
}
