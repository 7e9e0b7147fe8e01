//! Issue 17, failures 4 (its configuration half), 5, 6 and 7: configuration that cannot work is
//! refused by `warren check-config` and by `warren run`, with exit status 2 and an error naming
//! the key, never showing a secret, and promptly (each run is under the watchdog of
//! [`crate::config::run_warren`]). No broker is needed: both stop at the configuration.

use std::path::{Path, PathBuf};

use crate::common::temp_dir;
use crate::config::{run_warren, text};

/// A secret that must never appear in any output.
const CANARY: &str = "canary-hunter2-do-not-print";

/// A cluster with `extra` lines, ending in its `[clusters.client]` table (more properties may
/// follow), which carries [`CANARY`] as the password.
fn cluster(name: &str, servers: &str, extra: &str) -> String {
    format!(
        "[[clusters]]\nname = \"{name}\"\nbootstrap_servers = \"{servers}\"\n{extra}\n\
         [clusters.client]\n\"sasl.password\" = \"{CANARY}\"\n"
    )
}

/// Runs `check-config` and `run` with the configuration at `file`; each must exit with status 2,
/// print nothing on stdout, print `error: config key `KEY`: MESSAGE…` on stderr (`message` is
/// the start of MESSAGE), and never show [`CANARY`].
fn assert_refused(file: &Path, key: &str, message: &str) {
    let wanted = format!("error: config key `{key}`: {message}");
    for command in ["check-config", "run"] {
        let out = run_warren(command, Some(file), &[]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(2),
            "warren {command}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            stderr.lines().any(|l| l.starts_with(&wanted)),
            "warren {command}: no line starting with {wanted:?} in:\n{stderr}"
        );
        assert_eq!(stdout, "", "warren {command}");
        assert!(
            !stderr.contains(CANARY),
            "warren {command}: secret shown:\n{stderr}"
        );
    }
}

/// Top-level `lines`, then the cluster `prod` (see [`cluster`]).
fn with_top(lines: &str) -> String {
    format!("{lines}\n{}", cluster("prod", "k1:9092", ""))
}

/// Writes `contents` to `warren.toml` in a fresh directory, kept while the guard lives.
fn config_file(contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir("reliability-config");
    let path = dir.path().join("warren.toml");
    std::fs::write(&path, contents).expect("write config");
    (dir, path)
}

#[test]
fn item4_retention_that_keeps_no_series_is_refused() {
    for retention in ["0s", "500ms", "4294967296s"] {
        let (_dir, file) = config_file(&with_top(&format!("retention = \"{retention}\"")));
        assert_refused(
            &file,
            "retention",
            "must be whole seconds, at least twice the longest poll_interval (clusters[0]: 10s), \
             so at least 20s, and at most 10years (the store counts time in 32-bit seconds), got",
        );
    }
}

#[test]
fn item5_config_that_cannot_work_is_refused_naming_the_key() {
    let cases = [
        (
            cluster("prod", "k1:9092", "") + "\"no.such.property\" = \"1\"\n",
            "clusters[0].client.\"no.such.property\"",
            "librdkafka rejects it: No such configuration property: \"no.such.property\"",
        ),
        (
            cluster("prod", "k1:9092", "") + "\"security.protocol\" = \"CARRIER_PIGEON\"\n",
            "clusters[0].client.\"security.protocol\"",
            "librdkafka rejects it: Invalid value \"CARRIER_PIGEON\" for configuration property \
             \"security.protocol\"",
        ),
        (
            cluster("prod", "k1:9092", "request_timeout = \"25days\""),
            "clusters[0].request_timeout",
            "must be at least 100ms and at most 1h, got 25days",
        ),
        (
            cluster("prod", "host:99999", ""),
            "clusters[0].bootstrap_servers",
            "broker \"host:99999\": port \"99999\" is not a number from 1 to 65535",
        ),
        (
            cluster("a", "k1:9092", "") + &cluster("A", "k1:9092", ""),
            "clusters[1].name",
            "cluster name \"A\" clashes with \"a\" (clusters[0])",
        ),
    ];
    for (contents, key, message) in cases {
        let (_dir, file) = config_file(&contents);
        assert_refused(&file, key, message);
    }
}

#[test]
fn item6_integer_overflow_names_its_key() {
    let (_dir, file) = config_file(&with_top("[window]\npoints = 99999999999999999999"));
    assert_refused(
        &file,
        "window.points",
        &format!(
            "{} is not valid TOML (line 2, column 10): number too large to fit in target type",
            file.display()
        ),
    );
}

#[test]
fn item6_librdkafka_sensitive_properties_are_masked() {
    let (_dir, file) = config_file(
        &(cluster("prod", "k1:9092", "")
            + &format!("\"sasl.oauthbearer.config\" = \"{CANARY}\"\n")),
    );
    let out = run_warren("check-config", Some(&file), &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("\"sasl.oauthbearer.config\" = \"***\"\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "{stdout}{stderr}"
    );

    // This one needs a librdkafka built with OAuth/OIDC (libcurl): masked where it is,
    // refused by name (and still not shown) where it is not.
    let (_dir, file) = config_file(
        &(cluster("prod", "k1:9092", "")
            + &format!("\"sasl.oauthbearer.assertion.private.key.passphrase\" = \"{CANARY}\"\n")),
    );
    let out = run_warren("check-config", Some(&file), &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "{stdout}{stderr}"
    );
    match out.status.code() {
        Some(0) => assert!(
            stdout.contains("\"sasl.oauthbearer.assertion.private.key.passphrase\" = \"***\"\n"),
            "{stdout}"
        ),
        _ => assert_refused(
            &file,
            "clusters[0].client.\"sasl.oauthbearer.assertion.private.key.passphrase\"",
            "librdkafka rejects it: Configuration property \
             \"sasl.oauthbearer.assertion.private.key.passphrase\" not supported in this build",
        ),
    }
}

#[test]
fn item7_special_files_as_config_are_refused_promptly() {
    let dir = temp_dir("reliability-config-special");
    let fifo = dir.path().join("warren.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", fifo.display());
    assert_refused(
        &fifo,
        "config",
        &format!(
            "{} is a FIFO (named pipe), not a regular file; expected the path of a TOML file",
            fifo.display()
        ),
    );
    assert_refused(
        Path::new("/dev/zero"),
        "config",
        "/dev/zero is a character device, not a regular file; expected the path of a TOML file",
    );
    let big = dir.path().join("big.toml");
    let padding = format!("#{}\n", "x".repeat(2 * 1024 * 1024));
    std::fs::write(&big, cluster("prod", "k1:9092", "") + &padding).expect("write big config");
    assert_refused(
        &big,
        "config",
        &format!(
            "{} is {} bytes; a configuration file may be at most 1 MiB (1048576 bytes)",
            big.display(),
            std::fs::metadata(&big).expect("size").len()
        ),
    );
}
