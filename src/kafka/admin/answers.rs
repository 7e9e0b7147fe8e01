//! What the admin calls take and give back, and their error.

use std::fmt;
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::ffi;
use crate::model::GroupState;

/// Which end of a partition ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (isolation READ_UNCOMMITTED).
    Latest,
}

/// One topic from cluster metadata.
#[derive(Debug, Clone)]
pub struct TopicMetadata {
    pub name: String,
    /// Partition ids, sorted.
    pub partitions: Vec<i32>,
    /// Topic-level error reported by the broker, if any.
    pub error: Option<String>,
}

/// One consumer group from ListConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub id: String,
    /// The state librdkafka reports (`Unknown` for a name warren does not know).
    pub state: GroupState,
    pub simple: bool,
}

/// Result of ListConsumerGroups: the valid listings plus per-broker errors.
#[derive(Debug, Clone, Default)]
pub struct GroupList {
    pub groups: Vec<GroupListing>,
    /// Per-broker errors (the listing is then partial).
    pub errors: Vec<String>,
}

/// One committed offset from [`Admin::list_group_offsets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Index of the partition in the list the caller passed.
    pub index: u32,
    /// The committed offset (the next offset the group will read).
    pub offset: i64,
}

/// An admin error: a clear message, and the librdkafka error code when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub code: Option<RDKafkaErrorCode>,
    pub message: String,
}

impl AdminError {
    pub(super) fn new(code: Option<RDKafkaErrorCode>, message: impl Into<String>) -> Self {
        AdminError {
            code,
            message: message.into(),
        }
    }

    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Self::new(Some(RDKafkaErrorCode::InvalidArgument), message)
    }

    pub(super) fn timed_out(what: &str, timeout: Duration) -> Self {
        Self::new(
            Some(RDKafkaErrorCode::OperationTimedOut),
            format!("{what} timed out after {timeout:?}"),
        )
    }

    pub(super) fn poller_gone(what: &str) -> Self {
        Self::new(None, format!("{what}: admin result poller stopped"))
    }

    /// From a plain response code, with librdkafka's text for it.
    pub(super) fn from_code(what: &str, code: RDKafkaErrorCode) -> Self {
        Self::new(Some(code), format!("{what}: {}", ffi::err2str(code)))
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} ({code:?})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<KafkaError> for AdminError {
    fn from(e: KafkaError) -> Self {
        AdminError::new(e.rdkafka_error_code(), e.to_string())
    }
}
