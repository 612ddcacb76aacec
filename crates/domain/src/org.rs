//! Organisations: the tenants that own users.

use crate::ids::OrgId;
use crate::time::Timestamp;

/// `zitadel.org.v1.OrgState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgState {
    /// 1
    Active,
    /// 2
    Inactive,
    /// 3
    Removed,
}

impl OrgState {
    /// The wire number.
    #[must_use]
    pub const fn number(self) -> i32 {
        match self {
            Self::Active => 1,
            Self::Inactive => 2,
            Self::Removed => 3,
        }
    }

    /// The state with wire number `number`, if it is one.
    #[must_use]
    pub const fn from_number(number: i32) -> Option<Self> {
        match number {
            1 => Some(Self::Active),
            2 => Some(Self::Inactive),
            3 => Some(Self::Removed),
            _ => None,
        }
    }
}

/// An organisation as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its id.
    pub id: OrgId,
    /// Its name, 1..200 characters.
    pub name: String,
    /// Its state.
    pub state: OrgState,
    /// `<name-as-slug>.<instance domain>`.
    pub primary_domain: String,
    /// The number of events of this org so far.
    pub sequence: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub changed_at: Timestamp,
}

/// The domain an org gets from its name: lower case, runs of anything but letters and digits
/// become one `-`, then `.` and the instance domain (`ACME Corp` -> `acme-corp.localhost`).
#[must_use]
pub fn primary_domain(name: &str, instance_domain: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "org" } else { slug };
    format!("{slug}.{instance_domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_domain_is_a_slug_of_the_name() {
        let table = [
            ("ACME Corp", "acme-corp.localhost"),
            ("  Müller & Söhne  ", "müller-söhne.localhost"),
            ("!!!", "org.localhost"),
        ];
        for (name, domain) in table {
            assert_eq!(primary_domain(name, "localhost"), domain, "{name}");
        }
    }
}
