//! `basic_auth_users`: HTTP basic authentication against bcrypt hashes, as a layer over every
//! route, and the web-config file's response headers.
//!
//! bcrypt is slow by design (~50 ms at cost 10), so, as exporter-toolkit does, a successful
//! check is cached: by a SHA-256 digest of user, hash and password, so the cache holds no
//! password and compares no secret byte by byte. Failed checks are never cached and run on the
//! blocking pool, at most [`BCRYPT_SLOTS`] at a time, so a flood of wrong passwords costs at
//! most that many cores. An unknown user costs one bcrypt too (against a known user's hash,
//! the answer discarded), so timing does not tell which users exist.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::Semaphore;

use super::WebConfigError;
use crate::http::AppState;

/// bcrypt checks running at once (the machine has few cores; scrapes must go on).
const BCRYPT_SLOTS: usize = 2;

/// Successful checks remembered; past this the memory starts over (a handful of scrapers
/// use a handful of entries).
const MAX_CACHED: usize = 1024;

/// The users of `basic_auth_users` and the checks that succeeded.
pub struct Users {
    /// user → bcrypt hash.
    hashes: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
    bcrypt_slots: Semaphore,
}

impl Users {
    /// Checks every hash (a bcrypt hash: `$2a$`/`$2b$`/`$2y$`, cost, salt and hash) and name.
    pub(super) fn new(hashes: BTreeMap<String, String>) -> Result<Users, WebConfigError> {
        for (user, hash) in &hashes {
            let key = format!("basic_auth_users.{user}");
            if user.contains(':') {
                return Err(WebConfigError::new(
                    key,
                    "a user name cannot contain `:` (basic auth separates it from the password with one)",
                ));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(WebConfigError::new(
                    key,
                    "is not a bcrypt hash (like $2y$10$ and 53 more characters; make one with \
                     `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)",
                ));
            }
        }
        Ok(Users {
            hashes,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slots: Semaphore::new(BCRYPT_SLOTS),
        })
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `headers` carry `Authorization: Basic` with a known user and its password.
    pub async fn allow(&self, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let known = self.hashes.get(&user);
        // An unknown user is checked against another user's hash, the answer discarded.
        let Some(hash) = known.or_else(|| self.hashes.values().next()).cloned() else {
            return false;
        };
        let digest = cache_key(&user, &hash, &password);
        if known.is_some() && self.lock().contains(&digest) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slots.acquire().await else {
            return false;
        };
        let checked =
            tokio::task::spawn_blocking(move || bcrypt::verify(&password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        let allowed = checked && known.is_some();
        if allowed {
            let mut verified = self.lock();
            if verified.len() >= MAX_CACHED {
                verified.clear();
            }
            verified.insert(digest);
        }
        allowed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// SHA-256 over user, hash and password, each length-prefixed (no two triples collide).
fn cache_key(user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user.as_bytes(), hash.as_bytes(), password] {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(context.finish().as_ref());
    key
}

/// User and password of an `Authorization: Basic` header (the password as bytes: bcrypt
/// takes any).
fn credentials(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The challenge of a 401.
const CHALLENGE: &str = "Basic realm=\"warren\", charset=\"UTF-8\"";

/// The layer over every route: basic authentication when `basic_auth_users` is set (except
/// `/healthz` and `/readyz` with `http.probes_without_auth`; a request with the Burrow admin
/// token passes too, since it may do more than any user), and the configured response headers.
pub async fn protect(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(web) = state.config.http.web_config.as_deref() else {
        return next.run(request).await;
    };
    let settings = web.current();
    if let Some(users) = &settings.users {
        let probe = matches!(request.uri().path(), "/healthz" | "/readyz");
        let open = probe && state.config.http.probes_without_auth;
        if !open
            && !crate::http::burrow::auth::has_admin_token(&state, request.headers())
            && !users.allow(request.headers()).await
        {
            let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
            return with_headers(response, &settings.headers);
        }
    }
    with_headers(next.run(request).await, &settings.headers)
}

fn with_headers(mut response: Response, headers: &[(header::HeaderName, HeaderValue)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderMap {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        h
    }

    fn users() -> Users {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let other = bcrypt::hash("other", 4).unwrap();
        Users::new(BTreeMap::from([
            ("prometheus".to_string(), hash),
            ("alice".to_string(), other),
        ]))
        .unwrap()
    }

    #[tokio::test]
    async fn right_password_only_and_successes_cached() {
        let u = users();
        assert!(u.allow(&basic("prometheus", "s3cret")).await);
        assert_eq!(u.lock().len(), 1);
        assert!(u.allow(&basic("prometheus", "s3cret")).await);
        assert_eq!(u.lock().len(), 1);
        assert!(!u.allow(&basic("prometheus", "wrong")).await);
        assert!(!u.allow(&basic("alice", "s3cret")).await);
        // An unknown user with a known user's password: checked, refused, not cached.
        assert!(!u.allow(&basic("mallory", "other")).await);
        assert!(!u.allow(&basic("mallory", "s3cret")).await);
        assert_eq!(u.lock().len(), 1);
        assert!(!u.allow(&HeaderMap::new()).await);
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(!u.allow(&bearer).await);
    }

    #[test]
    fn credentials_split_at_the_first_colon() {
        assert_eq!(
            credentials(&basic("u", "a:b")),
            Some(("u".to_string(), b"a:b".to_vec()))
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("basic !!notbase64"),
        );
        assert_eq!(credentials(&h), None);
    }

    #[test]
    fn bad_hashes_and_names_name_their_key() {
        let bad = Users::new(BTreeMap::from([("bob".to_string(), "plain".to_string())]));
        assert_eq!(bad.err().unwrap().key, "basic_auth_users.bob");
        let hash = bcrypt::hash("x", 4).unwrap();
        let colon = Users::new(BTreeMap::from([("a:b".to_string(), hash)]));
        assert_eq!(colon.err().unwrap().key, "basic_auth_users.a:b");
    }
}
