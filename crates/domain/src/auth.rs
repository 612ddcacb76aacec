//! Who may do what (CONTRACT section 5): bearer tokens, roles, permissions, memberships and the
//! rules that turn a request's headers into an authorised caller acting in one org.

use crate::error::Error;
use crate::ids::{OrgId, TokenId, UserId};
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use std::fmt;

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the org.
    OrgRead,
    /// Create orgs.
    OrgCreate,
    /// Add members to the org.
    OrgMemberWrite,
    /// Read users.
    UserRead,
    /// Create and change users.
    UserWrite,
    /// Remove users.
    UserDelete,
}

/// A role a membership grants: `IAM_*` instance-wide, `ORG_*` in one org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, everywhere.
    IamOwner,
    /// Manages all orgs.
    IamOrgManager,
    /// Manages users of all orgs.
    IamUserManager,
    /// Reads everything.
    IamOwnerViewer,
    /// Everything in one org but creating orgs.
    OrgOwner,
    /// Manages the users of one org.
    OrgUserManager,
    /// Reads one org.
    OrgOwnerViewer,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Self; 6] =
        [Self::OrgRead, Self::OrgCreate, Self::OrgMemberWrite, Self::UserRead, Self::UserWrite, Self::UserDelete];
}

impl Role {
    /// Every role, in the order of the contract's table.
    pub const ALL: [Self; 7] = [
        Self::IamOwner,
        Self::IamOrgManager,
        Self::IamUserManager,
        Self::IamOwnerViewer,
        Self::OrgOwner,
        Self::OrgUserManager,
        Self::OrgOwnerViewer,
    ];

    /// The role's name on the wire (`ORG_OWNER`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::IamOwner => "IAM_OWNER",
            Self::IamOrgManager => "IAM_ORG_MANAGER",
            Self::IamUserManager => "IAM_USER_MANAGER",
            Self::IamOwnerViewer => "IAM_OWNER_VIEWER",
            Self::OrgOwner => "ORG_OWNER",
            Self::OrgUserManager => "ORG_USER_MANAGER",
            Self::OrgOwnerViewer => "ORG_OWNER_VIEWER",
        }
    }

    /// The role named `name`, if there is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.name() == name)
    }

    /// Whether the role is granted instance-wide (`IAM_*`).
    #[must_use]
    pub const fn is_instance_role(self) -> bool {
        matches!(self, Self::IamOwner | Self::IamOrgManager | Self::IamUserManager | Self::IamOwnerViewer)
    }

    /// Whether the role grants `permission` (the role-to-permission table of the contract).
    #[must_use]
    pub const fn grants(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Self::IamOwner | Self::IamOrgManager => true,
            Self::IamUserManager | Self::OrgUserManager => {
                matches!(permission, P::OrgRead | P::UserRead | P::UserWrite | P::UserDelete)
            }
            Self::IamOwnerViewer | Self::OrgOwnerViewer => matches!(permission, P::OrgRead | P::UserRead),
            Self::OrgOwner => !matches!(permission, P::OrgCreate),
        }
    }
}

/// Roles of a user, either in one org or (with `org_id` `None`) instance-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The member.
    pub user_id: UserId,
    /// The org, or `None` for an instance-wide membership.
    pub org_id: Option<OrgId>,
    /// The roles granted.
    pub roles: Vec<Role>,
}

/// The SHA-256 of a token: the only form in which tokens are stored or compared.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a presented token.
    #[must_use]
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash as 64 lower-case hex digits, as storage keeps it.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A personal access token as stored: its hash, never its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccessToken {
    /// Its id.
    pub id: TokenId,
    /// The machine user it authenticates.
    pub user_id: UserId,
    /// SHA-256 of the token text.
    pub hash: TokenHash,
    /// When it stops working; `None` for never.
    pub expires_at: Option<Timestamp>,
}

/// The user behind a valid token, with everything needed to authorise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user.
    pub user_id: UserId,
    /// The user's own org.
    pub org_id: OrgId,
    /// Its memberships, org and instance-wide.
    pub memberships: Vec<Membership>,
}

/// A token as the store finds it: whose it is, and the facts that decide whether it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's user, with its org and memberships.
    pub caller: Caller,
    /// When it stops working; `None` for never.
    pub expires_at: Option<Timestamp>,
    /// Whether it was revoked (its user was removed, say).
    pub revoked: bool,
    /// Whether its user was removed.
    pub user_removed: bool,
}

impl TokenRecord {
    /// The one rule of tokens: a token counts only while it is not expired at `now`, not
    /// revoked, and its user not removed. Stores only fetch; this decides.
    #[must_use]
    pub fn caller_at(self, now: Timestamp) -> Option<Caller> {
        let expired = self.expires_at.is_some_and(|at| at <= now);
        (!expired && !self.revoked && !self.user_removed).then_some(self.caller)
    }
}

/// A caller allowed to act in one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// Who acts (the editor of every event it causes).
    pub user_id: UserId,
    /// The org the request acts in.
    pub org_id: OrgId,
    /// The caller's memberships, for the rules that compare its permissions with another user's.
    pub memberships: Vec<Membership>,
}

/// Where a permission holds: in one org, or instance-wide (`None`).
pub type Scope<'a> = Option<&'a OrgId>;

/// Whether `memberships` grant `permission` in `scope`. In an org, both that org's memberships and
/// instance-wide ones count; instance-wide, only instance-wide memberships do.
#[must_use]
pub fn holds(memberships: &[Membership], permission: Permission, scope: Scope<'_>) -> bool {
    memberships
        .iter()
        .filter(|m| match (&m.org_id, scope) {
            (None, _) => true,
            (Some(member_org), Some(org)) => member_org == org,
            (Some(_), None) => false,
        })
        .any(|m| m.roles.iter().any(|role| role.grants(permission)))
}

/// Whether `roles` granted in `scope` give nothing that `caller` lacks there.
#[must_use]
pub fn covers(caller: &[Membership], roles: &[Role], scope: Scope<'_>) -> bool {
    roles.iter().all(|role| Permission::ALL.into_iter().filter(|p| role.grants(*p)).all(|p| holds(caller, p, scope)))
}

/// The rule for every command that acts on another user's credentials or memberships (minting a
/// token, removing the user, granting it roles): the caller must hold every permission the
/// target holds, in the same scope. Otherwise a token minted for (or a role granted to) the target
/// would hand the caller permissions it does not have. Stricter than ZITADEL, on purpose.
///
/// # Errors
/// `No matching permissions found (AUTH-5mWD2)`, the same refusal as a missing permission, so
/// the answer reveals nothing about the target's roles.
pub fn ensure_covers(caller: &[Membership], target: &[Membership]) -> Result<(), Error> {
    if target.iter().all(|m| covers(caller, &m.roles, m.org_id.as_ref())) {
        Ok(())
    } else {
        Err(Error::permission_missing())
    }
}

/// The token in an `authorization` header value.
///
/// # Errors
/// `auth header missing` when absent; `invalid auth header (AUTH-toLo1)` when it is not exactly
/// `Bearer <token>`.
pub fn bearer_token(header: Option<&str>) -> Result<&str, Error> {
    let header = header.ok_or_else(Error::auth_header_missing)?;
    match header.strip_prefix("Bearer ") {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(Error::invalid_auth_header()),
    }
}

/// The org a request acts in: the `x-zitadel-orgid` header when present and non-empty, else the
/// caller's own org. Returns whether the org came from the header (and so must be checked).
#[must_use]
pub fn requested_org<'a>(caller: &'a Caller, header: Option<&'a str>) -> (&'a str, bool) {
    match header {
        Some(org) if !org.is_empty() && org != caller.org_id.as_str() => (org, true),
        _ => (caller.org_id.as_str(), false),
    }
}

/// Checks that the caller's memberships in `org` (or instance-wide) grant `permission`.
///
/// # Errors
/// `membership not found (AUTHZ-cdgFk)` without any membership there;
/// `No matching permissions found (AUTH-5mWD2)` when none grants the permission.
pub fn authorize(caller: &Caller, org: &OrgId, permission: Permission) -> Result<Authorized, Error> {
    let mut relevant =
        caller.memberships.iter().filter(|m| m.org_id.as_ref().is_none_or(|member_org| member_org == org)).peekable();
    if relevant.peek().is_none() {
        return Err(Error::membership_not_found());
    }
    if relevant.any(|m| m.roles.iter().any(|role| role.grants(permission))) {
        Ok(Authorized { user_id: caller.user_id.clone(), org_id: org.clone(), memberships: caller.memberships.clone() })
    } else {
        Err(Error::permission_missing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn the_role_table_matches_the_contract() {
        use Permission::*;
        let columns = [OrgRead, OrgCreate, OrgMemberWrite, UserRead, UserWrite, UserDelete];
        let table = [
            (Role::IamOwner, [1, 1, 1, 1, 1, 1]),
            (Role::IamOrgManager, [1, 1, 1, 1, 1, 1]),
            (Role::IamUserManager, [1, 0, 0, 1, 1, 1]),
            (Role::IamOwnerViewer, [1, 0, 0, 1, 0, 0]),
            (Role::OrgOwner, [1, 0, 1, 1, 1, 1]),
            (Role::OrgUserManager, [1, 0, 0, 1, 1, 1]),
            (Role::OrgOwnerViewer, [1, 0, 0, 1, 0, 0]),
        ];
        for (role, row) in table {
            for (permission, granted) in columns.iter().zip(row) {
                assert_eq!(role.grants(*permission), granted == 1, "{role:?} {permission:?}");
            }
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
    }

    #[test]
    fn bearer_headers_are_parsed_exactly() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        let table = [
            (None, "auth header missing"),
            (Some("bearer abc"), "invalid auth header (AUTH-toLo1)"),
            (Some("Basic abc"), "invalid auth header (AUTH-toLo1)"),
            (Some("Bearer "), "invalid auth header (AUTH-toLo1)"),
            (Some("Bearerabc"), "invalid auth header (AUTH-toLo1)"),
        ];
        for (header, message) in table {
            let error = bearer_token(header).expect_err("rejected");
            assert_eq!(error.kind(), ErrorKind::Unauthenticated);
            assert_eq!(error.message(), message, "{header:?}");
        }
    }

    fn caller(memberships: Vec<Membership>) -> Caller {
        Caller { user_id: UserId::new("u"), org_id: OrgId::new("a"), memberships }
    }

    fn member(org: Option<&str>, roles: &[Role]) -> Membership {
        Membership { user_id: UserId::new("u"), org_id: org.map(OrgId::new), roles: roles.to_vec() }
    }

    #[test]
    fn no_membership_in_the_org_is_not_found() {
        let caller = caller(vec![member(Some("a"), &[Role::OrgOwner])]);
        let error = authorize(&caller, &OrgId::new("b"), Permission::UserRead).expect_err("no membership");
        assert_eq!(error.message(), "membership not found (AUTHZ-cdgFk)");
        assert_eq!(error.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn a_membership_without_the_permission_is_denied() {
        let caller = caller(vec![member(Some("a"), &[Role::OrgOwnerViewer])]);
        let error = authorize(&caller, &OrgId::new("a"), Permission::UserWrite).expect_err("viewer");
        assert_eq!(error.message(), "No matching permissions found (AUTH-5mWD2)");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert!(authorize(&caller, &OrgId::new("a"), Permission::UserRead).is_ok());
    }

    #[test]
    fn instance_roles_apply_in_every_org() {
        let caller = caller(vec![member(None, &[Role::IamUserManager])]);
        let authorized = authorize(&caller, &OrgId::new("z"), Permission::UserWrite).expect("instance-wide");
        assert_eq!(authorized.org_id, OrgId::new("z"));
    }

    #[test]
    fn the_org_header_overrides_the_callers_org_only_when_non_empty() {
        let caller = caller(vec![]);
        assert_eq!(requested_org(&caller, None), ("a", false));
        assert_eq!(requested_org(&caller, Some("")), ("a", false));
        assert_eq!(requested_org(&caller, Some("a")), ("a", false));
        assert_eq!(requested_org(&caller, Some("b")), ("b", true));
    }

    #[test]
    fn a_caller_covers_a_target_only_with_every_permission_in_the_same_scope() {
        use Role::*;
        let org = |roles: &[Role]| member(Some("a"), roles);
        let other_org = |roles: &[Role]| member(Some("b"), roles);
        let instance = |roles: &[Role]| member(None, roles);
        let table = [
            (vec![org(&[OrgOwner])], vec![org(&[OrgOwner])], true),
            (vec![org(&[OrgOwner])], vec![org(&[OrgUserManager, OrgOwnerViewer])], true),
            (vec![org(&[OrgUserManager])], vec![org(&[OrgOwner])], false),
            (vec![org(&[OrgUserManager])], vec![org(&[OrgUserManager])], true),
            (vec![org(&[OrgOwner])], vec![instance(&[IamOwnerViewer])], false),
            (vec![org(&[OrgOwner])], vec![other_org(&[OrgOwnerViewer])], false),
            (vec![instance(&[IamUserManager])], vec![org(&[OrgUserManager]), other_org(&[OrgUserManager])], true),
            (vec![instance(&[IamUserManager])], vec![org(&[OrgOwner])], false),
            (vec![instance(&[IamOrgManager])], vec![instance(&[IamOwner])], true),
            (vec![instance(&[IamUserManager])], vec![instance(&[IamOwner])], false),
            (vec![instance(&[IamOwnerViewer]), org(&[OrgUserManager])], vec![org(&[OrgUserManager])], true),
            (vec![], vec![], true),
            (vec![], vec![org(&[OrgOwnerViewer])], false),
        ];
        for (caller, target, allowed) in table {
            let outcome = ensure_covers(&caller, &target);
            assert_eq!(outcome.is_ok(), allowed, "{caller:?} over {target:?}");
            if let Err(error) = outcome {
                assert_eq!(error.message(), "No matching permissions found (AUTH-5mWD2)");
            }
        }
    }

    #[test]
    fn a_token_counts_only_while_unexpired_unrevoked_and_its_user_not_removed() {
        let at = |micros| Timestamp::from_unix_micros(micros);
        let record = |expires_at: Option<i64>, revoked, user_removed| TokenRecord {
            caller: caller(vec![]),
            expires_at: expires_at.map(at),
            revoked,
            user_removed,
        };
        let table = [
            (record(None, false, false), true),
            (record(Some(11), false, false), true),
            (record(Some(10), false, false), false),
            (record(Some(9), false, false), false),
            (record(None, true, false), false),
            (record(None, false, true), false),
        ];
        for (token, counts) in table {
            assert_eq!(token.clone().caller_at(at(10)).is_some(), counts, "{token:?}");
        }
    }

    #[test]
    fn token_hashes_are_sha256_and_hide_in_debug_output() {
        let hash = TokenHash::of("abc");
        assert_eq!(hash.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(format!("{hash:?}"), "TokenHash(..)");
    }
}
