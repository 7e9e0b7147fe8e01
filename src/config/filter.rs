//! [`NameFilter`]: the compiled allow/deny lists of groups and topics.

use regex::RegexSet;

use super::{ClusterConfig, ConfigError};

/// Allow/deny regex lists compiled once. A name is watched when it matches an allow pattern
/// (or the allow list is empty) and no deny pattern. Patterns are anchored (`^(?:…)$`).
#[derive(Debug, Clone)]
pub struct NameFilter {
    allow: Option<RegexSet>,
    deny: Option<RegexSet>,
}

impl NameFilter {
    /// Compiles the lists; `key` (e.g. `clusters[0].groups`) is used in error messages.
    pub fn new(allow: &[String], deny: &[String], key: &str) -> Result<Self, ConfigError> {
        let compile = |list: &[String], which: &str| -> Result<Option<RegexSet>, ConfigError> {
            if list.is_empty() {
                return Ok(None);
            }
            for (i, p) in list.iter().enumerate() {
                if let Err(e) = regex::Regex::new(p) {
                    return Err(ConfigError::new(
                        format!("{key}.{which}[{i}]"),
                        format!("invalid regex {p:?}: {e}"),
                    ));
                }
            }
            let anchored: Vec<String> = list.iter().map(|p| format!("^(?:{p})$")).collect();
            RegexSet::new(&anchored)
                .map(Some)
                .map_err(|e| ConfigError::new(format!("{key}.{which}"), e.to_string()))
        };
        Ok(NameFilter {
            allow: compile(allow, "allow")?,
            deny: compile(deny, "deny")?,
        })
    }

    /// Accepts everything.
    pub fn all() -> Self {
        NameFilter {
            allow: None,
            deny: None,
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        self.allow.as_ref().is_none_or(|a| a.is_match(name))
            && !self.deny.as_ref().is_some_and(|d| d.is_match(name))
    }
}

impl NameFilter {
    /// Accepts nothing (used only if a filter that passed validation somehow fails to compile).
    pub fn none() -> Self {
        NameFilter {
            allow: Some(RegexSet::empty()),
            deny: None,
        }
    }
}

impl ClusterConfig {
    /// The group allow/deny filter. Validation has compiled it already, so this cannot fail in
    /// practice; if it did, the filter would match nothing rather than panic. Compiles on every
    /// call: keep the result.
    pub fn group_filter(&self) -> NameFilter {
        NameFilter::new(&self.groups.allow, &self.groups.deny, "groups")
            .unwrap_or_else(|_| NameFilter::none())
    }

    /// The topic allow/deny filter; see [`ClusterConfig::group_filter`].
    pub fn topic_filter(&self) -> NameFilter {
        NameFilter::new(&self.topics.allow, &self.topics.deny, "topics")
            .unwrap_or_else(|_| NameFilter::none())
    }
}
