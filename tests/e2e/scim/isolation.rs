//! Tenant isolation over SCIM: a user manager of org A reaches nothing of org B, neither on
//! `/scim/v2/B` (as with `x-zitadel-orgid: B`) nor B's users through `/scim/v2/A`, where they
//! look exactly like unknown ids; B's users are unchanged afterwards. Readers cannot write and
//! writers without `user.delete` cannot delete.

use super::{create, new_org, own_org, patch_op, scim, user_body};
use crate::harness::{Server, machine_bearer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_one_org_never_reads_or_changes_another_orgs_users() {
    let server = Server::start().await;
    let org_a = own_org(&server).await;
    let org_b = new_org(&server, "B").await;
    let admin = server.admin();
    let theirs = create(&server, &admin, &org_b, user_body("bella", "Bella", "B", "bella@b.example")).await;
    let their_id = theirs["id"].as_str().expect("id").to_owned();
    let manager = machine_bearer(&server, "a-manager", &["ORG_USER_MANAGER"]).await;
    let viewer = machine_bearer(&server, "a-viewer", &["ORG_OWNER_VIEWER"]).await;
    let nobody = machine_bearer(&server, "a-nobody", &[]).await;
    let auth = |token: &str| vec![("authorization", token.to_owned())];
    let body = user_body("x", "X", "Y", "x@example.com");
    let patch = patch_op(json!([{"op": "replace", "path": "nickName", "value": "pwned"}]));
    for caller in [&manager, &viewer, &nobody] {
        let headers = auth(caller);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // B's path: the org is not the caller's (no membership there).
        for (method, path, body) in [
            ("GET", format!("/scim/v2/{org_b}/Users"), None),
            ("GET", format!("/scim/v2/{org_b}/Users/{their_id}"), None),
            ("POST", format!("/scim/v2/{org_b}/Users"), Some(body.clone())),
            ("PATCH", format!("/scim/v2/{org_b}/Users/{their_id}"), Some(patch.clone())),
            ("PUT", format!("/scim/v2/{org_b}/Users/{their_id}"), Some(body.clone())),
            ("DELETE", format!("/scim/v2/{org_b}/Users/{their_id}"), None),
        ] {
            let (status, _, error) = scim(&server, method, &path, &headers, body).await;
            assert!(matches!(status, 403 | 404), "{method} {path}: {status} {error}");
            assert_eq!(error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        }
        // B's user through A's path looks exactly like an unknown id.
        for (method, body) in
            [("GET", None), ("PATCH", Some(patch.clone())), ("PUT", Some(body.clone())), ("DELETE", None)]
        {
            let foreign =
                scim(&server, method, &format!("/scim/v2/{org_a}/Users/{their_id}"), &headers, body.clone()).await;
            let unknown = scim(&server, method, &format!("/scim/v2/{org_a}/Users/4711"), &headers, body).await;
            assert_eq!((foreign.0, &foreign.2), (unknown.0, &unknown.2), "{method}");
        }
        let (status, _, list) =
            scim(&server, "GET", &format!("/scim/v2/{org_a}/Users?filter=userName%20eq%20%22bella%22"), &headers, None)
                .await;
        if status == 200 {
            assert_eq!(list["totalResults"], 0, "B's users are not listed in A");
        }
    }
    let admin_headers = [("authorization", admin.as_str())];
    let (_, _, after) = scim(&server, "GET", &format!("/scim/v2/{org_b}/Users/{their_id}"), &admin_headers, None).await;
    assert_eq!((&after["meta"]["version"], after.get("nickName")), (&theirs["meta"]["version"], None), "unchanged");

    // In its own org: the viewer reads but cannot write, the manager writes.
    let viewer_headers = [("authorization", viewer.as_str())];
    let (status, _, _) = scim(&server, "GET", &format!("/scim/v2/{org_a}/Users"), &viewer_headers, None).await;
    assert_eq!(status, 200);
    let (status, _, error) =
        scim(&server, "POST", &format!("/scim/v2/{org_a}/Users"), &viewer_headers, Some(json!("garbage"))).await;
    assert_eq!(status, 403, "authorisation before validation: {error}");
    let manager_headers = [("authorization", manager.as_str())];
    let ours = create(&server, &manager, &org_a, user_body("anna", "Anna", "A", "anna@a.example")).await;
    let path = format!("/scim/v2/{org_a}/Users/{}", ours["id"].as_str().expect("id"));
    let (status, _, _) = scim(&server, "DELETE", &path, &viewer_headers, None).await;
    assert_eq!(status, 403);
    let (status, _, _) = scim(&server, "DELETE", &path, &manager_headers, None).await;
    assert_eq!(status, 204);
}
