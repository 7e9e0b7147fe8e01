//! What a cluster hands librdkafka, and its checks at load time: every property goes through
//! librdkafka's own setter (what the admin client will do), and `bootstrap_servers` is parsed
//! the way librdkafka parses it, so that a configuration that cannot connect fails with exit
//! status 2 instead of a cluster that stays down.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;

use super::auth::{is_property, AuthConfig};
use super::diagnose::{render_path, Errors};
use super::mask::mask_userinfo;
use super::secret_file::{file_reference, resolve};
use super::{is_secret_key, ClusterConfig, ConfigError};

/// The `group.id` of the admin client when `client` names none: its own group, never joined.
/// The admin client needs a group: librdkafka 2.12.1 dereferences the client's consumer-group
/// handle when an OffsetFetch answer says NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (a routine
/// event while coordinators move); a producer-type client (rdkafka's `AdminClient`) has none
/// and segfaults.
pub const DEFAULT_ADMIN_GROUP_ID: &str = "warren-admin";

/// librdkafka's properties for a cluster's admin client: `client` as given (a `${file:PATH}`
/// value read from its file now), then what warren sets itself (those of `auth`,
/// `bootstrap.servers`, a default `group.id`, `enable.auto.commit = false`: the group is never
/// joined, so nothing may ever be committed for it). The log level is not a property. An
/// unreadable file is an error naming its property.
pub fn kafka_properties(
    bootstrap_servers: &str,
    client: &BTreeMap<String, String>,
    auth: Option<&AuthConfig>,
) -> Result<ClientConfig, (String, String)> {
    let mut cfg = ClientConfig::new();
    for (k, v) in client {
        let value = resolve(v).map_err(|e| (k.clone(), e))?;
        cfg.set(k, value);
    }
    if let Some(auth) = auth {
        let has_protocol = client.keys().any(|k| is_property(k, "security.protocol"));
        for (property, value) in auth.kafka_properties(has_protocol) {
            cfg.set(property, value);
        }
    }
    cfg.set("bootstrap.servers", bootstrap_servers);
    if !client.contains_key("group.id") {
        cfg.set("group.id", DEFAULT_ADMIN_GROUP_ID);
    }
    cfg.set("enable.auto.commit", "false");
    Ok(cfg)
}

/// The `client` properties that name a file librdkafka reads when the client is made
/// (certificates, keys, CRLs, keystores, keytabs).
fn names_a_file(property: &str) -> bool {
    property.ends_with(".location") || property == "sasl.kerberos.keytab"
}

impl ClusterConfig {
    /// The files a client is made from: those of `${file:PATH}` properties and those librdkafka
    /// reads itself (`*.location`, the keytab). A client is out of date once one of them changes (a
    /// rotated password, certificate or key).
    pub fn client_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for (property, value) in &self.client {
            if let Some(path) = file_reference(value) {
                files.push(path.to_path_buf());
            } else if names_a_file(property) {
                files.push(PathBuf::from(value));
            }
        }
        files
    }
}

/// librdkafka's message about `property`, with `value` masked if the property is secret
/// (librdkafka quotes a rejected value: `Invalid value "…" for configuration property "…"`).
pub(super) fn hide_secret_value(reason: &str, property: &str, value: &str) -> String {
    if is_secret_key(property) {
        reason.replace(&format!("\"{value}\""), "\"***\"")
    } else {
        reason.to_string()
    }
}

/// librdkafka's security protocols, as `security.protocol` and a `proto://` broker prefix name
/// them (case-insensitively).
const SECURITY_PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

/// Sets every property of the cluster (`client` and warren's own, see [`kafka_properties`]) with
/// librdkafka's `rd_kafka_conf_set`, as the admin client will: an unknown property, a value
/// librdkafka rejects (`security.protocol = "CARRIER_PIGEON"`, `socket.timeout.ms = "x"`) is an
/// error naming it. A secret value is never shown, even where librdkafka's message quotes it.
pub(super) fn check_client_properties(key: &str, c: &ClusterConfig, errors: &mut Errors) {
    let mut cfg = match kafka_properties(&c.bootstrap_servers, &c.client, c.auth.as_ref()) {
        Ok(cfg) => cfg,
        Err((property, message)) => {
            let path = render_path(key, &["client".to_string(), property]);
            errors.push(ConfigError::new(path, message));
            return;
        }
    };
    // librdkafka stops at the first failing property: drop it and try again, to report all.
    for _ in 0..=cfg.config_map().len() {
        let (property, value, reason) = match cfg.create_native_config() {
            Ok(_) => return,
            Err(KafkaError::ClientConfig(_, reason, property, value)) => (property, value, reason),
            Err(other) => {
                let message = format!("librdkafka rejects the client properties: {other}");
                errors.push(ConfigError::new(format!("{key}.client"), message));
                return;
            }
        };
        let error_key = if c.client.contains_key(&property) {
            render_path(key, &["client".to_string(), property.clone()])
        } else if property == "bootstrap.servers" {
            format!("{key}.bootstrap_servers")
        } else {
            format!("{key}.client")
        };
        let reason = hide_secret_value(reason.trim(), &property, &value);
        errors.push(ConfigError::new(
            error_key,
            format!("librdkafka rejects it: {reason} (see librdkafka's CONFIGURATION.md)"),
        ));
        cfg.remove(&property);
    }
}

/// Checks each broker of `bootstrap_servers` (`[proto://]host[:port]`, separated by `,` or
/// spaces) as librdkafka reads it: a port must be 1-65535 (librdkafka would wrap 99999 into
/// 34463), a host must not be empty (librdkafka would read it as localhost), and a `proto://`
/// must be the cluster's `security.protocol` (librdkafka would drop the list).
pub(super) fn check_bootstrap_servers(key: &str, c: &ClusterConfig, errors: &mut Errors) {
    // With `auth`, warren's default is SASL_SSL.
    let default_protocol = if c.auth.is_some() {
        "sasl_ssl"
    } else {
        "plaintext"
    };
    let protocol = c
        .client
        .iter()
        .find(|(k, _)| is_property(k, "security.protocol"))
        .map_or(default_protocol, |(_, v)| v.trim());
    let brokers = c
        .bootstrap_servers
        .split([',', ' '])
        .filter(|b| !b.is_empty());
    if brokers.clone().next().is_none() && !c.bootstrap_servers.trim().is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.bootstrap_servers"),
            "names no broker; expected host:port[,host:port…]",
        ));
    }
    for broker in brokers {
        if let Err(reason) = check_broker(broker, protocol) {
            errors.push(ConfigError::new(
                format!("{key}.bootstrap_servers"),
                format!(
                    "broker {:?}: {reason}; expected host:port[,host:port…]",
                    mask_userinfo(broker)
                ),
            ));
        }
    }
}

fn check_broker(broker: &str, protocol: &str) -> Result<(), String> {
    let mut address = broker;
    if let Some(at) = broker.find("://") {
        let scheme = &broker[..at];
        if !SECURITY_PROTOCOLS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(scheme))
        {
            return Err(format!(
                "unknown protocol {scheme:?}; expected one of {}",
                SECURITY_PROTOCOLS.map(str::to_ascii_uppercase).join(", ")
            ));
        }
        if !scheme.eq_ignore_ascii_case(protocol) {
            return Err(format!(
                "protocol {scheme} differs from the cluster's security.protocol ({protocol}), \
                 which librdkafka requires"
            ));
        }
        // librdkafka ignores a path after the address.
        address = broker[at + 3..].split('/').next().unwrap_or_default();
    }
    // As librdkafka: a port follows the only `:`, or the `:` after `]` of an IPv6 address.
    let (host, port) = match (address.find(':'), address.rfind(':')) {
        (Some(first), Some(last)) if first == last || address[..last].ends_with(']') => {
            (&address[..last], Some(&address[last + 1..]))
        }
        _ => (address, None),
    };
    if host.is_empty() {
        return Err("empty host".to_string());
    }
    match port {
        Some(port) if !matches!(port.parse::<u16>(), Ok(1..)) => {
            Err(format!("port {port:?} is not a number from 1 to 65535"))
        }
        _ => Ok(()),
    }
}
