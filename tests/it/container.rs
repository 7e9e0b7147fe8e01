//! The container image, built and run with the real podman: `deploy/Containerfile` is built with
//! local base images (nothing can be pulled here; users get the public defaults), then started
//! on the host network against the test broker, once with a mounted configuration file and once
//! configured by environment variables alone. `/healthz`, `/readyz` and `/metrics` must answer
//! from the process in the container with the exact lag, its `HEALTHCHECK` must pass, and the
//! process must run as the image's non-root user. The image size is printed.
//!
//! Tools (`.ci/run` installs them): `podman`, `runc` and `mmdebstrap` from Debian, and the test
//! broker; without them the suite `container` is skipped (see `tools::suite`). The base
//! images are made once from the machine's apt sources and kept in podman's storage; the
//! builder borrows the host's Rust toolchain (Debian's rustc is too old) through a build
//! volume. A first build compiles warren and librdkafka in release mode (several minutes);
//! the Containerfile's cache mounts make later builds incremental.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{
    address_in_use, http_get, parse_metrics, start_on_free_port, temp_dir, wait_for, Broker,
    Started,
};
use crate::tools::{self, repo_path, text};

/// The suite runs when podman, runc, mmdebstrap and the test broker are there.
fn can_run() -> bool {
    tools::suite(
        "container",
        &[tools::podman, tools::runc, tools::mmdebstrap, tools::broker],
    )
}

const PODMAN_HINT: &str = "install the Debian packages podman, runc and mmdebstrap (.ci/run does)";

const IMAGE: &str = "localhost/warren:test";
/// Local base images; their tags carry a hash of what they hold, so a changed package list
/// makes a new one.
const BUILDER_IMAGE: &str = "localhost/warren-test/builder";
const RUNTIME_IMAGE: &str = "localhost/warren-test/runtime";
/// ENV lines of the builder: cargo and rustc from the host toolchain mounted at /opt/rust.
const BUILDER_ENV: &[&str] = &[
    "ENV PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV CARGO_HOME=/usr/local/cargo",
];
/// What the test's builder image holds besides minbase: the Containerfile's build packages.
const BUILDER_PACKAGES: &str = "ca-certificates,cmake,make,g++,pkg-config,libssl-dev,\
    libsasl2-dev,libcurl4-openssl-dev,zlib1g-dev,binutils";
/// What the runtime image holds: the Containerfile's runtime packages.
const RUNTIME_PACKAGES: &str = "ca-certificates,libssl3,libsasl2-2,zlib1g,libcurl4";
/// `podman run` flags these machines need (runc may not raise the default rlimits).
const RUN_FLAGS: &[&str] = &[
    "--network",
    "host",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1000:1000",
];
/// The host's CA bundle (Debian's path).
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The user the Containerfile sets.
const IMAGE_USER: &str = "65532:65532";

/// The test's own podman storage: `$WARREN_PODMAN_ROOT`, default `~/.cache/warren/podman`
/// (kept between runs: the base images and the build cache), so that the vfs driver the test
/// needs never meets the machine's podman storage, set up with another driver by anyone else.
fn podman_root() -> PathBuf {
    std::env::var_os("WARREN_PODMAN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/warren/podman")
        })
}

/// podman with the flags that work on these machines (deploy-tools notes): vfs storage, runc,
/// cgroupfs; storage and run state of its own (see [`podman_root`]).
fn podman(args: &[&str]) -> Output {
    static DIRS: OnceLock<[String; 3]> = OnceLock::new();
    let [root, runroot, tmpdir] = DIRS.get_or_init(|| {
        let root = podman_root();
        // Run state is per boot: under the temp dir, not the cache.
        let run = std::env::temp_dir().join("warren-test-podman");
        let dirs = [root.join("storage"), run.join("run"), run.join("tmp")];
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
        }
        dirs.map(|d| d.to_string_lossy().into_owned())
    });
    tools::run(
        Command::new(tools::path(tools::podman))
            .args(["--root", root, "--runroot", runroot, "--tmpdir", tmpdir])
            .args(["--storage-driver", "vfs", "--runtime", "runc"])
            .args(["--cgroup-manager", "cgroupfs"])
            .args(args)
            .stdin(Stdio::null()),
        PODMAN_HINT,
    )
}

/// Runs podman and returns its trimmed stdout, panicking with everything it printed on failure.
fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {} failed:\n{}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes `repository:<hash>` from a Debian 12 minbase with `packages` and `changes`, unless
/// podman has it already; returns its name.
fn base_image(repository: &str, packages: &str, changes: &[&str]) -> String {
    // FNV-1a: stable across runs and toolchains.
    let hash = std::iter::once(packages)
        .chain(changes.iter().copied())
        .flat_map(|s| s.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let image = format!("{repository}:{hash:016x}");
    if podman(&["image", "exists", &image]).status.success() {
        return image;
    }
    let dir = temp_dir("base-image");
    let tar = dir
        .path()
        .join(format!("{}.tar", image.replace(['/', ':'], "_")));
    tools::run_ok(
        Command::new(tools::path(tools::mmdebstrap))
            .args(["--variant=minbase", "--quiet"])
            .args(
                [
                    "usr/share/doc",
                    "usr/share/man",
                    "usr/share/locale",
                    "usr/share/info",
                ]
                .map(|d| format!("--dpkgopt=path-exclude=/{d}/*")),
            )
            .arg(format!("--include={packages}"))
            .arg("bookworm")
            .arg(&tar),
        PODMAN_HINT,
        "mmdebstrap",
    );
    let mut args = vec!["import".to_string()];
    for c in changes {
        args.push("--change".into());
        args.push(c.to_string());
    }
    args.push(tar.to_str().unwrap().into());
    args.push(image.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    podman_ok(&args);
    image
}

/// The host's Rust toolchain directory (`rustc --print sysroot`): cargo and rustc in `bin/`.
fn host_toolchain() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Builds the image once per test process; returns how long it took.
fn image() -> Duration {
    static BUILT: OnceLock<Duration> = OnceLock::new();
    *BUILT.get_or_init(|| {
        let builder = base_image(BUILDER_IMAGE, BUILDER_PACKAGES, BUILDER_ENV);
        let runtime = base_image(RUNTIME_IMAGE, RUNTIME_PACKAGES, &[]);
        let repo = repo_path("");
        let repo = repo.to_str().unwrap();
        // No intermediate images: with the vfs driver each one is a full copy of the file
        // system, and kept layers of every earlier build filled the disk (the cache mounts
        // keep later builds incremental without them).
        let mut args: Vec<String> = vec!["build".into(), "--format".into(), "docker".into()];
        args.push("--layers=false".into());
        let mut arg = |k: &str, v: String| args.extend([k.to_string(), v]);
        arg("--network", "host".into());
        arg(
            "--volume",
            format!("{}:/opt/rust:ro", host_toolchain().display()),
        );
        // The host's trust store goes into the build: crates.io may be reached through a
        // TLS-inspecting proxy whose CA only the host knows.
        if Path::new(HOST_CA_BUNDLE).exists() {
            arg("--volume", format!("{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"));
        }
        arg("--build-arg", format!("BUILDER_IMAGE={builder}"));
        arg("--build-arg", format!("RUNTIME_IMAGE={runtime}"));
        arg("--file", format!("{repo}/deploy/Containerfile"));
        arg("--tag", IMAGE.into());
        args.push(repo.into());
        let start = Instant::now();
        podman_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let built = start.elapsed();
        // The image this tag named before is dangling now; drop it and any other leftover.
        podman_ok(&["image", "prune", "--force"]);
        built
    })
}

/// A running container, removed on drop.
struct Container {
    name: String,
}

impl Container {
    fn run(tag: &str, args: &[&str]) -> Container {
        let name = format!("warren-test-{tag}-{}", std::process::id());
        let _ = podman(&["rm", "--force", &name]);
        let mut all = vec!["run", "--detach", "--name", &name];
        all.extend_from_slice(RUN_FLAGS);
        all.extend_from_slice(args);
        all.push(IMAGE);
        podman_ok(&all);
        Container { name }
    }

    fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        podman(&all)
    }

    fn logs(&self) -> String {
        text(&podman(&["logs", &self.name]))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "1", &self.name]);
    }
}

/// Runs the image with `args` and warren listening on a free port, again on another one if that
/// port was taken before warren bound it; returns the container and the port.
fn run_serving(tag: &str, args: &[&str]) -> (Container, u16) {
    start_on_free_port("warren in a container", |port| {
        let listen = format!("WARREN_HTTP__LISTEN=127.0.0.1:{port}");
        let mut all = vec!["--env", listen.as_str()];
        all.extend_from_slice(args);
        let c = Container::run(tag, &all);
        let up = wait_for(
            Duration::from_secs(60),
            "warren in the container to listen",
            || {
                if c.logs().contains("serving /metrics") {
                    return Some(true);
                }
                let running = podman_ok(&["inspect", "--format", "{{.State.Running}}", &c.name]);
                if running != "false" {
                    return None;
                }
                let logs = c.logs();
                if address_in_use(&logs) {
                    return Some(false);
                }
                panic!("the container exited:\n{logs}");
            },
        );
        if up {
            Started::Up((c, port))
        } else {
            Started::PortTaken
        }
    })
}

/// Produces to a 3-partition topic and commits one group: lags 1, 0, 2.
fn workload(broker: &Broker) {
    broker.create_topic("orders", 3);
    broker.produce("orders", &[5, 3, 2]);
    broker.commit(
        "billing",
        &[("orders", 0, 4), ("orders", 1, 3), ("orders", 2, 0)],
    );
}

/// Checks the container's health and readiness probes, the non-root user and the lag figures
/// of [`workload`] served by the process in the container on `port`.
fn assert_serves(c: &Container, port: u16, cluster: &str) {
    let addr = format!("127.0.0.1:{port}");
    let metrics = wait_for(Duration::from_secs(60), "lag in /metrics", || {
        let r = http_get(port, "/metrics", &[]).ok()?;
        let m = parse_metrics(&r.text());
        m.contains_key(&format!(
            "kafka_consumergroup_group_sum_lag{{cluster=\"{cluster}\",group=\"billing\"}}"
        ))
        .then_some(m)
    });
    let series = |name: &str, labels: &str| -> f64 {
        let key = format!("{name}{{cluster=\"{cluster}\"{labels}}}");
        *metrics
            .get(&key)
            .unwrap_or_else(|| panic!("no {key} in /metrics; container log:\n{}", c.logs()))
    };
    for (p, latest, offset, lag) in [(0, 5.0, 4.0, 1.0), (1, 3.0, 3.0, 0.0), (2, 2.0, 0.0, 2.0)] {
        let tp = format!(",topic=\"orders\",partition=\"{p}\"");
        let gtp = format!(",group=\"billing\"{tp}");
        assert_eq!(series("kafka_partition_latest_offset", &tp), latest);
        assert_eq!(series("kafka_partition_earliest_offset", &tp), 0.0);
        assert_eq!(series("kafka_consumergroup_group_offset", &gtp), offset);
        assert_eq!(series("kafka_consumergroup_group_lag", &gtp), lag);
    }
    assert_eq!(
        series("kafka_consumergroup_group_sum_lag", ",group=\"billing\""),
        3.0
    );
    assert_eq!(series("warren_cluster_up", ""), 1.0);

    for path in ["/healthz", "/readyz"] {
        let r = http_get(port, path, &[]).expect(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        // The same probe from inside the container, with the image's own binary.
        let out = c.exec(&["/usr/local/bin/warren", "healthcheck", "--path", path]);
        assert!(out.status.success(), "healthcheck {path}:\n{}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "HTTP/1.1 200 OK",
            "{addr}{path}"
        );
    }
    // The image's HEALTHCHECK, as podman runs it.
    let out = podman(&["healthcheck", "run", &c.name]);
    assert!(out.status.success(), "HEALTHCHECK:\n{}", text(&out));

    // The server process (pid 1 of the container) runs as the image's user, not root.
    let out = c.exec(&["cat", "/proc/1/status"]);
    let status = String::from_utf8_lossy(&out.stdout);
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    let uids: Vec<&str> = uid_line.split_whitespace().skip(1).collect();
    assert_eq!(uids, ["65532"; 4], "{uid_line}");
    let cmdline = c.exec(&["cat", "/proc/1/cmdline"]);
    assert_eq!(
        String::from_utf8_lossy(&cmdline.stdout),
        "/usr/local/bin/warren\0run\0"
    );
}

#[test]
fn image_builds_and_serves_lag_as_non_root() {
    if !can_run() {
        return;
    }
    let took = image();
    let size: u64 = podman_ok(&["image", "inspect", "--format", "{{.Size}}", IMAGE])
        .parse()
        .expect("image size");
    println!(
        "container image {IMAGE}: {:.1} MB, built in {:.0} s",
        size as f64 / 1e6,
        took.as_secs_f64()
    );
    let user = podman_ok(&["image", "inspect", "--format", "{{.Config.User}}", IMAGE]);
    assert_eq!(user, IMAGE_USER);
    let entrypoint = podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}}",
        IMAGE,
    ]);
    assert_eq!(entrypoint, r#"["/usr/local/bin/warren"] ["run"]"#);
    // The image's build ran `build.rs`: the binary holds warren's wrappers of librdkafka's
    // partition search and OffsetFetch parse, which only builds linked in place of librdkafka's
    // keep (their names stay in the symbol table, which `strip --strip-debug` keeps).
    let mut cat = vec!["run", "--rm"];
    cat.extend_from_slice(RUN_FLAGS);
    cat.extend_from_slice(&["--entrypoint", "/bin/cat", IMAGE, "/usr/local/bin/warren"]);
    let binary = podman(&cat);
    assert!(binary.status.success(), "{}", text(&binary));
    for wrapper in [
        &b"__wrap_rd_kafka_topic_partition_list_find"[..],
        b"__wrap_rd_kafka_handle_OffsetFetch",
    ] {
        assert!(
            binary.stdout.windows(wrapper.len()).any(|w| w == wrapper),
            "the image's warren was built without build.rs ({} bytes read)",
            binary.stdout.len()
        );
    }

    let broker = Broker::start("container");
    workload(&broker);

    // 1. Configured by a mounted file (the port comes from the environment, which wins).
    let dir = temp_dir("container");
    let file = dir.path().join("warren.toml");
    std::fs::write(
        &file,
        format!(
            "[[clusters]]\nname = \"mounted\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n",
            broker.bootstrap()
        ),
    )
    .unwrap();
    let mount = format!("{}:/etc/warren/warren.toml:ro", file.display());
    let (mounted, port) = run_serving("file", &["--volume", &mount]);
    assert_serves(&mounted, port, "mounted");
    drop(mounted);

    // 2. No file: the image's default configuration plus environment variables.
    let servers = format!(
        "WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS={}",
        broker.bootstrap()
    );
    let (env_only, port) = run_serving(
        "env",
        &[
            "--env",
            "WARREN_CLUSTERS__0__NAME=from-env",
            "--env",
            &servers,
            "--env",
            "WARREN_CLUSTERS__0__POLL_INTERVAL=1s",
        ],
    );
    assert_serves(&env_only, port, "from-env");
}

#[test]
fn unconfigured_image_exits_2_naming_the_key() {
    if !can_run() {
        return;
    }
    image();
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(RUN_FLAGS);
    args.push(IMAGE);
    let out = podman(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: config key `clusters`: at least one cluster is required"),
        "{stderr}"
    );
}
