//! The objects a request is built from (options, partition lists, group and config
//! resources): each owns what librdkafka gave it and destroys it on drop; admin calls copy them,
//! so they only live until the call.

use std::ffi::{c_char, c_int, CString};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{cstr_lossy, take_owned_error, timeout_ms, KafkaClient};
use crate::kafka::admin::AdminError;
use crate::model::TopicPartition;

/// An `rd_kafka_AdminOptions_t` we created; admin calls copy it, so it only lives until the call.
pub(super) struct Options(NonNull<rdsys::rd_kafka_AdminOptions_t>);

impl Options {
    pub(in crate::kafka::admin) fn new(
        client: &KafkaClient,
        op: rdsys::rd_kafka_admin_op_t,
        timeout: Duration,
    ) -> Result<Self, AdminError> {
        // SAFETY: live client handle.
        let p = unsafe { rdsys::rd_kafka_AdminOptions_new(client.native_ptr(), op) };
        let opts = NonNull::new(p)
            .map(Options)
            .ok_or_else(|| AdminError::new(None, "rd_kafka_AdminOptions_new returned NULL"))?;
        let mut errstr = [0 as c_char; 256];
        // SAFETY: valid options; errstr is a writable buffer of the stated size.
        let err = unsafe {
            rdsys::rd_kafka_AdminOptions_set_request_timeout(
                opts.ptr(),
                timeout_ms(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: librdkafka NUL-terminates errstr on error.
            let text = unsafe { cstr_lossy(errstr.as_ptr()) };
            return Err(AdminError::new(
                Some(err.into()),
                format!("set_request_timeout: {text}"),
            ));
        }
        Ok(opts)
    }

    /// High watermark, not the last stable offset: lag is measured against what was produced.
    pub(in crate::kafka::admin) fn set_read_uncommitted(&self) -> Result<(), AdminError> {
        // SAFETY: valid options.
        let err = unsafe {
            rdsys::rd_kafka_AdminOptions_set_isolation_level(
                self.ptr(),
                rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
            )
        };
        // SAFETY: the returned error (if any) is owned by us and not used afterwards.
        unsafe { take_owned_error("set_isolation_level", err) }
    }

    pub(in crate::kafka::admin) fn ptr(&self) -> *mut rdsys::rd_kafka_AdminOptions_t {
        self.0.as_ptr()
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: we own the options; librdkafka keeps its own copy for in-flight requests.
        unsafe { rdsys::rd_kafka_AdminOptions_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_topic_partition_list_t` we build for a request (librdkafka copies it).
pub(in crate::kafka::admin) struct Tpl(NonNull<rdsys::rd_kafka_topic_partition_list_t>);

// SAFETY: plain heap object with no thread affinity; only read by admin calls that copy it.
unsafe impl Send for Tpl {}

impl Tpl {
    /// Builds a list from input partitions `idx` of `parts`, with `offset` set on each.
    /// Inputs are pre-validated (non-empty topic without NUL, partition >= 0).
    pub(in crate::kafka::admin) fn build(
        parts: &[TopicPartition],
        idx: &[u32],
        offset: i64,
    ) -> Result<Self, AdminError> {
        let cap = c_int::try_from(idx.len())
            .map_err(|_| AdminError::invalid("too many partitions for one request"))?;
        // SAFETY: plain constructor.
        let p = unsafe { rdsys::rd_kafka_topic_partition_list_new(cap) };
        let tpl = NonNull::new(p).map(Tpl).ok_or_else(|| {
            AdminError::new(None, "rd_kafka_topic_partition_list_new returned NULL")
        })?;
        // Consecutive partitions usually share a topic: reuse its C string.
        let mut last: Option<(&Arc<str>, CString)> = None;
        for &i in idx {
            let TopicPartition { topic, partition } = &parts[i as usize];
            let reuse = matches!(&last, Some((t, _)) if t.as_bytes() == topic.as_bytes());
            if !reuse {
                let c = CString::new(topic.as_bytes())
                    .map_err(|_| AdminError::invalid("topic name contains NUL"))?;
                last = Some((topic, c));
            }
            let c = &last.as_ref().expect("set above").1;
            // SAFETY: valid list; the topic string is copied by librdkafka.
            let elem = unsafe {
                rdsys::rd_kafka_topic_partition_list_add(tpl.ptr(), c.as_ptr(), *partition)
            };
            if let Some(elem) = NonNull::new(elem) {
                // SAFETY: `elem` points into our list, which we exclusively own.
                unsafe { (*elem.as_ptr()).offset = offset };
            }
        }
        Ok(tpl)
    }

    pub(super) fn ptr(&self) -> *mut rdsys::rd_kafka_topic_partition_list_t {
        self.0.as_ptr()
    }
}

impl Drop for Tpl {
    fn drop(&mut self) {
        // SAFETY: we own the list; admin calls keep their own copies.
        unsafe { rdsys::rd_kafka_topic_partition_list_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_ListConsumerGroupOffsets_t` request object (the call copies it).
pub(in crate::kafka::admin) struct GroupOffsetsRequest(
    pub(super) NonNull<rdsys::rd_kafka_ListConsumerGroupOffsets_t>,
);

impl GroupOffsetsRequest {
    /// A request for `group`'s committed offsets of the partitions in `tpl`, or of all its
    /// partitions without one.
    pub(in crate::kafka::admin) fn new(group: &str, tpl: Option<&Tpl>) -> Result<Self, AdminError> {
        let gid = CString::new(group)
            .map_err(|_| AdminError::invalid(format!("group id {group:?} contains NUL")))?;
        let list = tpl.map_or(std::ptr::null_mut(), Tpl::ptr);
        // SAFETY: valid C string, and a valid list or NULL ("all partitions"); both are copied
        // into the new request object.
        let req = unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets_new(gid.as_ptr(), list) };
        NonNull::new(req).map(GroupOffsetsRequest).ok_or_else(|| {
            AdminError::new(None, "rd_kafka_ListConsumerGroupOffsets_new returned NULL")
        })
    }
}

impl Drop for GroupOffsetsRequest {
    fn drop(&mut self) {
        // SAFETY: we own it; rd_kafka_ListConsumerGroupOffsets keeps its own copy.
        unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_ConfigResource_t` for a DescribeConfigs request (the call copies it).
pub(in crate::kafka::admin) struct ConfigResource(
    pub(super) NonNull<rdsys::rd_kafka_ConfigResource_t>,
);

impl ConfigResource {
    /// The topic `name`, asking only for the configs named in `keys` (all of them if empty).
    pub(in crate::kafka::admin) fn topic(name: &str, keys: &[&str]) -> Result<Self, AdminError> {
        let cname = CString::new(name)
            .map_err(|_| AdminError::invalid(format!("topic name {name:?} contains NUL")))?;
        // SAFETY: valid C string, copied into the new resource.
        let p = unsafe {
            rdsys::rd_kafka_ConfigResource_new(
                rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                cname.as_ptr(),
            )
        };
        let res = NonNull::new(p).map(ConfigResource).ok_or_else(|| {
            AdminError::invalid(format!(
                "rd_kafka_ConfigResource_new rejected topic {name:?}"
            ))
        })?;
        for key in keys {
            let ckey = CString::new(*key)
                .map_err(|_| AdminError::invalid(format!("config name {key:?} contains NUL")))?;
            // A describe request sends only the names; the value must be non-NULL but is unused.
            // SAFETY: valid resource we own; both strings are copied.
            let err = unsafe {
                rdsys::rd_kafka_ConfigResource_set_config(
                    res.0.as_ptr(),
                    ckey.as_ptr(),
                    c"".as_ptr(),
                )
            };
            if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(AdminError::from_code(
                    &format!("DescribeConfigs {name:?}: config name {key:?}"),
                    err.into(),
                ));
            }
        }
        Ok(res)
    }
}

impl Drop for ConfigResource {
    fn drop(&mut self) {
        // SAFETY: we own it; rd_kafka_DescribeConfigs keeps its own copy.
        unsafe { rdsys::rd_kafka_ConfigResource_destroy(self.0.as_ptr()) }
    }
}
