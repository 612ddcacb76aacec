//! The domain stays pure: no I/O crate among its normal dependencies, directly or transitively.

use std::process::Command;

#[test]
fn the_domain_crate_depends_on_no_io_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["tree", "-p", "persona-domain", "-e", "normal", "--prefix", "none", "--offline"])
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    let forbidden = ["tokio", "sea-orm", "sqlx", "axum", "tonic", "prost", "hyper", "mio", "reqwest"];
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| forbidden.contains(name))
        .collect();
    assert!(found.is_empty(), "the domain pulls in I/O crates: {found:?}");
    assert!(tree.lines().any(|line| line.starts_with("persona-domain ")), "the tree names the crate itself");
}
