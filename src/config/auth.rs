//! `clusters[].auth`: authentication warren does itself rather than through librdkafka
//! properties. One kind so far, AWS MSK IAM (`{ type = "aws_msk_iam", region = "eu-west-1" }`):
//! warren signs the OAUTHBEARER tokens (`crate::kafka::msk_iam`), so it sets
//! `sasl.mechanism = OAUTHBEARER` and, unless `client` names one, `security.protocol =
//! SASL_SSL`. Nothing in it is secret: credentials come from AWS's default chain.

use serde::{Deserialize, Serialize};

use super::diagnose::{render_path, Errors};
use super::{ClusterConfig, ConfigError};

/// A cluster's `auth` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// The cluster's AWS region (`eu-west-1`): the region the tokens are signed for.
    pub region: String,
}

/// The kinds of `auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// AWS MSK IAM access control: SASL/OAUTHBEARER with SigV4-signed tokens.
    AwsMskIam,
}

/// The SASL mechanism `auth` uses.
const MECHANISM: &str = "OAUTHBEARER";

impl AuthConfig {
    /// The region to sign MSK IAM tokens for, when this is MSK IAM.
    pub fn msk_iam_region(&self) -> Option<&str> {
        match self.kind {
            AuthKind::AwsMskIam => Some(&self.region),
        }
    }

    /// The librdkafka properties `auth` sets: the mechanism, and the security protocol unless
    /// `has_protocol` (the cluster's `client` names one).
    pub(super) fn kafka_properties(&self, has_protocol: bool) -> Vec<(&'static str, &'static str)> {
        let mut properties = vec![("sasl.mechanism", MECHANISM)];
        if !has_protocol {
            properties.push(("security.protocol", "SASL_SSL"));
        }
        properties
    }
}

/// Whether `property` (a `client` key) is librdkafka's `name` (trimmed, any case).
pub(super) fn is_property(property: &str, name: &str) -> bool {
    property.trim().eq_ignore_ascii_case(name)
}

/// Checks `auth` and the `client` properties it would contradict: an AWS region that can be
/// a host name part; no other SASL mechanism, no `sasl.oauthbearer.*` property (librdkafka
/// would use them instead of warren's tokens, or refuse the client) and a SASL protocol.
pub(super) fn check_auth(key: &str, c: &ClusterConfig, errors: &mut Errors) {
    let Some(auth) = &c.auth else {
        return;
    };
    let region = auth.region.trim();
    let valid = !region.is_empty()
        && region == auth.region
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        errors.push(ConfigError::new(
            format!("{key}.auth.region"),
            format!(
                "invalid AWS region {:?}; expected the cluster's region, such as \"eu-west-1\"",
                auth.region
            ),
        ));
    }
    for (property, value) in &c.client {
        let client_key = || render_path(key, &["client".to_string(), property.clone()]);
        let p = property.trim().to_ascii_lowercase();
        let message = if (is_property(&p, "sasl.mechanism") || is_property(&p, "sasl.mechanisms"))
            && !value.trim().eq_ignore_ascii_case(MECHANISM)
        {
            format!(
                "conflicts with `{key}.auth` (aws_msk_iam authenticates with {MECHANISM}); \
                 remove it"
            )
        } else if p.starts_with("sasl.oauthbearer.") || p == "enable.sasl.oauthbearer.unsecure.jwt"
        {
            format!(
                "not allowed with `{key}.auth`: warren makes the {MECHANISM} tokens itself; \
                 remove it"
            )
        } else if is_property(&p, "security.protocol")
            && !value.trim().to_ascii_lowercase().starts_with("sasl_")
        {
            format!(
                "must be SASL_SSL (the default with `{key}.auth`) or SASL_PLAINTEXT: \
                 aws_msk_iam authenticates with SASL"
            )
        } else {
            continue;
        };
        errors.push(ConfigError::new(client_key(), message));
    }
}
