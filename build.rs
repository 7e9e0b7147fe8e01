//! Links warren's wrappers of two librdkafka functions in place of librdkafka's (see
//! `src/kafka/admin/ffi/partition_find.rs`): GNU ld and lld redirect every reference between
//! object files to `__wrap_…`, and `__real_…` to librdkafka's own. Only binaries and
//! integration tests are linked so: they link warren's library, which defines the wrappers;
//! benches (some link rdkafka without warren's library) and the library's unit tests (which
//! compare warren's search with librdkafka's, and do not compile the wrapper that calls
//! `__real_…`) are not, and where warren's library is linked without `--wrap` the linker drops
//! the unreferenced wrappers (so benches do not link with `-C link-dead-code`). Elsewhere
//! (macOS's linker has no `--wrap`) librdkafka's own search is used, which is slower but gives
//! the same answers, and groups are asked for listed partitions (`WHOLE_GROUPS_CHEAP` in
//! `src/kafka/admin/mod.rs`).

/// librdkafka's functions linked to warren's wrappers.
const WRAPPED: [&str; 2] = [
    "rd_kafka_topic_partition_list_find",
    "rd_kafka_handle_OffsetFetch",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(warren_wrap_find)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-cfg=warren_wrap_find");
        for targets in ["bins", "tests"] {
            for function in WRAPPED {
                println!("cargo:rustc-link-arg-{targets}=-Wl,--wrap={function}");
            }
        }
    }
}
