//! librdkafka's search of a partition list, made cheap where it parses OffsetFetch answers.
//!
//! librdkafka builds the list of an OffsetFetch answer (committed offsets) one partition at a
//! time, looking each one up in the list built so far first (`rd_kafka_handle_OffsetFetch` →
//! `rd_kafka_topic_partition_list_find`): a linear search comparing each element with `strcmp`
//! on the topic first, quadratic in the partitions of the answer. `build.rs` links both
//! functions to the wrappers here with `--wrap` (GNU ld, lld; `__real_…` is librdkafka's own):
//!
//! - `__wrap_rd_kafka_handle_OffsetFetch` marks, on its thread, the list the parse fills;
//! - `__wrap_rd_kafka_topic_partition_list_find` answers searches of that list from an index
//!   ([`FillIndex`]), and every other search front to back, comparing the partition number
//!   first and the topic only when the numbers are equal.
//!
//! Both answer exactly what librdkafka's search answers: the first element equal in topic and
//! partition, or NULL. The index is exact because, during the parse, librdkafka only appends
//! to that list and never changes an element's topic or partition; it indexes the elements
//! appended since the last search before each search, and checks every hit.
//!
//! With the index, asking a group for all its committed offsets at once (an OffsetFetch
//! without a partition list) costs a constant per partition instead of a search of the group's
//! partitions per partition (`benches/scale.rs`, 5,000 partitions a group).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr};
#[cfg(not(test))]
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::bindings as rdsys;

type List = rdsys::rd_kafka_topic_partition_list_t;
type Elem = rdsys::rd_kafka_topic_partition_t;
/// Keys come from broker answers: a fast hasher, seeded per process.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

// The wrapper of `rd_kafka_handle_OffsetFetch` repeats the signature of an internal function of
// librdkafka 2.12.1 (`rdkafka_request.h`); another version must have it checked first.
const _: () = assert!(
    rdsys::RD_KAFKA_VERSION == 0x020c_01ff,
    "check __wrap_rd_kafka_handle_OffsetFetch's signature against this librdkafka"
);

/// Searches answered from the index, in this process (read by [`indexed_answers`]).
static INDEXED_ANSWERS: AtomicU64 = AtomicU64::new(0);

/// How many partition-list searches were answered from the index of an OffsetFetch parse in
/// this process: the tests' proof that the index serves real answers.
pub fn indexed_answers() -> u64 {
    INDEXED_ANSWERS.load(Ordering::Relaxed)
}

/// Lists shorter than this are searched front to back even during a parse.
const INDEX_FROM: usize = 32;
/// Index capacity kept between parses on a thread; larger maps are shrunk after a parse.
const KEEP_CAPACITY: usize = 8192;

thread_local! {
    /// The list the OffsetFetch parse running on this thread fills, and its index.
    static FILLING: RefCell<FillIndex> = RefCell::new(FillIndex::default());
}

/// An index of the list an OffsetFetch parse fills: (topic, partition) → first position.
struct FillIndex {
    /// `rd_kafka_handle_OffsetFetch`'s `offsets` argument (where it keeps the list it fills,
    /// NULL until it made one), or `None` outside a parse.
    offsets: Option<*mut *mut List>,
    /// The list indexed, and how many of its elements.
    list: *const List,
    indexed: usize,
    /// Topic names interned as numbers, and the last one looked up.
    topics: FastMap<Box<[u8]>, u32>,
    last_topic: Option<(Box<[u8]>, u32)>,
    /// `key(topic, partition)` → position of the first such element.
    first: FastMap<u64, u32>,
    /// Searches answered from the index in this parse, added to [`INDEXED_ANSWERS`] at its end
    /// (one atomic add per parse, not per search).
    answered: u64,
}

impl Default for FillIndex {
    fn default() -> Self {
        FillIndex {
            offsets: None,
            list: ptr::null(),
            indexed: 0,
            topics: FastMap::default(),
            last_topic: None,
            first: FastMap::default(),
            answered: 0,
        }
    }
}

impl FillIndex {
    /// A parse filling `*offsets` starts; false (nothing marked) if one is already marked.
    fn begin(&mut self, offsets: *mut *mut List) -> bool {
        if self.offsets.is_some() || offsets.is_null() {
            return false;
        }
        self.offsets = Some(offsets);
        self.reset(ptr::null());
        true
    }

    /// The parse ended: nothing is marked.
    fn end(&mut self) {
        INDEXED_ANSWERS.fetch_add(std::mem::take(&mut self.answered), Ordering::Relaxed);
        self.offsets = None;
        self.reset(ptr::null());
        if self.first.capacity() > KEEP_CAPACITY {
            self.first.shrink_to(KEEP_CAPACITY);
        }
        if self.topics.capacity() > KEEP_CAPACITY {
            self.topics.shrink_to(KEEP_CAPACITY);
        }
    }

    fn reset(&mut self, list: *const List) {
        self.list = list;
        self.indexed = 0;
        self.topics.clear();
        self.last_topic = None;
        self.first.clear();
    }

    /// The answer to a search of `list` for `topic`/`partition` when `list` is the one being
    /// filled (the first equal element or NULL); `None` when the index does not apply and the
    /// list is to be searched front to back.
    ///
    /// # Safety
    /// `list` is valid with `cnt` initialised elements whose topics are NUL-terminated, and
    /// `topic` is NULL or NUL-terminated; a marked `offsets` is the live argument of the parse
    /// running on this thread.
    unsafe fn find(
        &mut self,
        list: *const List,
        topic: *const c_char,
        partition: i32,
    ) -> Option<*mut Elem> {
        let offsets = self.offsets?;
        // SAFETY: the caller's contract: `offsets` is the running parse's live argument.
        if list.is_null() || topic.is_null() || unsafe { *offsets }.cast_const() != list {
            return None;
        }
        // SAFETY: the caller's contract; only read once the list is the one being filled.
        let topic = unsafe { CStr::from_ptr(topic) };
        // SAFETY: `list` is valid.
        let (elems, cnt) = unsafe { ((*list).elems, usize::try_from((*list).cnt).ok()?) };
        if self.list != list || cnt < self.indexed {
            self.reset(list);
        }
        if cnt < INDEX_FROM && self.indexed == 0 {
            return None;
        }
        while self.indexed < cnt {
            // SAFETY: `indexed < cnt`; element topics are NUL-terminated.
            let (name, p) = unsafe {
                let e = elems.add(self.indexed);
                (CStr::from_ptr((*e).topic), (*e).partition)
            };
            let id = self.topic_id(name.to_bytes(), true)?;
            let at = u32::try_from(self.indexed).ok()?;
            self.first.entry(key(id, p)).or_insert(at);
            self.indexed += 1;
        }
        let at = self
            .topic_id(topic.to_bytes(), false)
            .and_then(|id| self.first.get(&key(id, partition)).copied());
        let Some(at) = at else {
            self.answered += 1;
            return Some(ptr::null_mut());
        };
        // SAFETY: `at < indexed <= cnt`.
        let e = unsafe { elems.add(at as usize) };
        // Every hit is checked; a list changed behind the index's back is searched in full.
        // SAFETY: a valid element with a NUL-terminated topic.
        if unsafe { (*e).partition == partition && CStr::from_ptr((*e).topic) == topic } {
            self.answered += 1;
            Some(e)
        } else {
            self.reset(ptr::null());
            None
        }
    }

    /// The number of topic `name`, interned if `add`; `None` if unknown (or too many topics).
    fn topic_id(&mut self, name: &[u8], add: bool) -> Option<u32> {
        if let Some((last, id)) = &self.last_topic {
            if **last == *name {
                return Some(*id);
            }
        }
        let id = match self.topics.get(name) {
            Some(&id) => id,
            None if add => {
                let id = u32::try_from(self.topics.len()).ok()?;
                self.topics.insert(name.into(), id);
                id
            }
            None => return None,
        };
        self.last_topic = Some((name.into(), id));
        Some(id)
    }
}

fn key(topic: u32, partition: i32) -> u64 {
    (u64::from(topic) << 32) | u64::from(partition as u32)
}

/// `rd_kafka_topic_partition_list_find`: the first element of `list` whose partition is
/// `partition` and whose topic is `topic`, or NULL.
///
/// # Safety
/// librdkafka's contract: `list` points to a valid list whose first `cnt` elements are
/// initialised with NUL-terminated topics, and `topic` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rd_kafka_topic_partition_list_find(
    list: *const List,
    topic: *const c_char,
    partition: i32,
) -> *mut Elem {
    let indexed = FILLING
        .try_with(|f| {
            let mut f = f.try_borrow_mut().ok()?;
            // SAFETY: the contract above; `offsets` is marked only while its parse runs.
            unsafe { f.find(list, topic, partition) }
        })
        .ok()
        .flatten();
    if let Some(found) = indexed {
        return found;
    }
    // SAFETY: the contract above.
    unsafe { search(list, topic, partition) }
}

/// The front-to-back search, partition numbers compared first.
///
/// # Safety
/// As [`__wrap_rd_kafka_topic_partition_list_find`].
unsafe fn search(list: *const List, topic: *const c_char, partition: i32) -> *mut Elem {
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

/// `rd_kafka_handle_OffsetFetch` (librdkafka 2.12.1, `rdkafka_request.c`; internal, so not in
/// the bindings): its list `*offsets` is indexed while it runs. The library's unit tests are
/// linked without `--wrap`, where `__real_…` would not resolve.
///
/// # Safety
/// librdkafka's own call, with its arguments.
#[cfg(not(test))]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn __wrap_rd_kafka_handle_OffsetFetch(
    rk: *mut c_void,
    rkb: *mut c_void,
    err: c_int,
    rkbuf: *mut c_void,
    request: *mut c_void,
    offsets: *mut *mut List,
    update_toppar: u8,
    add_part: u8,
    allow_retry: u8,
) -> c_int {
    extern "C" {
        fn __real_rd_kafka_handle_OffsetFetch(
            rk: *mut c_void,
            rkb: *mut c_void,
            err: c_int,
            rkbuf: *mut c_void,
            request: *mut c_void,
            offsets: *mut *mut List,
            update_toppar: u8,
            add_part: u8,
            allow_retry: u8,
        ) -> c_int;
    }
    let marked = FILLING
        .try_with(|f| f.try_borrow_mut().is_ok_and(|mut f| f.begin(offsets)))
        .unwrap_or(false);
    // SAFETY: librdkafka's arguments, passed on unchanged.
    let result = unsafe {
        __real_rd_kafka_handle_OffsetFetch(
            rk,
            rkb,
            err,
            rkbuf,
            request,
            offsets,
            update_toppar,
            add_part,
            allow_retry,
        )
    };
    if marked {
        let _ = FILLING.try_with(|f| {
            if let Ok(mut f) = f.try_borrow_mut() {
                f.end();
            }
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// A list of `elems` (duplicates kept, in order).
    struct OwnedList(*mut List);

    impl OwnedList {
        fn new(elems: &[(&str, i32)]) -> OwnedList {
            // SAFETY: plain constructor; `add` copies the topic.
            let list = OwnedList(unsafe { rdsys::rd_kafka_topic_partition_list_new(0) });
            for e in elems {
                list.add(*e);
            }
            list
        }

        fn add(&self, (topic, partition): (&str, i32)) {
            let topic = CString::new(topic).unwrap();
            // SAFETY: the list we own; the topic is copied.
            unsafe { rdsys::rd_kafka_topic_partition_list_add(self.0, topic.as_ptr(), partition) };
        }

        fn position(&self, e: *mut Elem) -> Option<usize> {
            // SAFETY: `e` is NULL or an element of the list we own.
            (!e.is_null()).then(|| unsafe { e.offset_from((*self.0).elems) } as usize)
        }
    }

    impl Drop for OwnedList {
        fn drop(&mut self) {
            // SAFETY: we own the list.
            unsafe { rdsys::rd_kafka_topic_partition_list_destroy(self.0) }
        }
    }

    /// Librdkafka's own search (the library's unit tests are linked without `--wrap`, so here
    /// `rd_kafka_topic_partition_list_find` is librdkafka's), as a position.
    fn librdkafkas(list: &OwnedList, topic: &CStr, partition: i32) -> Option<usize> {
        // SAFETY: a valid list and a NUL-terminated topic.
        list.position(unsafe {
            rdsys::rd_kafka_topic_partition_list_find(list.0, topic.as_ptr(), partition)
        })
    }

    fn first_elem(list: &OwnedList) -> *mut Elem {
        // SAFETY: the list we own.
        unsafe { (*list.0).elems }
    }

    /// Same numbers in other topics, topics that are prefixes of others, duplicates (the first
    /// one is the answer), an empty topic name.
    const ELEMS: [(&str, i32); 10] = [
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
    const TOPICS: [&str; 7] = [
        "orders",
        "orders.v2",
        "order",
        "",
        "payments",
        "refunds",
        "ord",
    ];
    const PARTITIONS: [i32; 7] = [-1, 0, 1, 2, 3, 7, i32::MAX];

    #[test]
    fn search_answers_exactly_what_librdkafkas_answers() {
        let list = OwnedList::new(&ELEMS);
        let empty = OwnedList::new(&[]);
        let mut found = 0;
        for topic in TOPICS {
            let c = CString::new(topic).unwrap();
            for partition in PARTITIONS {
                // SAFETY: valid lists and a NUL-terminated topic; nothing is marked on this
                // thread, so the wrapper searches front to back.
                let (ours, in_empty) = unsafe {
                    (
                        __wrap_rd_kafka_topic_partition_list_find(list.0, c.as_ptr(), partition),
                        __wrap_rd_kafka_topic_partition_list_find(empty.0, c.as_ptr(), partition),
                    )
                };
                let expected = ELEMS.iter().position(|&e| e == (topic, partition));
                assert_eq!(list.position(ours), expected, "{topic:?} [{partition}]");
                assert_eq!(librdkafkas(&list, &c, partition), expected);
                assert!(in_empty.is_null());
                found += usize::from(expected.is_some());
            }
        }
        // Every distinct element of the list was found, each at its first position.
        assert_eq!(found, 8);
    }

    /// A parse as librdkafka runs it: search, append what is missing, and so on, through the
    /// index from the 32nd element on; every answer is librdkafka's, and searches of other
    /// lists meanwhile are answered front to back.
    #[test]
    fn index_answers_exactly_what_librdkafkas_search_answers_while_a_list_fills() {
        let other = OwnedList::new(&ELEMS);
        let mut filled = OwnedList::new(&[]);
        // The parse's `offsets` argument: where librdkafka keeps the list it fills.
        let offsets: *mut *mut List = Box::into_raw(Box::new(filled.0));
        let mut index = FillIndex::default();
        assert!(index.begin(offsets));
        assert!(!index.begin(offsets), "one parse at a time");
        // 3 topics × 40 partitions, each searched before it is added, the prefix topic and
        // the duplicates of ELEMS in between, and every earlier one searched again.
        let mut appended: Vec<(String, i32)> = Vec::new();
        let mut indexed_answers = 0;
        for round in 0..40 {
            for topic in ["orders", "orders.v2", "order"] {
                let wanted = (topic, round);
                let mut asks: Vec<(String, i32)> = vec![(topic.to_string(), round)];
                asks.extend(ELEMS.iter().map(|&(t, p)| (t.to_string(), p)));
                asks.push(("refunds".into(), round));
                for (t, p) in &asks {
                    let c = CString::new(t.as_str()).unwrap();
                    // SAFETY: valid lists; `offsets` is live and marked.
                    let ours = unsafe { index.find(filled.0, c.as_ptr(), *p) };
                    let expected = librdkafkas(&filled, &c, *p);
                    match ours {
                        Some(e) => {
                            assert_eq!(filled.position(e), expected, "{t:?} [{p}]");
                            indexed_answers += 1;
                        }
                        None => assert!(appended.len() < INDEX_FROM, "{t:?} [{p}]"),
                    }
                    // SAFETY: another valid list: never indexed.
                    assert!(unsafe { index.find(other.0, c.as_ptr(), *p) }.is_none());
                }
                if librdkafkas(&filled, &CString::new(topic).unwrap(), round).is_none() {
                    filled.add(wanted);
                    appended.push((topic.to_string(), round));
                }
                if round == 20 && topic == "order" {
                    // Duplicates appended: searches keep answering the first one.
                    for e in ELEMS {
                        filled.add(e);
                        appended.push((e.0.to_string(), e.1));
                    }
                }
            }
        }
        assert_eq!(appended.len(), 130);
        assert!(indexed_answers > 1000, "{indexed_answers}");
        assert_eq!(index.answered, indexed_answers, "counted per parse");
        // librdkafka never changes the list otherwise during a parse; if it did, the index
        // would notice. A list that shrank is indexed anew:
        let c = CString::new("orders").unwrap();
        // SAFETY: as above (this search indexes all 130 elements).
        let first = unsafe { index.find(filled.0, c.as_ptr(), 0) };
        assert_eq!(first, Some(first_elem(&filled)));
        // SAFETY: the list we own; deleting its first element, ("orders", 0).
        unsafe { rdsys::rd_kafka_topic_partition_list_del_by_idx(filled.0, 0) };
        // SAFETY: as above.
        let after = unsafe { index.find(filled.0, c.as_ptr(), 0) }.expect("indexed anew");
        assert_eq!(filled.position(after), librdkafkas(&filled, &c, 0));
        assert_eq!(filled.position(after), Some(20 * 3 + 2));
        // One that changed at the same length gives a hit that is checked, found stale, and
        // answered by the search front to back instead.
        // SAFETY: as above; deleting ("orders.v2", 0), so ("order", 0) moves from 1 to 0.
        unsafe { rdsys::rd_kafka_topic_partition_list_del_by_idx(filled.0, 0) };
        filled.add(("refunds", 1));
        let c1 = CString::new("order").unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { index.find(filled.0, c1.as_ptr(), 0) }, None);
        assert_eq!(librdkafkas(&filled, &c1, 0), Some(0));
        // Another list in `*offsets` (librdkafka made a new one) is indexed from scratch.
        filled = OwnedList::new(&[("orders", 5)]);
        // SAFETY: `offsets` is the box made above.
        unsafe { *offsets = filled.0 };
        // SAFETY: as above.
        let short = unsafe { index.find(filled.0, c.as_ptr(), 5) };
        assert!(short.is_none(), "short lists are searched front to back");
        index.end();
        // SAFETY: nothing is marked now.
        assert!(unsafe { index.find(other.0, c.as_ptr(), 0) }.is_none());
        assert!(index.first.is_empty());
        // SAFETY: made by `Box::into_raw` above, no longer marked.
        drop(unsafe { Box::from_raw(offsets) });
    }
}
