//! One function per RPC of `zitadel.user.v2.UserService`, shared by gRPC, gRPC-Web, Connect
//! and REST: convert the request, call the application service, convert the result, and word
//! validation errors as v2's messages name their fields.

use super::convert;
use crate::convert::timestamp;
use crate::pb::zitadel::object::v2 as object;
use crate::pb::zitadel::user::v2 as pb;
use crate::phrasing::Phrasing;
use persona_domain::auth::Permission;
use persona_domain::ports::Store;
use persona_domain::{Error, RequestMeta, Service};

/// v2 names the domain's profile fields `givenName` / `familyName`, and the user name
/// `username`.
const PROFILE_RENAMES: &[(&str, &str)] =
    &[("userName", "username"), ("profile.firstName", "profile.givenName"), ("profile.lastName", "profile.familyName")];

const ADD_HUMAN_USER: Phrasing = Phrasing {
    message: "AddHumanUserRequest",
    nested: &[("profile", "SetHumanProfile"), ("email", "SetHumanEmail"), ("phone", "SetHumanPhone")],
    renamed: PROFILE_RENAMES,
};

const UPDATE_HUMAN_USER: Phrasing = Phrasing {
    message: "UpdateHumanUserRequest",
    nested: &[("profile", "SetHumanProfile"), ("email", "SetHumanEmail"), ("phone", "SetHumanPhone")],
    renamed: PROFILE_RENAMES,
};

const UPDATE_USER: Phrasing = Phrasing {
    message: "UpdateUserRequest",
    nested: &[
        ("human", "UpdateUserRequest_Human"),
        ("human.profile", "UpdateUserRequest_Human_Profile"),
        ("human.email", "SetHumanEmail"),
        ("human.phone", "SetHumanPhone"),
        ("machine", "UpdateUserRequest_Machine"),
    ],
    renamed: &[
        ("userName", "username"),
        ("profile.firstName", "human.profile.givenName"),
        ("profile.lastName", "human.profile.familyName"),
        ("profile.nickName", "human.profile.nickName"),
        ("profile.displayName", "human.profile.displayName"),
        ("profile.preferredLanguage", "human.profile.preferredLanguage"),
        ("profile.gender", "human.profile.gender"),
        ("email.email", "human.email.email"),
        ("phone.phone", "human.phone.phone"),
    ],
};

/// v2 `AddHumanUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_human_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddHumanUserRequest,
) -> Result<pb::AddHumanUserResponse, Error> {
    let input = convert::add_human_user_request(request);
    let created = service.add_human_user_v2(meta, &input).await.map_err(|e| ADD_HUMAN_USER.phrase(e))?;
    Ok(pb::AddHumanUserResponse {
        user_id: created.created.id,
        details: Some(convert::details(&created.created.details)),
        email_code: created.codes.email,
        phone_code: created.codes.phone,
    })
}

/// v2 `GetUserByID`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn get_user_by_id<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::GetUserByIdRequest,
) -> Result<pb::GetUserByIdResponse, Error> {
    let user =
        service.get_user_v2(meta, &request.user_id).await.map_err(|e| Phrasing::of("GetUserByIDRequest").phrase(e))?;
    let details = Service::<S>::user_details(&user);
    Ok(pb::GetUserByIdResponse {
        details: Some(convert::details(&details)),
        user: Some(convert::user(&user, &details)),
    })
}

/// v2 `UpdateHumanUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn update_human_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::UpdateHumanUserRequest,
) -> Result<pb::UpdateHumanUserResponse, Error> {
    let patch = convert::update_human_user_request(request);
    let (details, codes) = service.patch_user(meta, &patch).await.map_err(|e| UPDATE_HUMAN_USER.phrase(e))?;
    Ok(pb::UpdateHumanUserResponse {
        details: Some(convert::details(&details)),
        email_code: codes.email,
        phone_code: codes.phone,
    })
}

/// v2 `UpdateUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn update_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::UpdateUserRequest,
) -> Result<pb::UpdateUserResponse, Error> {
    let patch = convert::update_user_request(request);
    let (details, codes) = service.patch_user(meta, &patch).await.map_err(|e| UPDATE_USER.phrase(e))?;
    Ok(pb::UpdateUserResponse {
        change_date: details.change_date.map(timestamp),
        email_code: codes.email,
        phone_code: codes.phone,
    })
}

/// v2 `DeleteUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn delete_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::DeleteUserRequest,
) -> Result<pb::DeleteUserResponse, Error> {
    let details = service
        .delete_user_v2(meta, &request.user_id)
        .await
        .map_err(|e| Phrasing::of("DeleteUserRequest").phrase(e))?;
    Ok(pb::DeleteUserResponse { details: Some(convert::details(&details)) })
}

/// v2 `ListUsers`. A query the wire shape already refuses (no kind, an unknown enum number)
/// is reported after authorisation, as every other validation error.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn list_users<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::ListUsersRequest,
) -> Result<pb::ListUsersResponse, Error> {
    let phrasing = Phrasing::of("ListUsersRequest");
    let sorting_column = request.sorting_column;
    let input = match convert::list_users_request(request) {
        Ok(input) => input,
        Err(invalid) => {
            service.authorize(meta, Permission::UserRead).await?;
            return Err(phrasing.phrase(invalid));
        }
    };
    let page = service.list_users_v2(meta, input).await.map_err(|e| phrasing.phrase(e))?;
    let result = page.users.iter().map(|user| convert::user(user, &Service::<S>::user_details(user))).collect();
    Ok(pb::ListUsersResponse {
        details: Some(object::ListDetails {
            total_result: page.total,
            processed_sequence: 0,
            timestamp: Some(timestamp(service.clock_now())),
        }),
        sorting_column,
        result,
    })
}
