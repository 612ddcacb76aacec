//! Users as the read model holds them: human or machine, with their state and sequence.

use crate::ids::{OrgId, UserId};
use crate::profile::Profile;
use crate::time::Timestamp;

/// `zitadel.user.v1.UserState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserState {
    /// 1: can sign in and be used.
    Active,
    /// 2: deactivated by an administrator.
    Inactive,
    /// 3: removed; invisible to reads and commands.
    Deleted,
    /// 4: locked after failed sign-ins.
    Locked,
    /// 6: created, email not yet verified.
    Initial,
}

impl UserState {
    /// The wire number.
    #[must_use]
    pub const fn number(self) -> i32 {
        match self {
            Self::Active => 1,
            Self::Inactive => 2,
            Self::Deleted => 3,
            Self::Locked => 4,
            Self::Initial => 6,
        }
    }

    /// The state with wire number `number`, if it is one Persona stores.
    #[must_use]
    pub const fn from_number(number: i32) -> Option<Self> {
        match number {
            1 => Some(Self::Active),
            2 => Some(Self::Inactive),
            3 => Some(Self::Deleted),
            4 => Some(Self::Locked),
            6 => Some(Self::Initial),
            _ => None,
        }
    }
}

/// `zitadel.user.v1.AccessTokenType` of a machine user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessTokenType {
    /// 0: opaque bearer tokens.
    #[default]
    Bearer,
    /// 1: JWT access tokens.
    Jwt,
}

impl AccessTokenType {
    /// The type with wire number `number`; unknown numbers read as bearer.
    #[must_use]
    pub const fn from_number(number: i32) -> Self {
        if number == 1 { Self::Jwt } else { Self::Bearer }
    }

    /// The wire number.
    #[must_use]
    pub const fn number(self) -> i32 {
        match self {
            Self::Bearer => 0,
            Self::Jwt => 1,
        }
    }
}

/// The email address of a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The address, trimmed.
    pub address: String,
    /// Whether it was verified.
    pub verified: bool,
}

/// The phone number of a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// The number, digits with a leading `+`.
    pub number: String,
    /// Whether it was verified.
    pub verified: bool,
}

/// What only humans have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Human {
    /// Names, language, gender.
    pub profile: Profile,
    /// Email address.
    pub email: Email,
    /// Phone number, when one was given.
    pub phone: Option<Phone>,
}

/// What only machine users have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Display name of the machine.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Kind of access tokens it receives.
    pub access_token_type: AccessTokenType,
}

/// Human or machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKind {
    /// A person with a profile.
    Human(Human),
    /// A service account.
    Machine(Machine),
}

/// A user as the read model holds it: the state after its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The org that owns it (its resource owner).
    pub org_id: OrgId,
    /// Its user name, unique in the instance (compared without case) while it is not removed.
    pub user_name: String,
    /// Its state.
    pub state: UserState,
    /// The identifier a provisioning client (SCIM's `externalId`) keeps for it; empty when none.
    pub external_id: String,
    /// Human or machine data.
    pub kind: UserKind,
    /// The number of events of this user so far (its first event is 1).
    pub sequence: u64,
    /// When its first event was committed.
    pub created_at: Timestamp,
    /// When its last event was committed.
    pub changed_at: Timestamp,
}

impl User {
    /// The human data, if this is a human.
    #[must_use]
    pub fn human(&self) -> Option<&Human> {
        match &self.kind {
            UserKind::Human(human) => Some(human),
            UserKind::Machine(_) => None,
        }
    }

    /// Whether the user was removed.
    #[must_use]
    pub fn is_removed(&self) -> bool {
        self.state == UserState::Deleted
    }

    /// Whether the user exists for a caller acting in `org`: owned by it and not removed.
    #[must_use]
    pub fn is_visible_in(&self, org: &OrgId) -> bool {
        &self.org_id == org && !self.is_removed()
    }

    /// The key that makes user names unique: lower case, so `Ada` and `ada` are one name.
    #[must_use]
    pub fn user_name_key(user_name: &str) -> String {
        user_name.to_lowercase()
    }
}
