//! One function per RPC of `zitadel.management.v1.ManagementService`, shared by the gRPC,
//! gRPC-Web and REST adapters: convert the request message, call the application service,
//! convert the result. Every rule lives in the domain, so all protocols answer alike.
//!
//! REST sets path values into the message before calling these.

use crate::convert;
use crate::pb::zitadel::management::v1 as pb;
use crate::phrasing::Phrasing;
use persona_domain::ports::Store;
use persona_domain::{Error, RequestMeta, Service};

/// `UpdateHumanProfile`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn update_human_profile<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::UpdateHumanProfileRequest,
) -> Result<pb::UpdateHumanProfileResponse, Error> {
    let details = service
        .update_human_profile(meta, &convert::update_human_profile_request(request))
        .await
        .map_err(|e| (Phrasing::of("UpdateHumanProfileRequest")).phrase(e))?;
    Ok(pb::UpdateHumanProfileResponse { details: Some(convert::object_details(&details)) })
}

/// `GetHumanProfile`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn get_human_profile<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::GetHumanProfileRequest,
) -> Result<pb::GetHumanProfileResponse, Error> {
    let (details, profile) = service
        .get_human_profile(meta, &request.user_id)
        .await
        .map_err(|e| (Phrasing::of("GetHumanProfileRequest")).phrase(e))?;
    Ok(pb::GetHumanProfileResponse {
        details: Some(convert::object_details(&details)),
        profile: Some(convert::profile(&profile)),
    })
}

/// `AddHumanUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_human_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddHumanUserRequest,
) -> Result<pb::AddHumanUserResponse, Error> {
    let (human, unsupported) = convert::add_human_user_request(request);
    let created = service.add_human_user(meta, &human, &unsupported).await.map_err(|e| {
        (Phrasing {
            message: "AddHumanUserRequest",
            nested: &[("profile", "AddHumanUserRequest_Profile")],
            renamed: &[],
        })
        .phrase(e)
    })?;
    Ok(pb::AddHumanUserResponse { user_id: created.id, details: Some(convert::object_details(&created.details)) })
}

/// `ImportHumanUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn import_human_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::ImportHumanUserRequest,
) -> Result<pb::ImportHumanUserResponse, Error> {
    let (human, unsupported) = convert::import_human_user_request(request);
    let created = service.import_human_user(meta, &human, &unsupported).await.map_err(|e| {
        (Phrasing {
            message: "ImportHumanUserRequest",
            nested: &[("profile", "ImportHumanUserRequest_Profile")],
            renamed: &[],
        })
        .phrase(e)
    })?;
    Ok(pb::ImportHumanUserResponse {
        user_id: created.id,
        details: Some(convert::object_details(&created.details)),
        passwordless_registration: None,
    })
}

/// `GetUserByID`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn get_user_by_id<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::GetUserByIdRequest,
) -> Result<pb::GetUserByIdResponse, Error> {
    let user = service.get_user_by_id(meta, &request.id).await.map_err(|e| {
        (Phrasing { message: "GetUserByIDRequest", nested: &[], renamed: &[("userId", "id")] }).phrase(e)
    })?;
    let details = Service::<S>::user_details(&user);
    Ok(pb::GetUserByIdResponse { user: Some(convert::user(&user, &details)) })
}

/// `RemoveUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn remove_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::RemoveUserRequest,
) -> Result<pb::RemoveUserResponse, Error> {
    let details = service.remove_user(meta, &request.id).await.map_err(|e| {
        (Phrasing { message: "RemoveUserRequest", nested: &[], renamed: &[("userId", "id")] }).phrase(e)
    })?;
    Ok(pb::RemoveUserResponse { details: Some(convert::object_details(&details)) })
}

/// `ListUserChanges`; an absent query reads from the newest event with the default limit.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn list_user_changes<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::ListUserChangesRequest,
) -> Result<pb::ListUserChangesResponse, Error> {
    let query = request.query.unwrap_or_default();
    let entries = service
        .list_user_changes(meta, &request.user_id, query.sequence, query.limit, query.asc)
        .await
        .map_err(|e| (Phrasing::of("ListUserChangesRequest")).phrase(e))?;
    Ok(pb::ListUserChangesResponse { result: entries.iter().map(convert::change).collect() })
}

/// `AddMachineUser`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_machine_user<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddMachineUserRequest,
) -> Result<pb::AddMachineUserResponse, Error> {
    let created = service
        .add_machine_user(meta, convert::add_machine_user_request(request))
        .await
        .map_err(|e| (Phrasing::of("AddMachineUserRequest")).phrase(e))?;
    Ok(pb::AddMachineUserResponse { user_id: created.id, details: Some(convert::object_details(&created.details)) })
}

/// `AddPersonalAccessToken`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_personal_access_token<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddPersonalAccessTokenRequest,
) -> Result<pb::AddPersonalAccessTokenResponse, Error> {
    let expires_at = request.expiration_date.map(convert::from_timestamp);
    let created = service
        .add_personal_access_token(meta, &request.user_id, expires_at)
        .await
        .map_err(|e| (Phrasing::of("AddPersonalAccessTokenRequest")).phrase(e))?;
    Ok(pb::AddPersonalAccessTokenResponse {
        token_id: created.token_id.into_string(),
        token: created.token,
        details: Some(convert::object_details(&created.details)),
    })
}

/// `AddOrg`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_org<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddOrgRequest,
) -> Result<pb::AddOrgResponse, Error> {
    let created = service.add_org(meta, &request.name).await.map_err(|e| (Phrasing::of("AddOrgRequest")).phrase(e))?;
    Ok(pb::AddOrgResponse { id: created.id, details: Some(convert::object_details(&created.details)) })
}

/// `GetMyOrg`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn get_my_org<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    _request: pb::GetMyOrgRequest,
) -> Result<pb::GetMyOrgResponse, Error> {
    let org = service.get_my_org(meta).await?;
    Ok(pb::GetMyOrgResponse { org: Some(convert::org(&org)) })
}

/// `AddOrgMember`.
///
/// # Errors
/// The domain's error, for the adapter to map.
pub async fn add_org_member<S: Store>(
    service: &Service<S>,
    meta: &RequestMeta<'_>,
    request: pb::AddOrgMemberRequest,
) -> Result<pb::AddOrgMemberResponse, Error> {
    let details = service
        .add_org_member(meta, &request.user_id, &request.roles)
        .await
        .map_err(|e| (Phrasing::of("AddOrgMemberRequest")).phrase(e))?;
    Ok(pb::AddOrgMemberResponse { details: Some(convert::object_details(&details)) })
}

/// `Healthz`: answers without authentication; the process is up.
///
/// # Errors
/// None; the signature matches the other RPCs.
pub async fn healthz<S: Store>(
    _service: &Service<S>,
    _meta: &RequestMeta<'_>,
    _request: pb::HealthzRequest,
) -> Result<pb::HealthzResponse, Error> {
    Ok(pb::HealthzResponse {})
}
