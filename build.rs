//! Links warren's own `rd_kafka_topic_partition_list_find` in place of librdkafka's (see
//! `src/kafka/admin/ffi/partition_find.rs`): GNU ld and lld redirect every reference between
//! object files to `__wrap_rd_kafka_topic_partition_list_find`. Only binaries and integration
//! tests are linked so: they link warren's library, which defines it; benches that link
//! rdkafka without warren's library, and the library's unit tests (which compare the two
//! searches), are not. Elsewhere (macOS's linker has no `--wrap`) librdkafka's own search is
//! used, which is slower but gives the same answers.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(warren_wrap_find)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-cfg=warren_wrap_find");
        for targets in ["bins", "tests"] {
            println!(
                "cargo:rustc-link-arg-{targets}=-Wl,--wrap=rd_kafka_topic_partition_list_find"
            );
        }
    }
}
