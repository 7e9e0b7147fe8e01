//! Reading result events: [`Event`] owns a polled admin result; its readers copy what it says
//! into the plain rows of [`super::super::parse`] while it is borrowed.

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;
use std::sync::Arc;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use super::super::parse::{
    Answer, ConfigEntryRow, ConfigResourceRow, CoordinatorRow, DescriptionRow, ErrorText, GroupRow,
    GroupsRows, ListingRow, MemberRow, PartitionRow,
};
use super::{cstr_lossy, error_text};
use crate::model::TopicPartition;

/// An admin result event polled from our queue; everything read from it borrows from it.
pub(in super::super) struct Event(pub(super) NonNull<rdsys::rd_kafka_event_t>);

// SAFETY: a polled event is owned solely by us and librdkafka no longer touches it.
unsafe impl Send for Event {}

impl Event {
    pub(super) fn ptr(&self) -> *mut rdsys::rd_kafka_event_t {
        self.0.as_ptr()
    }

    pub(super) fn event_type(&self) -> rdsys::rd_kafka_event_type_t {
        // SAFETY: valid event.
        unsafe { rdsys::rd_kafka_event_type(self.ptr()) }
    }

    /// The event's type and whole-call error, then (if it is the `expected` type and the
    /// call did not fail) its rows, read by `rows`.
    fn answer<T>(&self, expected: c_int, rows: impl FnOnce() -> Option<T>) -> Answer<T> {
        let ty = self.event_type();
        if ty != expected {
            return Answer::WrongType(ty);
        }
        // SAFETY: valid event.
        let err = unsafe { rdsys::rd_kafka_event_error(self.ptr()) };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: valid event; the string borrows from it and is copied at once.
            let text = unsafe { cstr_lossy(rdsys::rd_kafka_event_error_string(self.ptr())) };
            return Answer::Failed(ErrorText {
                code: err.into(),
                text,
            });
        }
        Answer::Rows(rows())
    }

    /// Views a C array of `cnt` pointers as a slice tied to this event's lifetime.
    ///
    /// # Safety
    /// `arr` must be null or point to `cnt` valid elements owned by this event.
    unsafe fn array<T>(&self, arr: *mut *const T, cnt: usize) -> &[*const T] {
        if arr.is_null() || cnt == 0 {
            return &[];
        }
        // SAFETY: per the caller; the event outlives the returned borrow.
        unsafe { std::slice::from_raw_parts(arr, cnt) }
    }

    /// Views a topic-partition list owned by this event.
    ///
    /// # Safety
    /// `list` must be null or a valid list owned by this event.
    unsafe fn partitions(
        &self,
        list: *const rdsys::rd_kafka_topic_partition_list_t,
    ) -> &[rdsys::rd_kafka_topic_partition_t] {
        if list.is_null() {
            return &[];
        }
        // SAFETY: per the caller the list is valid; elems/cnt describe its array.
        unsafe {
            let l = &*list;
            if l.elems.is_null() || l.cnt <= 0 {
                return &[];
            }
            std::slice::from_raw_parts(l.elems, l.cnt as usize)
        }
    }

    /// The result of the `expected` event type as rows: `result` gets it from the event,
    /// `elements` its array, and `read` copies each non-null element (`None`: skip it).
    ///
    /// # Safety
    /// `result` and `elements` must be librdkafka's accessors for the `expected` result type,
    /// and `read` must only copy from the element it is given (it borrows from the event).
    unsafe fn elements<R, E, T>(
        &self,
        expected: c_int,
        result: unsafe extern "C" fn(*mut rdsys::rd_kafka_event_t) -> *const R,
        elements: unsafe extern "C" fn(*const R, *mut usize) -> *mut *const E,
        mut read: impl FnMut(*const E) -> Option<T>,
    ) -> Answer<Vec<T>> {
        self.answer(expected, || {
            // SAFETY: the event type was checked; `result` is its accessor (per the caller).
            let res = unsafe { result(self.ptr()) };
            if res.is_null() {
                return None;
            }
            let mut cnt = 0usize;
            // SAFETY: valid result; the array and its elements borrow from the event.
            let elems = unsafe { self.array(elements(res, &mut cnt), cnt) };
            Some(
                elems
                    .iter()
                    .filter(|e| !e.is_null())
                    .filter_map(|&e| read(e))
                    .collect(),
            )
        })
    }

    /// A ListOffsets result: one row per result info, in result order.
    pub(in super::super) fn list_offsets(&self) -> Answer<Vec<PartitionRow>> {
        let mut topics = None;
        let read = |info| {
            // SAFETY: valid info owned by the event; so is the partition it returns.
            let tp =
                unsafe { rdsys::rd_kafka_ListOffsetsResultInfo_topic_partition(info).as_ref() }?;
            // SAFETY: an element of a list owned by the event.
            Some(unsafe { partition_row(tp, &mut topics) })
        };
        // SAFETY: the accessors of a ListOffsets result; `read` copies from its info only.
        unsafe {
            self.elements(
                rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT,
                rdsys::rd_kafka_event_ListOffsets_result,
                rdsys::rd_kafka_ListOffsets_result_infos,
                read,
            )
        }
    }

    /// A ListConsumerGroupOffsets result: one entry per group result (`None` for a null one).
    pub(in super::super) fn group_offsets(&self) -> Answer<Vec<Option<GroupRow>>> {
        self.answer(
            rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
            || {
                // SAFETY: checked event type.
                let res =
                    unsafe { rdsys::rd_kafka_event_ListConsumerGroupOffsets_result(self.ptr()) };
                if res.is_null() {
                    return None;
                }
                let mut cnt = 0usize;
                // SAFETY: valid result; the array borrows from the event.
                let groups = unsafe {
                    let arr = rdsys::rd_kafka_ListConsumerGroupOffsets_result_groups(res, &mut cnt);
                    self.array(arr, cnt)
                };
                let rows = groups
                    .iter()
                    .map(|&g| {
                        if g.is_null() {
                            return None;
                        }
                        // SAFETY: valid group result owned by the event; the error (if any)
                        // borrows from it.
                        let err = unsafe { rdsys::rd_kafka_group_result_error(g) };
                        // SAFETY: non-null error owned by the event.
                        let error = (!err.is_null()).then(|| unsafe { error_text(err) });
                        // SAFETY: valid group result; the list borrows from the event.
                        let parts =
                            unsafe { self.partitions(rdsys::rd_kafka_group_result_partitions(g)) };
                        let mut topics = None;
                        let partitions = parts
                            .iter()
                            // SAFETY: elements of a list owned by the event.
                            .map(|tp| unsafe { partition_row(tp, &mut topics) })
                            .collect();
                        Some(GroupRow { error, partitions })
                    })
                    .collect();
                Some(rows)
            },
        )
    }

    /// A ListConsumerGroups result: the valid listings and the per-broker errors.
    pub(in super::super) fn list_groups(&self) -> Answer<GroupsRows> {
        self.answer(rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, || {
            // SAFETY: checked event type.
            let res = unsafe { rdsys::rd_kafka_event_ListConsumerGroups_result(self.ptr()) };
            if res.is_null() {
                return None;
            }
            let (mut nv, mut ne) = (0usize, 0usize);
            // SAFETY: valid result; both arrays borrow from the event.
            let (valid, errors) = unsafe {
                let v = rdsys::rd_kafka_ListConsumerGroups_result_valid(res, &mut nv);
                let e = rdsys::rd_kafka_ListConsumerGroups_result_errors(res, &mut ne);
                (self.array(v, nv), self.array(e, ne))
            };
            let valid = valid
                .iter()
                .filter(|l| !l.is_null())
                .map(|&l| {
                    // SAFETY: valid listing owned by the event; strings are copied at once; the
                    // state name is a static string.
                    unsafe {
                        ListingRow {
                            id: cstr_lossy(rdsys::rd_kafka_ConsumerGroupListing_group_id(l)),
                            state: cstr_lossy(rdsys::rd_kafka_consumer_group_state_name(
                                rdsys::rd_kafka_ConsumerGroupListing_state(l),
                            )),
                            simple: rdsys::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(
                                l,
                            ) != 0,
                        }
                    }
                })
                .collect();
            let errors = errors
                .iter()
                .filter(|e| !e.is_null())
                // SAFETY: valid error owned by the event, copied at once.
                .map(|&e| unsafe { error_text(e) })
                .collect();
            Some(GroupsRows { valid, errors })
        })
    }
}

impl Event {
    /// A DescribeConsumerGroups result: one row per group description, in result order.
    pub(in super::super) fn describe_groups(&self) -> Answer<Vec<DescriptionRow>> {
        // SAFETY: a valid description owned by the event.
        let read = |g| Some(unsafe { self.description(g) });
        // SAFETY: the accessors of a DescribeConsumerGroups result; `read` copies only.
        unsafe {
            self.elements(
                rdsys::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
                rdsys::rd_kafka_event_DescribeConsumerGroups_result,
                rdsys::rd_kafka_DescribeConsumerGroups_result_groups,
                read,
            )
        }
    }

    /// Copies one group description.
    ///
    /// # Safety
    /// `g` must be a valid description owned by this event.
    unsafe fn description(
        &self,
        g: *const rdsys::rd_kafka_ConsumerGroupDescription_t,
    ) -> DescriptionRow {
        // SAFETY: (whole body) `g` is valid per the caller; every string, node, member and
        // list read from it borrows from the event and is copied before returning; state
        // names are static strings.
        unsafe {
            let err = rdsys::rd_kafka_ConsumerGroupDescription_error(g);
            let node = rdsys::rd_kafka_ConsumerGroupDescription_coordinator(g);
            let coordinator = (!node.is_null()).then(|| CoordinatorRow {
                id: rdsys::rd_kafka_Node_id(node),
                host: cstr_lossy(rdsys::rd_kafka_Node_host(node)),
                port: rdsys::rd_kafka_Node_port(node),
            });
            let members = (0..rdsys::rd_kafka_ConsumerGroupDescription_member_count(g))
                .map(|i| rdsys::rd_kafka_ConsumerGroupDescription_member(g, i))
                .filter(|m| !m.is_null())
                .map(|m| {
                    let instance = rdsys::rd_kafka_MemberDescription_group_instance_id(m);
                    let assignment = rdsys::rd_kafka_MemberDescription_assignment(m);
                    let list = if assignment.is_null() {
                        std::ptr::null()
                    } else {
                        rdsys::rd_kafka_MemberAssignment_partitions(assignment)
                    };
                    let mut topics = None;
                    MemberRow {
                        member_id: cstr_lossy(rdsys::rd_kafka_MemberDescription_consumer_id(m)),
                        instance_id: (!instance.is_null()).then(|| cstr_lossy(instance)),
                        client_id: cstr_lossy(rdsys::rd_kafka_MemberDescription_client_id(m)),
                        host: cstr_lossy(rdsys::rd_kafka_MemberDescription_host(m)),
                        assignment: self
                            .partitions(list)
                            .iter()
                            .map(|tp| partition_row(tp, &mut topics).tp)
                            .collect(),
                    }
                })
                .collect();
            DescriptionRow {
                id: cstr_lossy(rdsys::rd_kafka_ConsumerGroupDescription_group_id(g)),
                error: (!err.is_null()).then(|| error_text(err)),
                state: cstr_lossy(rdsys::rd_kafka_consumer_group_state_name(
                    rdsys::rd_kafka_ConsumerGroupDescription_state(g),
                )),
                protocol: cstr_lossy(rdsys::rd_kafka_ConsumerGroupDescription_partition_assignor(
                    g,
                )),
                simple: rdsys::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) != 0,
                coordinator,
                members,
            }
        }
    }
}

impl Event {
    /// A DescribeConfigs result: one row per resource, with only the entries named in `keys`
    /// (brokers that ignore the requested names send all of a resource's configs: skipping
    /// the others here keeps copying to what warren reads).
    pub(in super::super) fn describe_configs(
        &self,
        keys: &[&str],
    ) -> Answer<Vec<ConfigResourceRow>> {
        // SAFETY: a valid resource owned by the event.
        let read = |r| Some(unsafe { self.config_resource(r, keys) });
        // SAFETY: the accessors of a DescribeConfigs result (librdkafka leaves NULL the slot of
        // a resource the broker did not answer for; those are skipped); `read` copies only.
        unsafe {
            self.elements(
                rdsys::RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT,
                rdsys::rd_kafka_event_DescribeConfigs_result,
                rdsys::rd_kafka_DescribeConfigs_result_resources,
                read,
            )
        }
    }

    /// Copies one resource and its entries named in `keys`.
    ///
    /// # Safety
    /// `r` must be a valid resource owned by this event.
    unsafe fn config_resource(
        &self,
        r: *const rdsys::rd_kafka_ConfigResource_t,
        keys: &[&str],
    ) -> ConfigResourceRow {
        // SAFETY: (whole body) `r` is valid per the caller; its error string, entry array,
        // entries and their strings borrow from the event and are copied before returning.
        unsafe {
            let err = rdsys::rd_kafka_ConfigResource_error(r);
            let error =
                (err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| {
                    ErrorText {
                        code: err.into(),
                        text: cstr_lossy(rdsys::rd_kafka_ConfigResource_error_string(r)),
                    }
                });
            let mut cnt = 0usize;
            let entries = self.array(rdsys::rd_kafka_ConfigResource_configs(r, &mut cnt), cnt);
            let entries = entries
                .iter()
                .filter(|e| !e.is_null())
                .filter_map(|&e| {
                    let name = rdsys::rd_kafka_ConfigEntry_name(e);
                    if name.is_null() {
                        return None;
                    }
                    let name = CStr::from_ptr(name).to_bytes();
                    let key = keys.iter().find(|k| k.as_bytes() == name)?;
                    let value = rdsys::rd_kafka_ConfigEntry_value(e);
                    Some(ConfigEntryRow {
                        name: (*key).to_owned(),
                        value: (!value.is_null()).then(|| cstr_lossy(value)),
                    })
                })
                .collect();
            ConfigResourceRow {
                name: cstr_lossy(rdsys::rd_kafka_ConfigResource_name(r)),
                error,
                entries,
            }
        }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event; nothing borrowed from it outlives `&self` borrows.
        unsafe { rdsys::rd_kafka_event_destroy(self.0.as_ptr()) }
    }
}

/// Copies a topic-partition element. Consecutive elements usually share a topic: `last`
/// carries the previous topic name, reused when equal (one allocation per run of a topic).
///
/// # Safety
/// `tp.topic` must be null or a valid C string.
unsafe fn partition_row(
    tp: &rdsys::rd_kafka_topic_partition_t,
    last: &mut Option<Arc<str>>,
) -> PartitionRow {
    let bytes = if tp.topic.is_null() {
        &[][..]
    } else {
        // SAFETY: non-null and valid per the caller.
        unsafe { CStr::from_ptr(tp.topic) }.to_bytes()
    };
    let topic = match last {
        Some(t) if t.as_bytes() == bytes => Arc::clone(t),
        _ => {
            let t: Arc<str> = Arc::from(String::from_utf8_lossy(bytes));
            *last = Some(Arc::clone(&t));
            t
        }
    };
    let error = (tp.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .then(|| RDKafkaErrorCode::from(tp.err));
    PartitionRow {
        tp: TopicPartition {
            topic,
            partition: tp.partition,
        },
        error,
        offset: tp.offset,
    }
}
