//! librdkafka's search of a partition list, with the comparisons in the cheap order.
//!
//! librdkafka parses each OffsetFetch answer by looking every partition of it up in the
//! request's list, front to back, comparing each element with `strcmp` on the topic first
//! (through a function pointer) and the partition number second
//! (`rd_kafka_handle_OffsetFetch` → `rd_kafka_topic_partition_list_find`). That was 18–22% of
//! a steady poll's CPU at 100,000 group-partitions (`benches/scale.rs`, `perf record`). This
//! search compares the partition number first and the topic only when the numbers are equal,
//! so it answers exactly what librdkafka's does (the first element equal in both) at a
//! fraction of the cost. `build.rs` links it in place of librdkafka's with `--wrap` (GNU ld,
//! lld); `__real_rd_kafka_topic_partition_list_find` is librdkafka's own.

use std::ffi::c_char;
use std::ptr;

use rdkafka::bindings as rdsys;

/// `rd_kafka_topic_partition_list_find`: the first element of `list` whose partition is
/// `partition` and whose topic is `topic`, or NULL.
///
/// # Safety
/// librdkafka's contract: `list` points to a valid list whose first `cnt` elements are
/// initialised with NUL-terminated topics, and `topic` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rd_kafka_topic_partition_list_find(
    list: *const rdsys::rd_kafka_topic_partition_list_t,
    topic: *const c_char,
    partition: i32,
) -> *mut rdsys::rd_kafka_topic_partition_t {
    // SAFETY: per the contract, `list` is valid and `elems` holds `cnt` initialised elements.
    let (elems, cnt) = unsafe { ((*list).elems, (*list).cnt) };
    let Ok(cnt) = usize::try_from(cnt) else {
        return ptr::null_mut();
    };
    for i in 0..cnt {
        // SAFETY: `i < cnt`; both topics are NUL-terminated C strings.
        unsafe {
            let elem = elems.add(i);
            if (*elem).partition == partition && libc_strcmp((*elem).topic, topic) == 0 {
                return elem;
            }
        }
    }
    ptr::null_mut()
}

extern "C" {
    #[link_name = "strcmp"]
    fn libc_strcmp(a: *const c_char, b: *const c_char) -> i32;
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// A list of `elems` (duplicates kept, in order).
    struct List(*mut rdsys::rd_kafka_topic_partition_list_t);

    impl List {
        fn new(elems: &[(&str, i32)]) -> List {
            // SAFETY: plain constructor and adds to the list we own; topics are copied.
            unsafe {
                let list = rdsys::rd_kafka_topic_partition_list_new(elems.len() as i32);
                for (topic, partition) in elems {
                    let topic = CString::new(*topic).unwrap();
                    rdsys::rd_kafka_topic_partition_list_add(list, topic.as_ptr(), *partition);
                }
                List(list)
            }
        }
    }

    impl Drop for List {
        fn drop(&mut self) {
            // SAFETY: we own the list.
            unsafe { rdsys::rd_kafka_topic_partition_list_destroy(self.0) }
        }
    }

    /// The library's unit tests are linked without `--wrap` (`build.rs` wraps binaries and
    /// integration tests; `tests/it/kafka.rs` checks that there librdkafka calls this search),
    /// so here `rd_kafka_topic_partition_list_find` is librdkafka's own.
    #[test]
    fn answers_exactly_what_librdkafkas_search_answers() {
        // Same numbers in other topics, topics that are prefixes of others, duplicates (the
        // first one is the answer), an empty topic name.
        let elems = [
            ("orders", 0),
            ("orders", 1),
            ("orders.v2", 1),
            ("order", 1),
            ("orders", 1),
            ("", 0),
            ("payments", 7),
            ("orders", 2),
            ("payments", 7),
            ("orders", -1),
        ];
        let list = List::new(&elems);
        let empty = List::new(&[]);
        let topics = [
            "orders",
            "orders.v2",
            "order",
            "",
            "payments",
            "refunds",
            "ord",
        ];
        let mut found = 0;
        for topic in topics {
            let c = CString::new(topic).unwrap();
            for partition in [-1, 0, 1, 2, 3, 7, i32::MAX] {
                // SAFETY: valid lists and a NUL-terminated topic.
                let (ours, theirs, in_empty) = unsafe {
                    (
                        __wrap_rd_kafka_topic_partition_list_find(list.0, c.as_ptr(), partition),
                        rdsys::rd_kafka_topic_partition_list_find(list.0, c.as_ptr(), partition),
                        __wrap_rd_kafka_topic_partition_list_find(empty.0, c.as_ptr(), partition),
                    )
                };
                assert_eq!(ours, theirs, "{topic:?} [{partition}]");
                assert!(in_empty.is_null());
                let expected = elems.iter().position(|&e| e == (topic, partition));
                // SAFETY: `elems` of the list we own.
                let at = expected.map(|i| unsafe { (*list.0).elems.add(i) });
                assert_eq!(
                    ours,
                    at.unwrap_or(ptr::null_mut()),
                    "{topic:?} [{partition}]"
                );
                found += usize::from(expected.is_some());
            }
        }
        // Every distinct element of the list was found, each at its first position.
        assert_eq!(found, 8);
    }
}
