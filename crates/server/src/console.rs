//! The console at `/console/`: a few static files (HTML, CSS, JavaScript modules, an icon)
//! compiled into the binary, served without a token. The page talks to the server through the
//! public REST API only, with the caller's personal access token, so it needs nothing here but
//! its files.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style, no other
//! origin, no framing), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
//! The files have no version in their names, so they are cached with `no-cache` and an `ETag`
//! (a hash of the content): a browser revalidates each load and gets `304 Not Modified` while
//! the binary is the same.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};

/// The mount point; `/console` alone redirects here.
pub const PREFIX: &str = "/console/";

/// What the console's answers allow the page to do: its own files and API only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

/// One embedded file.
#[derive(Debug)]
struct Asset {
    /// The name under [`PREFIX`]; `""` is the page itself.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// [`fingerprint`] of the body, worked out at compile time.
    fingerprint: u64,
}

const fn embedded(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset { name, content_type, body, fingerprint: fingerprint(body) }
}

/// Every file of the console.
const ASSETS: &[Asset] = &[
    embedded("", "text/html; charset=utf-8", include_bytes!("../console/index.html")),
    embedded("console.css", "text/css; charset=utf-8", include_bytes!("../console/console.css")),
    embedded("app.js", "text/javascript; charset=utf-8", include_bytes!("../console/app.js")),
    embedded("api.js", "text/javascript; charset=utf-8", include_bytes!("../console/api.js")),
    embedded("icon.svg", "image/svg+xml", include_bytes!("../console/icon.svg")),
];

/// FNV-1a, 64 bits: a stable fingerprint of a file for its `ETag` (not a security measure).
const fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The headers every console answer carries.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(request: &HeaderMap, etag: &str) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|list| {
        list.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
    })
}

/// The answer for file `name`, or 404 when there is none.
fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        let mut response = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "Not Found",
        )
            .into_response();
        security_headers(response.headers_mut());
        return response;
    };
    let etag = format!("\"{:016x}\"", asset.fingerprint);
    let mut response = if not_modified(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    security_headers(headers);
    response
}

async fn page(request: HeaderMap) -> Response {
    serve("", &request)
}

async fn asset(Path(name): Path<String>, request: HeaderMap) -> Response {
    serve(&name, &request)
}

async fn redirect() -> Response {
    let mut response =
        (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, HeaderValue::from_static(PREFIX))]).into_response();
    security_headers(response.headers_mut());
    response
}

/// The console's routes (`GET` and `HEAD`), to merge beside the operator endpoints.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/console", get(redirect)).route(PREFIX, get(page)).route("/console/{*name}", get(asset))
}

/// Whether `path` is one of the console's paths (for the metrics label).
#[must_use]
pub fn is_console_path(path: &str) -> bool {
    path == "/console" || path.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_name_and_a_content_type_of_its_kind() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(ASSETS[..i].iter().all(|a| a.name != asset.name), "{} twice", asset.name);
            let expected = match asset.name.rsplit_once('.').map(|(_, ext)| ext) {
                None => "text/html",
                Some("css") => "text/css",
                Some("js") => "text/javascript",
                Some("svg") => "image/svg+xml",
                Some(other) => panic!("no content type known for .{other}"),
            };
            assert!(asset.content_type.starts_with(expected), "{}: {}", asset.name, asset.content_type);
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() {
        let page = std::str::from_utf8(ASSETS[0].body).expect("UTF-8 page");
        assert!(!page.contains("<style"), "inline style element");
        assert!(!page.contains(" style="), "inline style attribute");
        let handler = page.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(handler.is_none(), "inline event handler: on{}", handler.unwrap_or_default());
        for script in page.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "inline script: <script{tag}>");
        }
        assert!(!page.contains("http://") && !page.contains("https://"), "another origin named in the page");
        for asset in &ASSETS[1..] {
            if asset.name != "api.js" {
                assert!(page.contains(asset.name), "{} is not used by the page", asset.name);
            }
        }
    }

    #[test]
    fn no_script_or_style_names_another_origin() {
        for asset in ASSETS.iter().filter(|a| !a.content_type.starts_with("image/")) {
            let text = std::str::from_utf8(asset.body).expect("UTF-8 text");
            for scheme in ["http://", "https://", "//cdn", "ws://", "wss://"] {
                assert!(!text.contains(scheme), "{} names {scheme}", asset.name);
            }
        }
    }

    #[test]
    fn if_none_match_with_the_current_etag_is_not_modified() {
        let table = [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("abc", false),
        ];
        for (sent, expected) in table {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static(sent));
            assert_eq!(not_modified(&headers, "\"abc\""), expected, "{sent}");
        }
        assert!(!not_modified(&HeaderMap::new(), "\"abc\""));
    }

    #[test]
    fn console_paths_are_recognised_and_nothing_else() {
        let table = [
            ("/console", true),
            ("/console/", true),
            ("/console/app.js", true),
            ("/consoles", false),
            ("/management/v1/console", false),
        ];
        for (path, expected) in table {
            assert_eq!(is_console_path(path), expected, "{path}");
        }
    }
}
