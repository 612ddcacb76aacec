//! Searching users: the filter tree that v2's `ListUsers` (and SCIM's `filter`) compile to, the
//! sort and the page. [`UserFilter::matches`] is the meaning of every filter: the in-memory
//! store evaluates it directly, and the database stores must answer exactly as it does (their
//! tests compare both on the same users).

use crate::ids::{OrgId, UserId};
use crate::time::Timestamp;
use crate::user::{User, UserKind, UserState};

/// A text field of a user that can be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// The user name (v2's login names are the user name too).
    UserName,
    /// A human's first (given) name.
    FirstName,
    /// A human's last (family) name.
    LastName,
    /// A human's nick name.
    NickName,
    /// A human's display name; a machine's name.
    DisplayName,
    /// A human's email address.
    Email,
    /// A human's phone number.
    Phone,
    /// The identifier a provisioning client keeps (SCIM's `externalId`).
    ExternalId,
}

/// An order comparison of a value with a bound: `value <op> bound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// Equal.
    Equal,
    /// Strictly greater.
    Greater,
    /// Greater or equal.
    GreaterOrEqual,
    /// Strictly less.
    Less,
    /// Less or equal.
    LessOrEqual,
}

impl Comparison {
    /// Whether `value <op> bound` holds.
    #[must_use]
    pub fn holds<T: Ord + ?Sized>(self, value: &T, bound: &T) -> bool {
        match self {
            Self::Equal => value == bound,
            Self::Greater => value > bound,
            Self::GreaterOrEqual => value >= bound,
            Self::Less => value < bound,
            Self::LessOrEqual => value <= bound,
        }
    }
}

/// A time of a user that can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeField {
    /// When its first event was committed (SCIM's `meta.created`).
    Created,
    /// When its last event was committed (SCIM's `meta.lastModified`).
    Changed,
}

/// How a text value is compared. Ignoring case compares [`str::to_lowercase`] of both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextMatch {
    /// The whole value, exactly.
    Equals,
    /// The whole value, case ignored.
    EqualsIgnoreCase,
    /// A prefix, exactly.
    StartsWith,
    /// A prefix, case ignored.
    StartsWithIgnoreCase,
    /// A substring, exactly.
    Contains,
    /// A substring, case ignored.
    ContainsIgnoreCase,
    /// A suffix, exactly.
    EndsWith,
    /// A suffix, case ignored.
    EndsWithIgnoreCase,
}

impl TextMatch {
    /// Whether case is ignored.
    #[must_use]
    pub const fn ignores_case(self) -> bool {
        matches!(
            self,
            Self::EqualsIgnoreCase | Self::StartsWithIgnoreCase | Self::ContainsIgnoreCase | Self::EndsWithIgnoreCase
        )
    }

    /// Whether `value` matches `pattern` this way.
    #[must_use]
    pub fn test(self, value: &str, pattern: &str) -> bool {
        let (value, pattern) = if self.ignores_case() {
            (value.to_lowercase(), pattern.to_lowercase())
        } else {
            (value.to_owned(), pattern.to_owned())
        };
        match self {
            Self::Equals | Self::EqualsIgnoreCase => value == pattern,
            Self::StartsWith | Self::StartsWithIgnoreCase => value.starts_with(&pattern),
            Self::Contains | Self::ContainsIgnoreCase => value.contains(&pattern),
            Self::EndsWith | Self::EndsWithIgnoreCase => value.ends_with(&pattern),
        }
    }
}

/// Human or machine, as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KindFilter {
    /// Humans only.
    Human,
    /// Machine users only.
    Machine,
}

/// A condition on users. Text fields a user does not have (a machine's email, a human without
/// phone) are the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    /// A text field compared with a value.
    Text {
        /// The field.
        field: TextField,
        /// The value to compare with.
        value: String,
        /// How.
        method: TextMatch,
    },
    /// A text field ordered against a bound, by bytes (case ignored: [`str::to_lowercase`] of
    /// both sides), as `gt`/`ge`/`lt`/`le` of SCIM compare strings.
    Compare {
        /// The field.
        field: TextField,
        /// The comparison.
        op: Comparison,
        /// The bound.
        value: String,
        /// Whether case is ignored.
        ignore_case: bool,
    },
    /// A time of the user compared with an instant (microsecond precision).
    Time {
        /// The time.
        field: TimeField,
        /// The comparison.
        op: Comparison,
        /// The instant.
        at: Timestamp,
    },
    /// The user's state.
    State(UserState),
    /// Human or machine.
    Kind(KindFilter),
    /// One of these ids.
    InIds(Vec<UserId>),
    /// One of these email addresses, case ignored.
    InEmails(Vec<String>),
    /// Owned by this org.
    Org(OrgId),
    /// All of these (none: every user).
    And(Vec<UserFilter>),
    /// Any of these (none: no user).
    Or(Vec<UserFilter>),
    /// Not this.
    Not(Box<UserFilter>),
}

/// The value of `field` of `user`, empty where it has none.
#[must_use]
pub fn text_of(user: &User, field: TextField) -> &str {
    match (&user.kind, field) {
        (_, TextField::UserName) => &user.user_name,
        (UserKind::Human(h), TextField::FirstName) => h.profile.first_name(),
        (UserKind::Human(h), TextField::LastName) => h.profile.last_name(),
        (UserKind::Human(h), TextField::NickName) => h.profile.nick_name(),
        (UserKind::Human(h), TextField::DisplayName) => h.profile.display_name(),
        (UserKind::Machine(m), TextField::DisplayName) => &m.name,
        (UserKind::Human(h), TextField::Email) => &h.email.address,
        (UserKind::Human(h), TextField::Phone) => h.phone.as_ref().map_or("", |p| p.number.as_str()),
        (_, TextField::ExternalId) => &user.external_id,
        (UserKind::Machine(_), _) => "",
    }
}

impl UserFilter {
    /// Whether `user` satisfies this filter: the reference every store answers by.
    #[must_use]
    pub fn matches(&self, user: &User) -> bool {
        match self {
            Self::Text { field, value, method } => method.test(text_of(user, *field), value),
            Self::Compare { field, op, value, ignore_case: true } => {
                op.holds(text_of(user, *field).to_lowercase().as_str(), value.to_lowercase().as_str())
            }
            Self::Compare { field, op, value, ignore_case: false } => op.holds(text_of(user, *field), value.as_str()),
            Self::Time { field: TimeField::Created, op, at } => op.holds(&user.created_at, at),
            Self::Time { field: TimeField::Changed, op, at } => op.holds(&user.changed_at, at),
            Self::State(state) => user.state == *state,
            Self::Kind(KindFilter::Human) => matches!(user.kind, UserKind::Human(_)),
            Self::Kind(KindFilter::Machine) => matches!(user.kind, UserKind::Machine(_)),
            Self::InIds(ids) => ids.contains(&user.id),
            Self::InEmails(emails) => {
                let email = text_of(user, TextField::Email).to_lowercase();
                matches!(user.kind, UserKind::Human(_)) && emails.iter().any(|e| e.to_lowercase() == email)
            }
            Self::Org(org) => &user.org_id == org,
            Self::And(all) => all.iter().all(|f| f.matches(user)),
            Self::Or(any) => any.iter().any(|f| f.matches(user)),
            Self::Not(inner) => !inner.matches(user),
        }
    }

    /// How deep the tree nests (a leaf is 1), so that callers can refuse absurd trees.
    #[must_use]
    pub fn depth(&self) -> usize {
        match self {
            Self::And(all) | Self::Or(all) => 1 + all.iter().map(Self::depth).max().unwrap_or(0),
            Self::Not(inner) => 1 + inner.depth(),
            _ => 1,
        }
    }
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortField {
    /// By creation time (the default).
    #[default]
    CreationDate,
    /// By user name.
    UserName,
    /// By first name.
    FirstName,
    /// By last name.
    LastName,
    /// By nick name.
    NickName,
    /// By display name.
    DisplayName,
    /// By email address.
    Email,
    /// By state number.
    State,
    /// Humans before machines.
    Kind,
}

/// Which orgs a search may see: the caller's permission decides it, not the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgScope {
    /// Every org (an instance-wide reader).
    All,
    /// These orgs only.
    Orgs(Vec<OrgId>),
}

impl OrgScope {
    /// Whether `org` is in scope.
    #[must_use]
    pub fn includes(&self, org: &OrgId) -> bool {
        match self {
            Self::All => true,
            Self::Orgs(orgs) => orgs.contains(org),
        }
    }
}

/// A search for users: removed users are never found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// The orgs the caller may read.
    pub scope: OrgScope,
    /// The condition (`UserFilter::And(vec![])` for every user).
    pub filter: UserFilter,
    /// The order; ties are broken by id, so pages never overlap.
    pub sort: SortField,
    /// Ascending when true.
    pub ascending: bool,
    /// How many matching users to skip.
    pub offset: u64,
    /// At most this many users (already capped by the service).
    pub limit: u32,
}

impl UserSearch {
    /// Whether `user` is a result of this search (before paging).
    #[must_use]
    pub fn admits(&self, user: &User) -> bool {
        !user.is_removed() && self.scope.includes(&user.org_id) && self.filter.matches(user)
    }

    /// The sort key of `user` for [`UserSearch::sort`], as comparable text or number.
    #[must_use]
    pub fn sort_key(&self, user: &User) -> SortKey {
        match self.sort {
            SortField::CreationDate => SortKey::Number(user.created_at.unix_micros()),
            SortField::UserName => SortKey::Text(user.user_name.clone()),
            SortField::FirstName => SortKey::Text(text_of(user, TextField::FirstName).to_owned()),
            SortField::LastName => SortKey::Text(text_of(user, TextField::LastName).to_owned()),
            SortField::NickName => SortKey::Text(text_of(user, TextField::NickName).to_owned()),
            SortField::DisplayName => SortKey::Text(text_of(user, TextField::DisplayName).to_owned()),
            SortField::Email => SortKey::Text(text_of(user, TextField::Email).to_owned()),
            SortField::State => SortKey::Number(i64::from(user.state.number())),
            SortField::Kind => SortKey::Number(i64::from(matches!(user.kind, UserKind::Machine(_)))),
        }
    }
}

/// A sort key: text compares by bytes (as the databases' binary collation does), numbers by value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    /// A number.
    Number(i64),
    /// A text.
    Text(String),
}

/// One page of a search, and how many users match in all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPage {
    /// Every matching user, ignoring offset and limit.
    pub total: u64,
    /// The page, in order.
    pub users: Vec<User>,
}

/// Searches `users` the way every store must: filter, order by the sort key then id, page.
#[must_use]
pub fn search_in<'a>(users: impl IntoIterator<Item = &'a User>, search: &UserSearch) -> UserPage {
    let mut found: Vec<&User> = users.into_iter().filter(|u| search.admits(u)).collect();
    found.sort_by(|a, b| {
        let order = search.sort_key(a).cmp(&search.sort_key(b)).then_with(|| a.id.as_str().cmp(b.id.as_str()));
        if search.ascending { order } else { order.reverse() }
    });
    let total = found.len() as u64;
    let skip = usize::try_from(search.offset).unwrap_or(usize::MAX);
    let users = found.into_iter().skip(skip).take(search.limit as usize).cloned().collect();
    UserPage { total, users }
}
