//! [`NameFilter`]: the compiled allow/deny lists of groups and topics.

use regex::RegexSet;

use super::{ClusterConfig, ConfigError};

/// The matching rule of `groups.allow`/`.deny` and `topics.allow`/`.deny`, as `warren
/// check-config` states it above the configuration it prints.
pub(super) const PATTERN_RULE: &str =
    "groups.allow/deny, topics.allow/deny: a pattern matches anywhere \
     in the name (as in Burrow); write ^name$ for an exact name.";

/// Allow/deny regex lists compiled once. A name is watched when it matches an allow pattern
/// (or the allow list is empty) and no deny pattern. As in Burrow (Go's `MatchString`), a
/// pattern matches when it matches anywhere in the name: `orders` matches `my-orders-dlq`;
/// `^orders$` is the exact name.
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
            RegexSet::new(list)
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

/// A cluster's filters as validation compiled them, with the lists they were compiled from.
#[derive(Debug, Clone)]
pub(super) struct Filters {
    groups: NameFilter,
    topics: NameFilter,
    /// `groups.allow`, `groups.deny`, `topics.allow` and `topics.deny` when compiled.
    lists: [Vec<String>; 4],
}

impl Filters {
    /// Compiles the `groups` and `topics` filters of `c`, the cluster at `key`
    /// (`clusters[0]`): the only place they are compiled. Returns every error found.
    pub(super) fn compile(c: &ClusterConfig, key: &str) -> Result<Filters, Vec<ConfigError>> {
        let groups = NameFilter::new(&c.groups.allow, &c.groups.deny, &format!("{key}.groups"));
        let topics = NameFilter::new(&c.topics.allow, &c.topics.deny, &format!("{key}.topics"));
        match (groups, topics) {
            (Ok(groups), Ok(topics)) => Ok(Filters {
                groups,
                topics,
                lists: Self::lists_of(c).map(<[String]>::to_vec),
            }),
            (groups, topics) => Err([groups.err(), topics.err()].into_iter().flatten().collect()),
        }
    }

    fn lists_of(c: &ClusterConfig) -> [&[String]; 4] {
        [
            &c.groups.allow,
            &c.groups.deny,
            &c.topics.allow,
            &c.topics.deny,
        ]
    }
}

impl ClusterConfig {
    /// The group allow/deny filter (`groups.allow`, `groups.deny`), compiled once by validation
    /// and carried here.
    ///
    /// # Panics
    ///
    /// If the cluster was not validated (it was deserialized or built in code without going
    /// through [`load`](super::load) or [`Config::validate`](super::Config::validate)), or its
    /// lists were changed since: no filter is guessed for it.
    pub fn group_filter(&self) -> &NameFilter {
        &self.compiled().groups
    }

    /// The topic allow/deny filter (`topics.allow`, `topics.deny`); see
    /// [`ClusterConfig::group_filter`].
    pub fn topic_filter(&self) -> &NameFilter {
        &self.compiled().topics
    }

    fn compiled(&self) -> &Filters {
        match &self.filters {
            Some(f) if Filters::lists_of(self) == f.lists.each_ref().map(Vec::as_slice) => f,
            Some(_) => panic!(
                "cluster {:?}: groups/topics lists changed after validation; validate again",
                self.name
            ),
            None => panic!(
                "cluster {:?} was not validated: its filters are compiled by config::load or \
                 Config::validate",
                self.name
            ),
        }
    }
}
