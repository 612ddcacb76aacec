//! The first start on an empty database: the default org, the admin and its token, in one
//! commit, so several instances starting at once set the instance up exactly once.

use super::retry::{Deciding, Decision};
use super::{BootstrapConfig, Bootstrapped, RequestMeta, Service, replay_error, store_error};
use crate::auth::{Membership, PersonalAccessToken, Role, TokenHash, hex};
use crate::commands::{AddMachineUserRequest, validate_org_name};
use crate::error::Error;
use crate::events::{EventPayload, InstanceAdded, MachineAdded, MemberAdded, OrgAdded, TokenAdded};
use crate::ids::{OrgId, TokenId, UserId};
use crate::org::{Org, primary_domain};
use crate::ports::{AggregateChange, Commit, INSTANCE_ID, Instance, SideEffect, Store, StoreError};
use crate::user::{AccessTokenType, User};

/// A first start, decided but not yet committed: the admin's token is known before anything is
/// written, so the caller can keep it safe first ([`Service::prepare_bootstrap`]).
#[derive(Debug)]
pub struct PreparedBootstrap {
    created: Bootstrapped,
    commit: Commit,
}

impl PreparedBootstrap {
    /// The admin's personal access token this set-up will create.
    #[must_use]
    pub fn admin_token(&self) -> &str {
        &self.created.admin_token
    }
}

impl<S: Store> Service<S> {
    /// Sets up an empty database: the default org, an `admin` machine user holding
    /// `IAM_OWNER`, and its personal access token. Returns `None` when the instance exists
    /// already (also when another process set it up at the same moment).
    ///
    /// # Errors
    /// Invalid names, storage failures.
    pub async fn bootstrap(&self, config: &BootstrapConfig) -> Result<Option<Bootstrapped>, Error> {
        match self.prepare_bootstrap(config).await? {
            Some(prepared) => self.commit_bootstrap(prepared).await,
            None => Ok(None),
        }
    }

    /// The first start's set-up, decided but not written; `None` when the instance exists.
    /// Keep [`PreparedBootstrap::admin_token`] somewhere safe, then [`Service::commit_bootstrap`]:
    /// so an acknowledgement lost on the way can never lose the admin's token.
    ///
    /// # Errors
    /// Invalid names, storage failures.
    pub async fn prepare_bootstrap(&self, config: &BootstrapConfig) -> Result<Option<PreparedBootstrap>, Error> {
        if self.inner.store.instance().await.map_err(store_error)?.is_some() {
            return Ok(None);
        }
        let name = validate_org_name(&config.org_name)?;
        let now = self.now();
        let org_id = OrgId::new(self.next_id());
        let admin_id = UserId::new(self.next_id());
        let (admin_token, token, token_event) = self.new_token(&admin_id, None);
        let owner = Membership { user_id: admin_id.clone(), org_id: None, roles: vec![Role::IamOwner] };
        let instance_events = vec![
            EventPayload::InstanceAdded(InstanceAdded { default_org_id: org_id.as_str().to_owned() }),
            EventPayload::InstanceMemberAdded(MemberAdded {
                user_id: admin_id.as_str().to_owned(),
                roles: vec![Role::IamOwner.name().to_owned()],
            }),
        ];
        let org_events = vec![EventPayload::OrgAdded(OrgAdded {
            primary_domain: primary_domain(&name, &self.inner.config.instance_domain),
            name,
        })];
        let admin_events = vec![
            EventPayload::MachineAdded(MachineAdded {
                user_name: config.admin_user_name.clone(),
                name: "Persona administrator".to_owned(),
                description: String::new(),
                access_token_type: AccessTokenType::Bearer.number(),
            }),
            token_event,
        ];
        let (instance, _) =
            AggregateChange::create::<Instance>(INSTANCE_ID, &org_id, instance_events, now).map_err(replay_error)?;
        let (org, _) =
            AggregateChange::create::<Org>(org_id.as_str(), &org_id, org_events, now).map_err(replay_error)?;
        let (admin, _) =
            AggregateChange::create::<User>(admin_id.as_str(), &org_id, admin_events, now).map_err(replay_error)?;
        let commit = Commit {
            editor: admin_id.clone(),
            changes: vec![instance, org, admin],
            side_effects: vec![SideEffect::PutMembership(owner), SideEffect::PutToken(token)],
        };
        Ok(Some(PreparedBootstrap { created: Bootstrapped { org_id, admin_id, admin_token }, commit }))
    }

    /// Commits a prepared set-up. Idempotent in its outcome: when the database fails during the
    /// commit, the admin's token decides whether the set-up landed.
    ///
    /// # Errors
    /// Storage failures; [`Error::commit_uncertain`] when the outcome cannot be learnt (the
    /// database is gone): the prepared token is then the admin's exactly if it authenticates
    /// later ([`Service::token_authenticates`]).
    pub async fn commit_bootstrap(&self, prepared: PreparedBootstrap) -> Result<Option<Bootstrapped>, Error> {
        let PreparedBootstrap { created, commit } = prepared;
        match self.inner.store.commit(commit).await {
            Ok(_) => Ok(Some(created)),
            // Another process set the instance up first.
            Err(StoreError::Conflict) => Ok(None),
            Err(StoreError::Uncertain(cause)) => {
                if self.token_authenticates(&created.admin_token).await.map_err(|e| e.with_cause(cause.clone()))? {
                    Ok(Some(created))
                } else if self.inner.store.instance().await.map_err(store_error)?.is_some() {
                    Ok(None)
                } else {
                    Err(Error::commit_uncertain().with_cause(cause))
                }
            }
            Err(other) => Err(store_error(other)),
        }
    }

    /// Whether `token` authenticates anyone now (for an operator's tools: a token kept from an
    /// interrupted first start).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn token_authenticates(&self, token: &str) -> Result<bool, Error> {
        let caller = self.inner.store.caller(&TokenHash::of(token), self.now()).await.map_err(store_error)?;
        Ok(caller.is_some())
    }
}

/// What `persona admin token` asks for: a new machine user with an instance-wide role.
#[derive(Debug, Clone)]
pub struct InstanceTokenRequest {
    /// User name of the new machine user.
    pub user_name: String,
    /// The instance-wide role it gets (`IAM_OWNER` to recover an instance).
    pub role: Role,
}

/// A machine user created by [`Service::issue_instance_token`], with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceToken {
    /// The new machine user.
    pub user_id: UserId,
    /// Its personal access token: hand it to the operator once.
    pub token: String,
}

impl<S: Store> Service<S> {
    /// Recovery for an operator with access to the database (no caller, no token): a fresh
    /// machine user in the default org holding `request.role` instance-wide, and a token for
    /// it. Recorded as events like any other change, with the new user as their editor.
    ///
    /// # Errors
    /// InvalidArgument for a role that is not instance-wide or a bad user name, AlreadyExists
    /// for a taken name, FailedPrecondition before the first start set the instance up (that
    /// start creates the admin and its token), storage failures.
    pub async fn issue_instance_token(&self, request: &InstanceTokenRequest) -> Result<InstanceToken, Error> {
        if !request.role.is_instance_role() {
            return Err(Error::instance_role_required());
        }
        let machine = AddMachineUserRequest {
            user_name: request.user_name.clone(),
            name: format!("Persona {} (recovery)", request.role.name()),
            description: "Created by `persona admin token`".to_owned(),
            access_token_type: AccessTokenType::Bearer.number(),
            user_id: None,
        };
        let (user_id, added) = machine.into_event(self.next_id())?;
        let (token, record, token_event) = self.new_token(&user_id, None);
        let membership = Membership { user_id: user_id.clone(), org_id: None, roles: vec![request.role] };
        let decide = |instance: Instance| -> Deciding<'_> {
            let decided = (|| {
                let events = vec![EventPayload::MachineAdded(added.clone()), token_event.clone()];
                let (user, _) =
                    AggregateChange::create::<User>(user_id.as_str(), &instance.default_org_id, events, self.now())
                        .map_err(replay_error)?;
                Ok(Decision {
                    events: vec![EventPayload::InstanceMemberAdded(MemberAdded {
                        user_id: user_id.as_str().to_owned(),
                        roles: vec![request.role.name().to_owned()],
                    })],
                    side_effects: vec![
                        SideEffect::PutMembership(membership.clone()),
                        SideEffect::PutToken(record.clone()),
                    ],
                    others: vec![user],
                })
            })();
            Box::pin(std::future::ready(decided))
        };
        let meta = RequestMeta::default();
        self.execute(&meta, &user_id, INSTANCE_ID, |_: &Instance| true, Error::instance_not_set_up, decide).await?;
        Ok(InstanceToken { user_id, token })
    }

    /// A fresh token for `user_id`: its text (shown once), its stored record and its event.
    pub(super) fn new_token(
        &self,
        user_id: &UserId,
        expires_at: Option<crate::time::Timestamp>,
    ) -> (String, PersonalAccessToken, EventPayload) {
        let token_id = TokenId::new(self.next_id());
        let mut secret = [0u8; 32];
        self.inner.random.fill(&mut secret);
        let token = hex(&secret);
        let record = PersonalAccessToken {
            id: token_id.clone(),
            user_id: user_id.clone(),
            hash: TokenHash::of(&token),
            expires_at,
        };
        let event = EventPayload::TokenAdded(TokenAdded {
            token_id: token_id.into_string(),
            expiration: expires_at.map(crate::time::Timestamp::unix_micros),
        });
        (token, record, event)
    }
}
