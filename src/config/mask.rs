//! Secret masking: what `warren check-config`, the Burrow config endpoints and logs may show.

use super::filter::PATTERN_RULE;
use super::Config;

/// The properties librdkafka itself treats as sensitive (`_RK_SENSITIVE` in its
/// `src/rdkafka_conf.c`, redacted in its own debug dumps). librdkafka offers no way to ask for
/// this flag at run time (`rd_kafka_conf_dump` does not redact), so the list is kept here; a unit
/// test compares it with the vendored `rdkafka_conf.c` when that source is present.
pub(super) const LIBRDKAFKA_SENSITIVE: &[&str] = &[
    "sasl.oauthbearer.assertion.private.key.file",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.private.key.pem",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "sasl.password",
    "sasl.username",
    "ssl.ca.pem",
    "ssl.key.location",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl_key",
];

/// Whether a librdkafka property holds a secret: librdkafka marks it sensitive (see
/// [`LIBRDKAFKA_SENSITIVE`]), or its name contains `password`, `secret`, `jaas`, `token` or
/// `passphrase`, or ends in `.pem` or `key`.
pub fn is_secret_key(property: &str) -> bool {
    let p = property.trim().to_ascii_lowercase();
    LIBRDKAFKA_SENSITIVE.contains(&p.as_str())
        || ["password", "secret", "jaas", "token", "passphrase"]
            .iter()
            .any(|s| p.contains(s))
        || p.ends_with(".pem")
        || p.ends_with("key")
}

/// `bootstrap_servers` (or one entry of it) with any `user:pass@` userinfo replaced by `***@`.
pub(super) fn mask_userinfo(servers: &str) -> String {
    servers
        .split(',')
        .map(|entry| {
            let (scheme, rest) = match entry.find("://") {
                Some(i) => entry.split_at(i + 3),
                None => ("", entry),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***{}", &rest[at..]),
                None => entry.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Config {
    /// The effective configuration as TOML (what `warren check-config` prints): durations in
    /// human form (`"10s"`, `"1m"`), secrets masked as `"***"` (secret `client` properties, see
    /// [`is_secret_key`], and userinfo in `bootstrap_servers`). Feeding it back to [`load_from`]
    /// gives the same configuration, secrets aside. When any cluster has a non-empty
    /// `groups`/`topics` allow or deny list, a leading comment states how patterns match
    /// (`filter::PATTERN_RULE`).
    pub fn masked_toml(&self) -> String {
        let mut masked = self.clone();
        if masked.http.admin_token.is_some() {
            masked.http.admin_token = Some("***".to_string());
        }
        for cluster in &mut masked.clusters {
            for (property, value) in cluster.client.iter_mut() {
                if is_secret_key(property) {
                    *value = "***".to_string();
                }
            }
            cluster.bootstrap_servers = mask_userinfo(&cluster.bootstrap_servers);
        }
        let has_patterns = self.clusters.iter().any(|c| {
            [
                &c.groups.allow,
                &c.groups.deny,
                &c.topics.allow,
                &c.topics.deny,
            ]
            .iter()
            .any(|list| !list.is_empty())
        });
        let header = if has_patterns {
            format!("# {PATTERN_RULE}\n\n")
        } else {
            String::new()
        };
        match toml::to_string(&masked) {
            Ok(text) => header + &text,
            Err(e) => format!("# the configuration cannot be shown as TOML: {e}\n"),
        }
    }
}
