//! The REST surface as data: every route of the contract (CONTRACT section 2) with its method,
//! path template and RPC. The OpenAPI document ([`crate::openapi`]) is generated from this
//! table and the protobuf descriptors, and the server labels requests with it; a test checks
//! that [`crate::router`] serves every entry.

/// One REST route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template; `{name}` segments are fields of the request message.
    pub path: &'static str,
    /// The protobuf service of the RPC ([`MANAGEMENT`] or [`USER_V2`]).
    pub service: &'static str,
    /// The RPC it calls.
    pub rpc: &'static str,
    /// Whether the request message comes as the body (`body: "*"`).
    pub body: bool,
    /// The permission the caller needs, `None` for unauthenticated routes.
    pub permission: Option<&'static str>,
}

/// ZITADEL's v1 management service.
pub const MANAGEMENT: &str = persona_api_grpc::descriptors::SERVICE;
/// ZITADEL's v2 user service.
pub const USER_V2: &str = persona_api_grpc::descriptors::USER_V2;

const fn route(
    method: &'static str,
    path: &'static str,
    rpc: &'static str,
    body: bool,
    permission: Option<&'static str>,
) -> Route {
    Route { method, path, service: MANAGEMENT, rpc, body, permission }
}

const fn v2(
    method: &'static str,
    path: &'static str,
    rpc: &'static str,
    body: bool,
    permission: &'static str,
) -> Route {
    Route { method, path, service: USER_V2, rpc, body, permission: Some(permission) }
}

impl Route {
    /// How requests of this route are labelled (metrics, logs) and named in the OpenAPI
    /// document: v1's RPC name as it always was, v2's with its service in front.
    #[must_use]
    pub fn label(&self) -> String {
        if self.service == MANAGEMENT { self.rpc.to_owned() } else { format!("{}/{}", self.service, self.rpc) }
    }
}

/// Every REST route, in the contract's order.
pub const ROUTES: &[Route] = &[
    route("PUT", "/management/v1/users/{user_id}/profile", "UpdateHumanProfile", true, Some("user.write")),
    route("GET", "/management/v1/users/{user_id}/profile", "GetHumanProfile", false, Some("user.read")),
    route("POST", "/management/v1/users/human", "AddHumanUser", true, Some("user.write")),
    route("POST", "/management/v1/users/human/_import", "ImportHumanUser", true, Some("user.write")),
    route("GET", "/management/v1/users/{id}", "GetUserByID", false, Some("user.read")),
    route("DELETE", "/management/v1/users/{id}", "RemoveUser", false, Some("user.delete")),
    route("POST", "/management/v1/users/{user_id}/changes/_search", "ListUserChanges", true, Some("user.read")),
    route("POST", "/management/v1/users/machine", "AddMachineUser", true, Some("user.write")),
    route("POST", "/management/v1/users/{user_id}/pats", "AddPersonalAccessToken", true, Some("user.write")),
    route("POST", "/management/v1/orgs", "AddOrg", true, Some("org.create")),
    route("GET", "/management/v1/orgs/me", "GetMyOrg", false, Some("org.read")),
    route("POST", "/management/v1/orgs/me/members", "AddOrgMember", true, Some("org.member.write")),
    route("GET", "/management/v1/healthz", "Healthz", false, None),
    v2("POST", "/v2/users/human", "AddHumanUser", true, "user.write"),
    v2("GET", "/v2/users/{user_id}", "GetUserByID", false, "user.read"),
    v2("PUT", "/v2/users/human/{user_id}", "UpdateHumanUser", true, "user.write"),
    v2("PATCH", "/v2/users/{user_id}", "UpdateUser", true, "user.write"),
    v2("DELETE", "/v2/users/{user_id}", "DeleteUser", false, "user.delete"),
    v2("POST", "/v2/users", "ListUsers", true, "user.read"),
];

/// Whether `template` matches `path` segment by segment, and how many literal segments agree.
fn literal_matches(template: &str, path: &str) -> Option<usize> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut literals = 0;
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(literals),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => literals += 1,
            _ => return None,
        }
    }
}

/// The route `method` and `path` select, preferring literal segments over placeholders
/// (`GET /users/human` is `GetUserByID` of the user `human`, `POST` on it is `AddHumanUser`).
#[must_use]
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .filter(|route| route.method.eq_ignore_ascii_case(method))
        .filter_map(|route| literal_matches(route.path, path).map(|literals| (literals, route)))
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, route)| route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_select_their_rpc() {
        let table = [
            ("PUT", "/management/v1/users/42/profile", Some("UpdateHumanProfile")),
            ("GET", "/management/v1/users/42/profile", Some("GetHumanProfile")),
            ("POST", "/management/v1/users/human", Some("AddHumanUser")),
            ("GET", "/management/v1/users/human", Some("GetUserByID")),
            ("DELETE", "/management/v1/users/machine", Some("RemoveUser")),
            ("POST", "/management/v1/users/human/_import", Some("ImportHumanUser")),
            ("POST", "/management/v1/users/7/changes/_search", Some("ListUserChanges")),
            ("GET", "/management/v1/orgs/me", Some("GetMyOrg")),
            ("GET", "/management/v1/users//profile", None),
            ("PATCH", "/management/v1/users/7/profile", None),
            ("POST", "/v2/users/human", Some("AddHumanUser")),
            ("GET", "/v2/users/human", Some("GetUserByID")),
            ("PUT", "/v2/users/human/7", Some("UpdateHumanUser")),
            ("PATCH", "/v2/users/7", Some("UpdateUser")),
            ("POST", "/v2/users", Some("ListUsers")),
            ("GET", "/management/v1/nothing", None),
        ];
        for (method, path, rpc) in table {
            assert_eq!(find(method, path).map(|r| r.rpc), rpc, "{method} {path}");
        }
    }
}
