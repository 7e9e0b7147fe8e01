//! The external tools the suites run (the test broker, promtool, prometheus, schemathesis,
//! systemd-analyze, podman, helm, kubectl, node, chromium, ...), where each is found, and the rule for a
//! missing one: the suite is skipped with one line on stderr, or fails when
//! `WARREN_REQUIRE_TOOLS=1` (`.ci/run` sets it, so CI never skips). Also repository paths and
//! running a program for its output.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Set to `1` to turn every skipped suite into a failure.
pub const REQUIRE_VAR: &str = "WARREN_REQUIRE_TOOLS";

/// Where a tool is, or why it is not there (what was looked for, and how to install it).
pub type Lookup = Result<PathBuf, String>;

/// Whether `suite` can run: every lookup in `needs` finds its tool. When one does not, the first
/// call prints `skipped suite SUITE: REASON` to stderr (once per suite, straight to the
/// process's stderr so that cargo's output capture does not hide it) and every call returns
/// false, so the test returns early and passes; with `WARREN_REQUIRE_TOOLS=1` every call panics
/// with the same line instead.
///
/// ```ignore
/// if !tools::suite("kafka", &[tools::broker, tools::promtool]) {
///     return;
/// }
/// ```
pub fn suite(name: &'static str, needs: &[fn() -> Lookup]) -> bool {
    static SEEN: Mutex<BTreeMap<&'static str, Option<String>>> = Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let first = !seen.contains_key(name);
    let missing = seen
        .entry(name)
        .or_insert_with(|| needs.iter().find_map(|lookup| lookup().err()))
        .clone();
    drop(seen);
    let Some(reason) = missing else {
        return true;
    };
    let line = format!("skipped suite {name}: {reason}");
    if required() {
        panic!("{line} ({REQUIRE_VAR}=1: a missing tool is a failure)");
    }
    if first {
        // Not eprintln!: the test harness captures that for passing tests.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    false
}

/// `WARREN_REQUIRE_TOOLS=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// The lookup's path; panics with its reason (for use after [`suite`] said yes).
pub fn path(lookup: fn() -> Lookup) -> PathBuf {
    lookup().unwrap_or_else(|reason| panic!("{reason}"))
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
}

/// `program` in a directory of `PATH`.
pub fn on_path(program: &str, hint: &str) -> Lookup {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| format!("{program} not found on PATH ({hint})"))
}

/// `path` if it is a file, else the reason naming it and `hint`.
fn file(what: &str, path: PathBuf, hint: &str) -> Lookup {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{what} not found at {} ({hint})", path.display()))
    }
}

/// The test broker, nisshi 0.8.1: `$WARREN_TEST_BROKER`, else `bin/nisshi` under
/// `$WARREN_TEST_BROKER_ROOT` (default `~/.cache/warren/test-broker`, where `.ci/run` builds it).
pub fn broker() -> Lookup {
    const HINT: &str = "run .ci/run, which builds nisshi 0.8.1 there, or set WARREN_TEST_BROKER";
    if let Some(p) = std::env::var_os("WARREN_TEST_BROKER") {
        return file("test broker ($WARREN_TEST_BROKER)", p.into(), HINT);
    }
    let root = std::env::var_os("WARREN_TEST_BROKER_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/warren/test-broker"));
    file("test broker", root.join("bin/nisshi"), HINT)
}

const APT_PROMETHEUS: &str = "apt-get install prometheus; .ci/run does";

/// `promtool` on PATH (Debian package `prometheus`).
pub fn promtool() -> Lookup {
    on_path("promtool", APT_PROMETHEUS)
}

/// `prometheus` on PATH (Debian package `prometheus`).
pub fn prometheus() -> Lookup {
    on_path("prometheus", APT_PROMETHEUS)
}

/// `openssl` on PATH (Debian package `openssl`): makes test certificates.
pub fn openssl() -> Lookup {
    on_path("openssl", "apt-get install openssl; .ci/run does")
}

/// `stunnel4` on PATH (Debian package `stunnel4`): a TLS endpoint that requires client
/// certificates, in front of the test broker (tests/it/kafka_tls.rs).
pub fn stunnel() -> Lookup {
    on_path("stunnel4", "apt-get install stunnel4; .ci/run does")
}

/// `curl` on PATH (Debian package `curl`).
pub fn curl() -> Lookup {
    on_path("curl", "apt-get install curl; .ci/run does")
}

/// `systemd-analyze` on PATH (Debian package `systemd`).
pub fn systemd_analyze() -> Lookup {
    on_path("systemd-analyze", "apt-get install systemd; .ci/run does")
}

const APT_PODMAN: &str = "apt-get install podman runc mmdebstrap; .ci/run does";

/// `podman` on PATH.
pub fn podman() -> Lookup {
    on_path("podman", APT_PODMAN)
}

/// `runc` on PATH (podman's runtime here).
pub fn runc() -> Lookup {
    on_path("runc", APT_PODMAN)
}

/// `mmdebstrap` on PATH (makes the local base images).
pub fn mmdebstrap() -> Lookup {
    on_path("mmdebstrap", APT_PODMAN)
}

const APT_CHROMIUM: &str = "apt-get install chromium chromium-driver; .ci/run does";

/// `chromium` on PATH (Debian package `chromium`): opens the status page (tests/it/page.rs).
pub fn chromium() -> Lookup {
    on_path("chromium", APT_CHROMIUM)
}

/// `chromedriver` on PATH (Debian package `chromium-driver`): drives chromium over WebDriver.
pub fn chromedriver() -> Lookup {
    on_path("chromedriver", APT_CHROMIUM)
}

/// `node` on PATH (runs tests/k8s/validate-crds.mjs).
pub fn node() -> Lookup {
    on_path(
        "node",
        "install Node.js, Debian package nodejs; .ci/run does",
    )
}

/// The version of schemathesis `.ci/run` installs.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// `$WARREN_SCHEMATHESIS`, else `schemathesis` on PATH, else the venv `.ci/run` creates
/// (`~/.cache/warren/venv`).
pub fn schemathesis() -> Lookup {
    let hint = format!("run .ci/run, which installs schemathesis {SCHEMATHESIS_VERSION}");
    if let Some(p) = std::env::var_os("WARREN_SCHEMATHESIS") {
        return file("schemathesis ($WARREN_SCHEMATHESIS)", p.into(), &hint);
    }
    on_path("schemathesis", &hint).or_else(|_| {
        file(
            "schemathesis (not on PATH either)",
            home().join(".cache/warren/venv/bin/schemathesis"),
            &hint,
        )
    })
}

/// `$WARREN_TOOLS_ROOT`, default `~/.cache/warren/tools`: what `.ci/install-deploy-tools`
/// installs.
pub fn tools_root() -> PathBuf {
    std::env::var_os("WARREN_TOOLS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/warren/tools"))
}

fn deploy_tool(what: &str, rel: &str) -> Lookup {
    let path = tools_root().join(rel);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{what} not found at {} (run .ci/install-deploy-tools)",
            path.display()
        ))
    }
}

/// `bin/helm` under [`tools_root`].
pub fn helm() -> Lookup {
    deploy_tool("helm", "bin/helm")
}

/// `bin/kubectl` under [`tools_root`].
pub fn kubectl() -> Lookup {
    deploy_tool("kubectl", "bin/kubectl")
}

/// `venv/bin/kubernetes-validate` under [`tools_root`].
pub fn kubernetes_validate() -> Lookup {
    deploy_tool("kubernetes-validate", "venv/bin/kubernetes-validate")
}

/// `venv/bin/python` under [`tools_root`] (has PyYAML).
pub fn tools_python() -> Lookup {
    deploy_tool("the deploy tools' python", "venv/bin/python")
}

/// `node/node_modules` under [`tools_root`] (the CRD schema models), complete only once
/// `node/installed.json` is there.
pub fn node_models() -> Lookup {
    deploy_tool("the CRD schema models", "node/installed.json")
        .map(|_| tools_root().join("node/node_modules"))
}

/// `rel` inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The text of the repository file `rel`.
pub fn read(rel: &str) -> String {
    let path = repo_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Runs `cmd`; a missing program panics with `hint` (how to install it).
pub fn run(cmd: &mut Command, hint: &str) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` not found: {hint}")
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

/// stdout and stderr together, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` and returns its stdout, failing the test (naming `what`) unless it exits 0.
pub fn run_ok(cmd: &mut Command, hint: &str, what: &str) -> String {
    let out = run(cmd, hint);
    assert!(out.status.success(), "{what} failed:\n{}", text(&out));
    String::from_utf8(out.stdout).expect("utf-8 output")
}
