//! The SCIM endpoints: authorise (the path's org is the org acted in, as `x-zitadel-orgid`
//! is), then decode, call the application service, encode. Bodies are decoded only after the
//! caller is authorised, so an unauthorised caller learns nothing about its body.

use crate::discovery::{self, MAX_RESULTS};
use crate::errors::ScimError;
use crate::filter;
use crate::resource::{ScimUser, USER_SCHEMA, attribute_list, member, project, user_json, version};
use crate::{SCIM_JSON, ScimState};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HOST, IF_MATCH, IF_NONE_MATCH, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use persona_domain::auth::Permission;
use persona_domain::ports::Store;
use persona_domain::query::{KindFilter, SortField, UserFilter};
use persona_domain::service::ListUsersRequest;
use persona_domain::user::User;
use persona_domain::{ErrorKind, RequestMeta};
use serde_json::Value;

type Reply = Result<Response, ScimError>;

/// The path's values: the org, and the resource id where there is one.
type OrgPath = Result<Path<String>, PathRejection>;
type OrgIdPath = Result<Path<(String, String)>, PathRejection>;

fn org_of(path: OrgPath) -> Result<String, ScimError> {
    path.map(|Path(org)| org).map_err(|_| ScimError::not_found("Not Found"))
}

fn org_and_id(path: OrgIdPath) -> Result<(String, String), ScimError> {
    path.map(|Path(pair)| pair).map_err(|_| ScimError::not_found("Not Found"))
}

/// A SCIM JSON response, with the `ETag` of `sequence`.
fn reply(status: StatusCode, body: &Value, sequence: Option<u64>) -> Reply {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(sequence) = sequence {
        let tag = HeaderValue::from_str(&version(sequence)).map_err(|e| ScimError::value(e.to_string()))?;
        headers.insert(ETAG, tag);
    }
    Ok(response)
}

/// Percent-encodes what is not an unreserved character, for the org in URLs.
fn encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The absolute URL of `/scim/v2/{org}` as the client reached it.
fn base_url(headers: &HeaderMap, uri: &Uri, org: &str) -> String {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .or_else(|| uri.scheme_str())
        .unwrap_or("http");
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(ToString::to_string))
        .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()) && !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}/scim/v2/{}", encoded(org))
}

/// The request's metadata: the bearer token and the path's org (and `If-Match`, converted).
struct Meta {
    authorization: Option<String>,
    org: String,
    if_match: Option<String>,
}

impl Meta {
    fn new(headers: &HeaderMap, org: String) -> Result<Self, ScimError> {
        let authorization =
            headers.get(http::header::AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let if_match = headers
            .get(IF_MATCH)
            .map(|v| v.to_str().map(weak_to_strong).map_err(|_| ScimError::syntax("If-Match must be an entity tag")))
            .transpose()?;
        Ok(Self { authorization, org, if_match })
    }

    fn meta(&self) -> RequestMeta<'_> {
        RequestMeta {
            authorization: self.authorization.as_deref(),
            org_id: Some(&self.org),
            if_match: self.if_match.as_deref(),
            validate_only: false,
        }
    }
}

/// `W/"7"` as the domain's `"7"`; `"7"`, `7` and `*` as they are.
fn weak_to_strong(tag: &str) -> String {
    let tag = tag.trim();
    tag.strip_prefix("W/").unwrap_or(tag).to_owned()
}

/// Reads the body (at most the configured size), refusing media types other than SCIM's and
/// JSON, then parses it as JSON.
async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ScimError> {
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        let essence = content_type.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim();
        let essence = essence.to_ascii_lowercase();
        if essence != SCIM_JSON && essence != "application/json" {
            return Err(ScimError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The body must be application/scim+json or application/json",
            ));
        }
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ScimError::status(StatusCode::PAYLOAD_TOO_LARGE, format!("The body is larger than {limit} bytes"))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ScimError::syntax(format!("The body is not JSON: {e}")))
}

/// `405` in SCIM's shape.
pub(crate) async fn method_not_allowed() -> ScimError {
    ScimError::status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// `404` in SCIM's shape.
pub(crate) async fn not_found() -> ScimError {
    ScimError::not_found("Not Found")
}

/// Bulk is not offered (`bulk.supported` is false).
pub(crate) async fn bulk() -> ScimError {
    ScimError::status(StatusCode::NOT_IMPLEMENTED, "Bulk operations are not supported")
}

/// `POST /.search` across resource types: Persona serves users only, so it is not offered.
pub(crate) async fn root_search() -> ScimError {
    ScimError::status(StatusCode::NOT_IMPLEMENTED, "Search across resource types is not supported: use /Users/.search")
}

/// `GET /ServiceProviderConfig` (no authentication: it describes the server only).
pub(crate) async fn service_provider_config(headers: HeaderMap, uri: Uri, path: OrgPath) -> Reply {
    let base = base_url(&headers, &uri, &org_of(path)?);
    reply(StatusCode::OK, &discovery::service_provider_config(&base), None)
}

/// `GET /ResourceTypes`.
pub(crate) async fn resource_types(headers: HeaderMap, uri: Uri, path: OrgPath) -> Reply {
    let base = base_url(&headers, &uri, &org_of(path)?);
    reply(StatusCode::OK, &discovery::list_of(vec![discovery::user_resource_type(&base)]), None)
}

/// `GET /ResourceTypes/User`.
pub(crate) async fn resource_type(headers: HeaderMap, uri: Uri, path: OrgIdPath) -> Reply {
    let (org, id) = org_and_id(path)?;
    if id != "User" {
        return Err(ScimError::not_found(format!("No resource type {id:?}")));
    }
    reply(StatusCode::OK, &discovery::user_resource_type(&base_url(&headers, &uri, &org)), None)
}

/// `GET /Schemas`.
pub(crate) async fn schemas(headers: HeaderMap, uri: Uri, path: OrgPath) -> Reply {
    let base = base_url(&headers, &uri, &org_of(path)?);
    reply(StatusCode::OK, &discovery::list_of(vec![discovery::user_schema(&base)]), None)
}

/// `GET /Schemas/{id}`.
pub(crate) async fn schema(headers: HeaderMap, uri: Uri, path: OrgIdPath) -> Reply {
    let (org, id) = org_and_id(path)?;
    if id != USER_SCHEMA {
        return Err(ScimError::not_found(format!("No schema {id:?}")));
    }
    reply(StatusCode::OK, &discovery::user_schema(&base_url(&headers, &uri, &org)), None)
}

/// The query string's parameters, percent-decoded (`+` is a space).
fn query_params(uri: &Uri) -> Result<Vec<(String, String)>, ScimError> {
    fn decode(part: &str) -> Result<String, ScimError> {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex =
                        std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| ScimError::value("query parameters must be UTF-8"))
    }
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

/// A list request: filter, page, order and projection.
#[derive(Debug, Default)]
struct ListParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl ListParams {
    fn from_query(params: Vec<(String, String)>) -> Self {
        let mut out = Self::default();
        for (key, value) in params {
            match key.to_ascii_lowercase().as_str() {
                "filter" => out.filter = Some(value),
                "startindex" => out.start_index = Some(value),
                "count" => out.count = Some(value),
                "sortby" => out.sort_by = Some(value),
                "sortorder" => out.sort_order = Some(value),
                "attributes" => out.attributes = attribute_list(Some(&value)),
                "excludedattributes" => out.excluded = attribute_list(Some(&value)),
                _ => {}
            }
        }
        out
    }

    fn from_search(body: &Value) -> Result<Self, ScimError> {
        const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
        let Value::Object(body) = body else { return Err(ScimError::syntax("the body must be a JSON object")) };
        let schemas = member(body, "schemas").and_then(Value::as_array);
        if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH)))) {
            return Err(ScimError::syntax(format!("schemas must hold {SEARCH}")));
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match member(body, name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(ScimError::value(format!("{name} has the wrong type"))),
            }
        };
        let list = |name: &str| -> Result<Vec<String>, ScimError> {
            match member(body, name) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().ok_or_else(|| ScimError::value(format!("{name} must list strings"))))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|items| attribute_list(Some(&items.join(",")))),
                Some(Value::String(s)) => Ok(attribute_list(Some(s))),
                Some(_) => Err(ScimError::value(format!("{name} must be a list"))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
        })
    }
}

/// An integer parameter: digits with an optional sign, clamped to the `i128` range's use.
fn integer(raw: &str, name: &str) -> Result<i128, ScimError> {
    let raw = raw.trim();
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::value(format!("{name} must be an integer")));
    }
    // Longer than any u64: as large as the type allows.
    let value = raw.parse::<i128>().unwrap_or(if raw.starts_with('-') { i128::MIN } else { i128::MAX });
    Ok(value)
}

fn sort_field(raw: &str) -> Result<SortField, ScimError> {
    let name = raw.trim();
    let name = name
        .get(..USER_SCHEMA.len())
        .filter(|p| p.eq_ignore_ascii_case(USER_SCHEMA))
        .map_or(name, |_| name[USER_SCHEMA.len()..].trim_start_matches(':'));
    Ok(match name.to_ascii_lowercase().as_str() {
        "username" => SortField::UserName,
        "name.givenname" => SortField::FirstName,
        "name.familyname" => SortField::LastName,
        "nickname" => SortField::NickName,
        "displayname" => SortField::DisplayName,
        "emails" | "emails.value" => SortField::Email,
        "meta.created" | "id" => SortField::CreationDate,
        "active" => SortField::State,
        other => return Err(ScimError::value(format!("Persona cannot sort by {other:?}"))),
    })
}

async fn list<S: Store>(state: &ScimState<S>, meta: &Meta, base: &str, params: ListParams) -> Reply {
    let filter = match params.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(raw) => filter::compile(&filter::parse(raw)?)?,
        None => UserFilter::And(Vec::new()),
    };
    let start = params.start_index.as_deref().map(|s| integer(s, "startIndex")).transpose()?.unwrap_or(1).max(1);
    let count = params.count.as_deref().map(|c| integer(c, "count")).transpose()?.unwrap_or(100);
    let count = u32::try_from(count.clamp(0, i128::from(MAX_RESULTS))).unwrap_or(MAX_RESULTS);
    let sort = params.sort_by.as_deref().map(sort_field).transpose()?.unwrap_or_default();
    let ascending = match params.sort_order.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("ascending") => true,
        Some("descending") => false,
        Some(_) => return Err(ScimError::value("sortOrder must be ascending or descending")),
    };
    let offset = u64::try_from(start - 1).unwrap_or(u64::MAX);
    let request = ListUsersRequest {
        filter: UserFilter::And(vec![UserFilter::Kind(KindFilter::Human), filter]),
        sort,
        ascending,
        offset,
        limit: count.max(1),
    };
    let page = state.service.list_users_in_org(&meta.meta(), request).await?;
    let resources: Vec<Value> = page
        .users
        .iter()
        .take(count as usize)
        .filter_map(|u| user_json(u, base))
        .map(|mut r| {
            project(&mut r, &params.attributes, &params.excluded);
            r
        })
        .collect();
    let start_index = u64::try_from(start).unwrap_or(u64::MAX);
    reply(StatusCode::OK, &discovery::list(page.total, start_index, resources), None)
}

/// What a `/Users` request starts with: the base URL of the path org's resources, the caller's
/// context in that org, and the check of `permission` there (before anything is read).
async fn open<S: Store>(
    state: &ScimState<S>,
    headers: &HeaderMap,
    uri: &Uri,
    org: String,
    permission: Option<Permission>,
) -> Result<(String, Meta), ScimError> {
    let base = base_url(headers, uri, &org);
    let meta = Meta::new(headers, org)?;
    if let Some(permission) = permission {
        state.service.authorize(&meta.meta(), permission).await?;
    }
    Ok((base, meta))
}

/// `GET /Users`.
pub(crate) async fn list_users<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgPath,
) -> Reply {
    let org = org_of(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, Some(Permission::UserRead)).await?;
    let params = ListParams::from_query(query_params(&uri)?);
    list(&state, &meta, &base, params).await
}

/// `POST /Users/.search`.
pub(crate) async fn search_users<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgPath,
    body: Body,
) -> Reply {
    let org = org_of(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, Some(Permission::UserRead)).await?;
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    list(&state, &meta, &base, ListParams::from_search(&body)?).await
}

/// The projection a single-resource request asks for in its query.
fn projection(uri: &Uri) -> Result<(Vec<String>, Vec<String>), ScimError> {
    let params = ListParams::from_query(query_params(uri)?);
    Ok((params.attributes, params.excluded))
}

/// The user as SCIM finds it: a human of the path's org.
async fn find<S: Store>(state: &ScimState<S>, meta: &Meta, id: &str) -> Result<User, ScimError> {
    let read = RequestMeta { if_match: None, ..meta.meta() };
    let user = state.service.get_user_by_id(&read, id).await?;
    if user.human().is_none() {
        return Err(persona_domain::Error::user_not_found_query().into());
    }
    Ok(user)
}

fn resource_reply(status: StatusCode, user: &User, base: &str, uri: &Uri) -> Reply {
    let (attributes, excluded) = projection(uri)?;
    let mut body = user_json(user, base).ok_or_else(|| ScimError::not_found("User could not be found"))?;
    project(&mut body, &attributes, &excluded);
    let mut response = reply(status, &body, Some(user.sequence))?;
    if status == StatusCode::CREATED {
        let location = format!("{base}/Users/{}", user.id.as_str());
        let location = HeaderValue::from_str(&location).map_err(|e| ScimError::value(e.to_string()))?;
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// `GET /Users/{id}`: `304` when `If-None-Match` names the current version.
pub(crate) async fn get_user<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgIdPath,
) -> Reply {
    let (org, id) = org_and_id(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, None).await?;
    let user = find(&state, &meta, &id).await?;
    let current = version(user.sequence);
    let strong = format!("\"{}\"", user.sequence);
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').map(str::trim).any(|tag| tag == "*" || tag == current || tag == strong));
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let tag = HeaderValue::from_str(&current).map_err(|e| ScimError::value(e.to_string()))?;
        response.headers_mut().insert(ETAG, tag);
        return Ok(response);
    }
    resource_reply(StatusCode::OK, &user, &base, &uri)
}

/// `POST /Users`: `201`, `Location` and `ETag`.
pub(crate) async fn create_user<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgPath,
    body: Body,
) -> Reply {
    let org = org_of(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, Some(Permission::UserWrite)).await?;
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let user = ScimUser::parse(&body)?;
    let created = state.service.add_provisioned_user(&meta.meta(), &user.into_new_user()).await?;
    let user = find(&state, &meta, &created.id).await?;
    resource_reply(StatusCode::CREATED, &user, &base, &uri)
}

/// `PUT /Users/{id}`: the user becomes the body; `If-Match` guards it.
pub(crate) async fn replace_user<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgIdPath,
    body: Body,
) -> Reply {
    let (org, id) = org_and_id(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, Some(Permission::UserWrite)).await?;
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let replacement = ScimUser::parse(&body)?.into_replacement(&id);
    find(&state, &meta, &id).await?;
    state.service.patch_user_in_org(&meta.meta(), &replacement).await?;
    let user = find(&state, &meta, &id).await?;
    resource_reply(StatusCode::OK, &user, &base, &uri)
}

/// How often a PATCH without `If-Match` reads, applies and stores again after another writer
/// changed the user between its read and its write.
const PATCH_ATTEMPTS: u32 = 3;

/// The language after a PATCH: `locale` and `preferredLanguage` are one stored value, so a
/// change of either is the change, and removing either removes it.
fn couple_languages(before: &Value, after: &mut Value) {
    let get = |v: &Value, k: &str| v.get(k).cloned();
    let (pl, lo) = (get(after, "preferredLanguage"), get(after, "locale"));
    let (pl0, lo0) = (get(before, "preferredLanguage"), get(before, "locale"));
    let Some(object) = after.as_object_mut() else { return };
    if (pl0.is_some() && pl.is_none()) || (lo0.is_some() && lo.is_none()) {
        object.remove("preferredLanguage");
        object.remove("locale");
    } else if lo != lo0
        && pl == pl0
        && let Some(locale) = lo
    {
        object.insert("preferredLanguage".to_owned(), locale);
    }
}

/// `PATCH /Users/{id}`: the operations applied to the current user, stored as its
/// replacement guarded by the version read (or the client's `If-Match`).
pub(crate) async fn patch_user<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    uri: Uri,
    path: OrgIdPath,
    body: Body,
) -> Reply {
    let (org, id) = org_and_id(path)?;
    let (base, meta) = open(&state, &headers, &uri, org, Some(Permission::UserWrite)).await?;
    let message = json_body(&headers, body, state.config.max_body_bytes).await?;
    let client_guard = meta.if_match.is_some();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = find(&state, &meta, &id).await?;
        let before = user_json(&current, &base).ok_or_else(|| ScimError::not_found("User could not be found"))?;
        let mut after = before.clone();
        crate::patch::apply(&mut after, &message)?;
        couple_languages(&before, &mut after);
        let replacement = ScimUser::parse(&after)?.into_replacement(&id);
        let guard = meta.if_match.clone().unwrap_or_else(|| format!("\"{}\"", current.sequence));
        let write = RequestMeta { if_match: Some(&guard), ..meta.meta() };
        match state.service.patch_user_in_org(&write, &replacement).await {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Aborted && !client_guard && attempt < PATCH_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
    let user = find(&state, &meta, &id).await?;
    resource_reply(StatusCode::OK, &user, &base, &uri)
}

/// `DELETE /Users/{id}`: `204`; `If-Match` guards it.
pub(crate) async fn delete_user<S: Store>(
    State(state): State<ScimState<S>>,
    headers: HeaderMap,
    path: OrgIdPath,
) -> Reply {
    let (org, id) = org_and_id(path)?;
    let meta = Meta::new(&headers, org)?;
    state.service.authorize(&meta.meta(), Permission::UserDelete).await?;
    find(&state, &meta, &id).await?;
    state.service.remove_user(&meta.meta(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_tags_become_the_domains_strong_ones() {
        assert_eq!(weak_to_strong("W/\"7\""), "\"7\"");
        assert_eq!(weak_to_strong("\"7\""), "\"7\"");
        assert_eq!(weak_to_strong("*"), "*");
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        let uri: Uri = "/x?filter=userName%20eq%20%22a+b%22&count=5&bad=%zz".parse().expect("uri");
        let params = query_params(&uri).expect("params");
        assert_eq!(params[0], ("filter".to_owned(), "userName eq \"a b\"".to_owned()));
        assert_eq!(params[1], ("count".to_owned(), "5".to_owned()));
        assert_eq!(params[2].1, "%zz");
        let invalid: Uri = "/x?filter=%FF".parse().expect("uri");
        assert!(query_params(&invalid).is_err(), "not UTF-8");
    }

    #[test]
    fn integers_clamp_instead_of_overflowing() {
        assert_eq!(integer("99999999999999999999999999999999999999999", "count").ok(), Some(i128::MAX));
        assert_eq!(integer("-5", "count").ok(), Some(-5));
        assert!(integer("5x", "count").is_err());
        assert!(integer("", "count").is_err());
    }
}
