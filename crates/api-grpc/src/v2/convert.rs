//! Conversions between `zitadel.user.v2` messages and the domain's inputs and results. No rule
//! is applied here beyond reading the wire's shape (which oneof is set, which enum number is
//! meant); the domain validates.

use crate::convert::timestamp;
use crate::pb::zitadel::object::v2 as object;
use crate::pb::zitadel::user::v2 as pb;
use persona_domain::Error;
use persona_domain::commands::{EmailInput, NewHumanRequest, PhoneInput, ProfileInput};
use persona_domain::error::FieldViolation;
use persona_domain::ids::{OrgId, UserId};
use persona_domain::patch::{
    ContactPatch, KindPatch, MachinePatch, ProfilePatch, ProfileRules, UserPatch, Verification,
};
use persona_domain::query::{KindFilter, SortField, TextField, TextMatch, UserFilter};
use persona_domain::service::{ListUsersRequest, NewHumanV2, ObjectDetails, OrgRef, UnsupportedV2Fields};
use persona_domain::user::{User, UserKind, UserState};

/// `zitadel.object.v2.Details` of a domain result.
#[must_use]
pub fn details(details: &ObjectDetails) -> object::Details {
    object::Details {
        sequence: details.sequence,
        change_date: details.change_date.map(timestamp),
        resource_owner: details.resource_owner.as_str().to_owned(),
        creation_date: details.creation_date.map(timestamp),
    }
}

/// v2's `UserState` number of a domain state (v2 numbers `INITIAL` 5, v1 6).
#[must_use]
pub const fn state(state: UserState) -> i32 {
    match state {
        UserState::Active => pb::UserState::Active as i32,
        UserState::Inactive => pb::UserState::Inactive as i32,
        UserState::Deleted => pb::UserState::Deleted as i32,
        UserState::Locked => pb::UserState::Locked as i32,
        UserState::Initial => pb::UserState::Initial as i32,
    }
}

fn email_verification(verification: Option<&pb::set_human_email::Verification>) -> Verification {
    use pb::set_human_email::Verification as V;
    match verification {
        None | Some(V::IsVerified(false)) => Verification::Unverified,
        Some(V::IsVerified(true)) => Verification::Verified,
        Some(V::ReturnCode(_)) => Verification::ReturnCode,
        Some(V::SendCode(_)) => Verification::SendCode,
    }
}

fn phone_verification(verification: Option<&pb::set_human_phone::Verification>) -> Verification {
    use pb::set_human_phone::Verification as V;
    match verification {
        None | Some(V::IsVerified(false)) => Verification::Unverified,
        Some(V::IsVerified(true)) => Verification::Verified,
        Some(V::ReturnCode(_)) => Verification::ReturnCode,
        Some(V::SendCode(_)) => Verification::SendCode,
    }
}

/// The domain input of v2 `AddHumanUser`.
#[must_use]
pub fn add_human_user_request(request: pb::AddHumanUserRequest) -> NewHumanV2 {
    let organization = request.organization.and_then(|o| o.org).map(|org| match org {
        object::organization::Org::OrgId(id) => OrgRef::Id(id),
        object::organization::Org::OrgDomain(domain) => OrgRef::Domain(domain),
    });
    let profile = request.profile.map(|p| ProfileInput {
        first_name: p.given_name,
        last_name: p.family_name,
        nick_name: p.nick_name.unwrap_or_default(),
        display_name: p.display_name.unwrap_or_default(),
        preferred_language: p.preferred_language.unwrap_or_default(),
        gender: p.gender.unwrap_or_default(),
    });
    let email_verification = email_verification(request.email.as_ref().and_then(|e| e.verification.as_ref()));
    let phone_verification = phone_verification(request.phone.as_ref().and_then(|p| p.verification.as_ref()));
    let unsupported = UnsupportedV2Fields {
        password: matches!(request.password_type, Some(pb::add_human_user_request::PasswordType::Password(_))),
        hashed_password: matches!(
            request.password_type,
            Some(pb::add_human_user_request::PasswordType::HashedPassword(_))
        ),
        idp_links: !request.idp_links.is_empty(),
        totp_secret: request.totp_secret.is_some_and(|s| !s.is_empty()),
        metadata: !request.metadata.is_empty(),
    };
    NewHumanV2 {
        user_id: request.user_id,
        organization,
        user_name_given: request.username.is_some(),
        human: NewHumanRequest {
            user_name: request.username.unwrap_or_default(),
            profile,
            email: request.email.map(|e| EmailInput { email: e.email, is_email_verified: false }),
            phone: request.phone.map(|p| PhoneInput { phone: p.phone, is_phone_verified: false }),
        },
        email_verification,
        phone_verification,
        unsupported,
    }
}

fn email_patch(email: pb::SetHumanEmail) -> ContactPatch {
    ContactPatch { verification: email_verification(email.verification.as_ref()), value: email.email }
}

fn phone_patch(phone: pb::SetHumanPhone) -> ContactPatch {
    ContactPatch { verification: phone_verification(phone.verification.as_ref()), value: phone.phone }
}

/// The domain input of `UpdateHumanUser`: `SetHumanProfile` needs both names.
#[must_use]
pub fn update_human_user_request(request: pb::UpdateHumanUserRequest) -> UserPatch {
    let profile = request.profile.map(|p| ProfilePatch {
        first_name: Some(p.given_name),
        last_name: Some(p.family_name),
        nick_name: p.nick_name,
        display_name: p.display_name,
        preferred_language: p.preferred_language,
        gender: p.gender,
    });
    UserPatch {
        user_id: request.user_id,
        user_name: request.username,
        kind: KindPatch::Human {
            profile,
            email: request.email.map(email_patch),
            phone: request.phone.map(phone_patch),
        },
        rules: ProfileRules::Set,
        password: request.password.is_some(),
        external_id: None,
        active: None,
    }
}

/// The domain input of `UpdateUser`: every profile field optional.
#[must_use]
pub fn update_user_request(request: pb::UpdateUserRequest) -> UserPatch {
    use pb::update_user_request::UserType;
    let (kind, password) = match request.user_type {
        None => (KindPatch::None, false),
        Some(UserType::Human(human)) => {
            let profile = human.profile.map(|p| ProfilePatch {
                first_name: p.given_name,
                last_name: p.family_name,
                nick_name: p.nick_name,
                display_name: p.display_name,
                preferred_language: p.preferred_language,
                gender: p.gender,
            });
            let kind =
                KindPatch::Human { profile, email: human.email.map(email_patch), phone: human.phone.map(phone_patch) };
            (kind, human.password.is_some())
        }
        Some(UserType::Machine(machine)) => {
            (KindPatch::Machine(MachinePatch { name: machine.name, description: machine.description }), false)
        }
    };
    UserPatch {
        user_id: request.user_id,
        user_name: request.username,
        kind,
        rules: ProfileRules::Optional,
        password,
        external_id: None,
        active: None,
    }
}

/// A v2 user.
#[must_use]
pub fn user(stored: &User, details: &ObjectDetails) -> pb::User {
    let login_names = vec![stored.user_name.clone()];
    let kind = match &stored.kind {
        UserKind::Human(human) => {
            let p = &human.profile;
            pb::user::Type::Human(pb::HumanUser {
                user_id: stored.id.as_str().to_owned(),
                state: state(stored.state),
                username: stored.user_name.clone(),
                login_names: login_names.clone(),
                preferred_login_name: stored.user_name.clone(),
                profile: Some(pb::HumanProfile {
                    given_name: p.first_name().to_owned(),
                    family_name: p.last_name().to_owned(),
                    nick_name: Some(p.nick_name().to_owned()),
                    display_name: Some(p.display_name().to_owned()),
                    preferred_language: Some(p.preferred_language().as_str().to_owned()),
                    gender: Some(p.gender().number()),
                    avatar_url: String::new(),
                }),
                email: Some(pb::HumanEmail { email: human.email.address.clone(), is_verified: human.email.verified }),
                phone: Some(human.phone.as_ref().map_or_else(pb::HumanPhone::default, |phone| pb::HumanPhone {
                    phone: phone.number.clone(),
                    is_verified: phone.verified,
                })),
                password_change_required: false,
                password_changed: None,
                mfa_init_skipped: None,
            })
        }
        UserKind::Machine(machine) => pb::user::Type::Machine(pb::MachineUser {
            name: machine.name.clone(),
            description: machine.description.clone(),
            has_secret: false,
            access_token_type: machine.access_token_type.number(),
        }),
    };
    pb::User {
        user_id: stored.id.as_str().to_owned(),
        details: Some(self::details(details)),
        state: state(stored.state),
        username: stored.user_name.clone(),
        login_names,
        preferred_login_name: stored.user_name.clone(),
        r#type: Some(kind),
    }
}

fn violation(field: &str, description: &str) -> Error {
    Error::invalid(vec![FieldViolation { field: field.to_owned(), description: description.to_owned() }])
}

fn undefined(field: &str) -> Error {
    violation(field, "value must be one of the defined enum values")
}

fn text_match(method: i32) -> Result<TextMatch, Error> {
    use object::TextQueryMethod as M;
    Ok(match M::try_from(method).map_err(|_| undefined("queries.method"))? {
        M::Equals => TextMatch::Equals,
        M::EqualsIgnoreCase => TextMatch::EqualsIgnoreCase,
        M::StartsWith => TextMatch::StartsWith,
        M::StartsWithIgnoreCase => TextMatch::StartsWithIgnoreCase,
        M::Contains => TextMatch::Contains,
        M::ContainsIgnoreCase => TextMatch::ContainsIgnoreCase,
        M::EndsWith => TextMatch::EndsWith,
        M::EndsWithIgnoreCase => TextMatch::EndsWithIgnoreCase,
    })
}

fn text(field: TextField, value: String, method: i32) -> Result<UserFilter, Error> {
    Ok(UserFilter::Text { field, value, method: text_match(method)? })
}

fn domain_state(state: i32) -> Result<UserState, Error> {
    use pb::UserState as S;
    match S::try_from(state) {
        Ok(S::Active) => Ok(UserState::Active),
        Ok(S::Inactive) => Ok(UserState::Inactive),
        Ok(S::Deleted) => Ok(UserState::Deleted),
        Ok(S::Locked) => Ok(UserState::Locked),
        Ok(S::Initial) => Ok(UserState::Initial),
        Ok(S::Unspecified) | Err(_) => Err(undefined("queries.stateQuery.state")),
    }
}

/// One search query as a filter.
///
/// # Errors
/// InvalidArgument for a query without a kind, an unknown enum number, or an unspecified
/// state or type.
pub fn filter(query: pb::SearchQuery) -> Result<UserFilter, Error> {
    use pb::search_query::Query as Q;
    let query = query.query.ok_or_else(|| violation("queries.query", "value is required"))?;
    match query {
        Q::UserNameQuery(q) => text(TextField::UserName, q.user_name, q.method),
        Q::FirstNameQuery(q) => text(TextField::FirstName, q.first_name, q.method),
        Q::LastNameQuery(q) => text(TextField::LastName, q.last_name, q.method),
        Q::NickNameQuery(q) => text(TextField::NickName, q.nick_name, q.method),
        Q::DisplayNameQuery(q) => text(TextField::DisplayName, q.display_name, q.method),
        Q::EmailQuery(q) => text(TextField::Email, q.email_address, q.method),
        Q::PhoneQuery(q) => text(TextField::Phone, q.number, q.method),
        // Persona's login names are the user names (GetUserByID lists exactly one).
        Q::LoginNameQuery(q) => text(TextField::UserName, q.login_name, q.method),
        Q::StateQuery(q) => domain_state(q.state).map(UserFilter::State),
        Q::TypeQuery(q) => match pb::Type::try_from(q.r#type) {
            Ok(pb::Type::Human) => Ok(UserFilter::Kind(KindFilter::Human)),
            Ok(pb::Type::Machine) => Ok(UserFilter::Kind(KindFilter::Machine)),
            Ok(pb::Type::Unspecified) | Err(_) => Err(undefined("queries.typeQuery.type")),
        },
        Q::InUserIdsQuery(q) => Ok(UserFilter::InIds(q.user_ids.into_iter().map(UserId::new).collect())),
        Q::InUserEmailsQuery(q) => Ok(UserFilter::InEmails(q.user_emails)),
        Q::OrganizationIdQuery(q) => Ok(UserFilter::Org(OrgId::new(q.organization_id))),
        Q::OrQuery(q) => q.queries.into_iter().map(filter).collect::<Result<_, _>>().map(UserFilter::Or),
        Q::AndQuery(q) => q.queries.into_iter().map(filter).collect::<Result<_, _>>().map(UserFilter::And),
        Q::NotQuery(q) => {
            let inner = q.query.ok_or_else(|| violation("queries.notQuery.query", "value is required"))?;
            Ok(UserFilter::Not(Box::new(filter(*inner)?)))
        }
    }
}

/// The sort of a `sorting_column`.
///
/// # Errors
/// InvalidArgument for an unknown number.
pub fn sort(column: i32) -> Result<SortField, Error> {
    use pb::UserFieldName as F;
    Ok(match F::try_from(column).map_err(|_| undefined("sortingColumn"))? {
        F::Unspecified | F::CreationDate => SortField::CreationDate,
        F::UserName => SortField::UserName,
        F::FirstName => SortField::FirstName,
        F::LastName => SortField::LastName,
        F::NickName => SortField::NickName,
        F::DisplayName => SortField::DisplayName,
        F::Email => SortField::Email,
        F::State => SortField::State,
        F::Type => SortField::Kind,
    })
}

/// The domain input of `ListUsers`: every query must hold.
///
/// # Errors
/// As [`filter`] and [`sort`].
pub fn list_users_request(request: pb::ListUsersRequest) -> Result<ListUsersRequest, Error> {
    let query = request.query.unwrap_or_default();
    let filters = request.queries.into_iter().map(filter).collect::<Result<Vec<_>, _>>()?;
    Ok(ListUsersRequest {
        filter: UserFilter::And(filters),
        sort: sort(request.sorting_column)?,
        ascending: query.asc,
        offset: query.offset,
        limit: query.limit,
    })
}
