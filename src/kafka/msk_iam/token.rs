//! The AWS MSK IAM token: a SigV4-presigned `kafka-cluster:Connect` URL, base64url without
//! padding, as AWS's signers (aws-msk-iam-sasl-signer-go, -python, -js) make it. Pure: the
//! credentials and the signing time are arguments, so tests fix both.
//!
//! Signed with AWS's own `aws-sigv4` crate. The `aws-msk-iam-sasl-signer` crate (a community
//! port) was not used: it reads the clock itself (`SystemTime::now`), so no test can fix the
//! signing time, it ignores the credentials' expiry, and it pulls an STS client and an HTTPS
//! client built on aws-lc.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;

/// How long the presigned URL is valid (`X-Amz-Expires`): what AWS's signers use.
pub const TOKEN_VALIDITY: Duration = Duration::from_secs(900);

/// The SigV4 service name of MSK's IAM access control.
const SERVICE: &str = "kafka-cluster";

/// What the URL asks for: connecting to the cluster; MSK authorizes every other action
/// (DescribeGroup, DescribeTopic, …) against the same principal.
const ACTION: &str = "kafka-cluster:Connect";

/// An MSK IAM token and what librdkafka needs with it.
#[derive(Clone, PartialEq, Eq)]
pub struct MskToken {
    /// The base64url (unpadded) presigned URL: the OAUTHBEARER token value.
    pub value: String,
    /// When the token stops being usable, in milliseconds since the Unix epoch: the signing
    /// time plus [`TOKEN_VALIDITY`], or the credentials' expiry if that comes first.
    pub expires_at_ms: i64,
    /// The principal librdkafka shows for the token: the access key id (never the secret).
    pub principal: String,
}

impl std::fmt::Debug for MskToken {
    /// The token holds the session token (a secret): never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MskToken")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// The host a token for `region` names (`kafka.<region>.amazonaws.com`).
pub fn endpoint_host(region: &str) -> String {
    format!("kafka.{region}.amazonaws.com")
}

/// The token for `region` signed with `credentials` at `at`.
pub fn sign_token(
    region: &str,
    credentials: &Credentials,
    at: SystemTime,
) -> Result<MskToken, String> {
    let action = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", ACTION)
        .finish();
    let url = format!("https://{}/?{action}", endpoint_host(region));

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_VALIDITY);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| format!("SigV4 signing parameters: {e}"))?;
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| format!("SigV4 request: {e}"))?;
    let (instructions, _signature) = sign(request, &params.into())
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into_parts();

    let mut query = form_urlencoded::Serializer::new(action);
    for (name, value) in instructions.params() {
        query.append_pair(name, value);
    }
    // Not signed, as with AWS's signers: it tells MSK's logs which client connected.
    query.append_pair("User-Agent", &user_agent());
    let presigned = format!("https://{}/?{}", endpoint_host(region), query.finish());

    Ok(MskToken {
        value: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned),
        expires_at_ms: expires_at_ms(at, credentials.expiry()),
        principal: credentials.access_key_id().to_string(),
    })
}

/// `warren/<version>`.
pub fn user_agent() -> String {
    format!("warren/{}", env!("CARGO_PKG_VERSION"))
}

/// The token's end: `signed_at` + [`TOKEN_VALIDITY`], never past the credentials' own expiry
/// (MSK refuses a URL signed with credentials that expired), in Unix milliseconds.
pub fn expires_at_ms(signed_at: SystemTime, credentials_expiry: Option<SystemTime>) -> i64 {
    let end = signed_at + TOKEN_VALIDITY;
    let end = credentials_expiry.map_or(end, |expiry| end.min(expiry));
    unix_ms(end)
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis().min(i64::MAX as u128) as i64,
        Err(before) => -(before.duration().as_millis().min(i64::MAX as u128) as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-05T12:34:56Z.
    fn signing_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_474_096)
    }

    fn credentials(session_token: Option<&str>, expiry: Option<SystemTime>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_string),
            expiry,
            "test",
        )
    }

    /// The token's presigned URL: its host and its query, in order, decoded.
    fn decode(token: &MskToken) -> (String, Vec<(String, String)>) {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token.value)
            .expect("base64url without padding");
        let url = String::from_utf8(bytes).expect("UTF-8");
        let rest = url.strip_prefix("https://").expect("https URL");
        let (host, query) = rest.split_once("/?").expect("a query");
        let pairs = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        (host.to_string(), pairs)
    }

    // The signatures below were computed independently of aws-sigv4, with Python's hmac and
    // hashlib (SigV4 query signing as AWS documents it: the canonical request is
    // "GET\n/\n" + the sorted, %-encoded query without X-Amz-Signature + "\nhost:" + host +
    // "\n\nhost\n" + sha256(""); the string to sign is "AWS4-HMAC-SHA256\n" + date + "\n" +
    // scope + "\n" + sha256(canonical request); the key is HMAC-SHA256 chained over
    // "AWS4" + secret, the day, the region, "kafka-cluster", "aws4_request"):
    //
    //   import hashlib, hmac, urllib.parse
    //   def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
    //   def sig(secret, token):
    //       date, day, region = "20261205T123456Z", "20261205", "eu-west-1"
    //       scope = f"{day}/{region}/kafka-cluster/aws4_request"
    //       q = {"Action": "kafka-cluster:Connect", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    //            "X-Amz-Credential": "AKIDEXAMPLE/" + scope, "X-Amz-Date": date,
    //            "X-Amz-Expires": "900", "X-Amz-SignedHeaders": "host"}
    //       if token: q["X-Amz-Security-Token"] = token
    //       cq = "&".join(urllib.parse.quote(k, safe="-_.~") + "=" +
    //                     urllib.parse.quote(v, safe="-_.~") for k, v in sorted(q.items()))
    //       creq = "\n".join(["GET", "/", cq, "host:kafka.eu-west-1.amazonaws.com", "",
    //                         "host", hashlib.sha256(b"").hexdigest()])
    //       sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
    //                        hashlib.sha256(creq.encode()).hexdigest()])
    //       k = h(h(h(h(("AWS4" + secret).encode(), day), region), "kafka-cluster"),
    //             "aws4_request")
    //       return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    //
    // botocore 1.43's `SigV4QueryAuth(creds, "kafka-cluster", "eu-west-1", expires=900)` (what
    // aws-msk-iam-sasl-signer-python signs with), its clock patched to the same time, gives
    // the same two signatures.
    const SIGNATURE_WITHOUT_SESSION: &str =
        "50adeaddd728a89192b9e65d9b226300704b75c6b78d24ddd391c0480ec0fbd2";
    const SIGNATURE_WITH_SESSION: &str =
        "e77d3d9f2ed724f37549308f85f14725fc25a55ccb364a9512e99e4a39f4feba";

    fn expected_query(session_token: Option<&str>, signature: &str) -> Vec<(String, String)> {
        let mut q = vec![
            ("Action", "kafka-cluster:Connect"),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            (
                "X-Amz-Credential",
                "AKIDEXAMPLE/20261205/eu-west-1/kafka-cluster/aws4_request",
            ),
            ("X-Amz-Date", "20261205T123456Z"),
            ("X-Amz-Expires", "900"),
            ("X-Amz-SignedHeaders", "host"),
        ];
        if let Some(token) = session_token {
            q.push(("X-Amz-Security-Token", token));
        }
        q.push(("X-Amz-Signature", signature));
        let user_agent = format!("warren/{}", env!("CARGO_PKG_VERSION"));
        let mut q: Vec<(String, String)> = q
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        q.push(("User-Agent".to_string(), user_agent));
        q
    }

    #[test]
    fn the_token_is_the_presigned_connect_url() {
        let token = sign_token("eu-west-1", &credentials(None, None), signing_time()).unwrap();
        let (host, mut query) = decode(&token);
        assert_eq!(host, "kafka.eu-west-1.amazonaws.com");
        // The signer's parameter order is its own; the broker sorts them.
        let user_agent = query.pop().unwrap();
        query.sort();
        let mut expected = expected_query(None, SIGNATURE_WITHOUT_SESSION);
        let expected_user_agent = expected.pop().unwrap();
        expected.sort();
        assert_eq!(query, expected);
        assert_eq!(user_agent, expected_user_agent);
        assert_eq!(token.principal, "AKIDEXAMPLE");
        // 12:34:56 + 900 s.
        assert_eq!(token.expires_at_ms, 1_796_474_996_000);
        assert!(!token.value.contains('=') && !token.value.contains('+'));
        assert!(!format!("{token:?}").contains(&token.value));
    }

    #[test]
    fn a_session_token_is_signed_into_the_url() {
        // A session token has `/`, `+` and `=`: each %-encoded in the URL.
        let session = "FwoGZXIvYXdzEJr//////////wEaDH+abc=";
        let token = sign_token(
            "eu-west-1",
            &credentials(Some(session), None),
            signing_time(),
        )
        .unwrap();
        let (host, mut query) = decode(&token);
        assert_eq!(host, "kafka.eu-west-1.amazonaws.com");
        let user_agent = query.pop().unwrap();
        query.sort();
        let mut expected = expected_query(Some(session), SIGNATURE_WITH_SESSION);
        let expected_user_agent = expected.pop().unwrap();
        expected.sort();
        assert_eq!(query, expected);
        assert_eq!(user_agent, expected_user_agent);
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&token.value)
                .unwrap(),
        )
        .unwrap();
        assert!(
            url.contains(
                "X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDH%2Babc%3D"
            ),
            "{url}"
        );
        assert!(url
            .starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"));
    }

    #[test]
    fn the_lifetime_ends_with_the_credentials() {
        let at = signing_time();
        let at_ms = unix_ms(at);
        // No expiry (long-term keys): the URL's 900 s.
        assert_eq!(expires_at_ms(at, None), at_ms + 900_000);
        // Credentials outliving the URL: still 900 s.
        let later = at + Duration::from_secs(3600);
        assert_eq!(expires_at_ms(at, Some(later)), at_ms + 900_000);
        // Credentials expiring first: their expiry.
        let soon = at + Duration::from_secs(120);
        assert_eq!(expires_at_ms(at, Some(soon)), at_ms + 120_000);
        let token = sign_token("eu-west-1", &credentials(Some("t"), Some(soon)), at).unwrap();
        assert_eq!(token.expires_at_ms, at_ms + 120_000);
    }
}
