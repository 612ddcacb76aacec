//! The first start never loses the admin's token (issue 12): it is kept in
//! `<admin_pat_path>.pending` until the set-up is known to have landed; a later start moves a
//! kept token that authenticates into place and drops one that does not.

use crate::harness::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_admin_token_is_recovered_only_when_it_authenticates() {
    let mut server = Server::start().await;
    let file = server.dir.path().join("admin.pat");
    let pending = server.dir.path().join("admin.pat.pending");
    assert!(!pending.exists(), "a first start that landed leaves nothing pending");
    let token = std::fs::read_to_string(&file).expect("admin token");

    // As after a start that committed but never heard back: the token only in the pending file.
    std::fs::rename(&file, &pending).expect("move");
    server.restart().await;
    assert_eq!(std::fs::read_to_string(&file).expect("recovered"), token);
    assert!(!pending.exists());
    let admin = server.admin();
    let (status, _, _) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", admin.as_str())], None).await;
    assert_eq!(status, 200, "the recovered token is the admin's");

    // A kept token that authenticates no one (that start's set-up never landed) is dropped.
    std::fs::write(&pending, "not-a-token\n").expect("write");
    server.restart().await;
    assert!(!pending.exists());
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), token, "the real admin token is untouched");
}
