//! End-to-end tests of configuration loading through the real binary:
//! `warren check-config [--config FILE]` prints the masked effective TOML and exits 0, or prints
//! each error as "error: config key `K`: MSG" on stderr and exits with status 2.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::{temp_dir, without_warren_env};

const MINIMAL: &str = r#"
[[clusters]]
name = "prod"
bootstrap_servers = "k1:9092"
"#;

/// Writes `text` to `name` in `dir`; returns its path.
fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write config file");
    path
}

/// How long a `warren check-config`, or a `warren run` that stops at its configuration, may take
/// before the watchdog kills it: generous on a busy machine, but a hang fails the test instead
/// of hanging the suite.
const WATCHDOG: Duration = Duration::from_secs(60);

/// The address space `warren` gets (KiB, for `ulimit -v`): reading without bound then fails
/// promptly instead of exhausting the machine's memory.
const ADDRESS_SPACE_KIB: u32 = 2 * 1024 * 1024;

/// Runs `warren <command>`, with `--config <file>` when given, with no inherited `WARREN_*`
/// variable and with `env` added, under [`ADDRESS_SPACE_KIB`]; kills it and panics when it has
/// not exited within [`WATCHDOG`].
pub(crate) fn run_warren(command: &str, file: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_warren"))
        .arg(command);
    if let Some(file) = file {
        cmd.arg("--config").arg(file);
    }
    without_warren_env(&mut cmd);
    cmd.envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run warren");
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for warren") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "warren {command} did not exit within {WATCHDOG:?}; stderr:\n{}",
                text(&stderr.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads `pipe` to its end on a thread of its own (so that a full pipe never blocks the child).
fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Runs `warren check-config` (see [`run_warren`]).
fn check_config(file: Option<&Path>, env: &[(&str, &str)]) -> Output {
    run_warren("check-config", file, env)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs with a config file holding `toml`, expecting success; returns stdout parsed as TOML.
fn valid(toml_text: &str, env: &[(&str, &str)]) -> (toml::Table, String) {
    let dir = temp_dir("config-valid");
    let file = write(&dir, "warren.toml", toml_text);
    let out = check_config(Some(&file), env);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let table = stdout
        .parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("stdout is not TOML ({e}):\n{stdout}"));
    (table, stdout + &stderr)
}

fn get<'a>(table: &'a toml::Table, path: &str) -> &'a toml::Value {
    let mut parts = path.split('/');
    let first = parts.next().unwrap_or_default();
    let mut value = table
        .get(first)
        .unwrap_or_else(|| panic!("no `{first}` in {table:#?}"));
    for part in parts {
        value = match part.parse::<usize>() {
            Ok(i) => value.get(i),
            Err(_) => value.get(part),
        }
        .unwrap_or_else(|| panic!("no `{path}` in {table:#?}"));
    }
    value
}

fn str_at<'a>(table: &'a toml::Table, path: &str) -> &'a str {
    get(table, path)
        .as_str()
        .unwrap_or_else(|| panic!("`{path}` is not a string"))
}

struct Case {
    name: &'static str,
    /// Config file contents; `None` passes `--config` naming a file that does not exist.
    file: Option<String>,
    env: &'static [(&'static str, &'static str)],
    /// The key that must be named on stderr.
    key: &'static str,
    /// Further text stderr must contain.
    also: &'static str,
}

fn with_cluster(extra: &str) -> Option<String> {
    Some(format!(
        "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k1:9092\"\n{extra}\n"
    ))
}

fn with_top(top: &str) -> Option<String> {
    Some(format!("{top}\n{MINIMAL}"))
}

#[test]
fn malformed_configs_exit_2_naming_the_key() {
    let cases = [
        Case {
            name: "unknown top-level key",
            file: with_top("bogus = 1"),
            env: &[],
            key: "bogus",
            also: "unknown key",
        },
        Case {
            name: "unknown nested key",
            file: with_top("[http]\nlistn = \"0.0.0.0:1\""),
            env: &[],
            key: "http.listn",
            also: "unknown key",
        },
        Case {
            name: "unknown cluster key",
            file: with_cluster("pol_interval = \"5s\""),
            env: &[],
            key: "clusters[0].pol_interval",
            also: "poll_interval",
        },
        Case {
            name: "duplicate cluster names",
            file: Some(
                "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"a:1\"\n\
                 [[clusters]]\nname = \"dev\"\nbootstrap_servers = \"b:1\"\n\
                 [[clusters]]\nname = \"prod\"\nbootstrap_servers = \"c:1\"\n"
                    .into(),
            ),
            env: &[],
            key: "clusters[2].name",
            also: "clusters[0]",
        },
        Case {
            name: "bad regex in groups.allow",
            file: with_cluster("groups = { allow = [\"ok\", \"(\"] }"),
            env: &[],
            key: "clusters[0].groups.allow[1]",
            also: "invalid regex",
        },
        Case {
            name: "bad regex in groups.deny",
            file: with_cluster("groups = { deny = [\"*\"] }"),
            env: &[],
            key: "clusters[0].groups.deny[0]",
            also: "invalid regex",
        },
        Case {
            name: "bad regex in topics.allow",
            file: with_cluster("topics = { allow = [\"[z\"] }"),
            env: &[],
            key: "clusters[0].topics.allow[0]",
            also: "invalid regex",
        },
        Case {
            name: "bad regex in topics.deny",
            file: with_cluster("topics = { deny = [\"x\", \"a{2,1}\"] }"),
            env: &[],
            key: "clusters[0].topics.deny[1]",
            also: "invalid regex",
        },
        Case {
            name: "bad duration",
            file: with_cluster("poll_interval = \"soon\""),
            env: &[],
            key: "clusters[0].poll_interval",
            also: "invalid duration \"soon\"",
        },
        Case {
            name: "poll interval too short",
            file: with_cluster("poll_interval = \"50ms\""),
            env: &[],
            key: "clusters[0].poll_interval",
            also: "at least 100ms and at most 1day",
        },
        Case {
            name: "bad listen address",
            file: with_top("[http]\nlisten = \"nowhere\""),
            env: &[],
            key: "http.listen",
            also: "nowhere",
        },
        Case {
            name: "points below range",
            file: with_top("[window]\npoints = 1"),
            env: &[],
            key: "window.points",
            also: "between 2 and 100",
        },
        Case {
            name: "points above range",
            file: with_top("[window]\npoints = 101"),
            env: &[],
            key: "window.points",
            also: "between 2 and 100",
        },
        Case {
            name: "bad label name",
            file: with_cluster("labels = { \"1bad\" = \"x\" }"),
            env: &[],
            key: "clusters[0].labels.1bad",
            also: "invalid label name",
        },
        Case {
            name: "reserved label",
            file: with_cluster("labels = { topic = \"x\" }"),
            env: &[],
            key: "clusters[0].labels.topic",
            also: "reserved",
        },
        Case {
            name: "bootstrap.servers in client",
            file: with_cluster("client = { \"bootstrap.servers\" = \"x:1\" }"),
            env: &[],
            key: "clusters[0].client.\"bootstrap.servers\"",
            also: "bootstrap_servers",
        },
        Case {
            name: "bad log filter",
            file: with_top("[log]\nfilter = \"warren=loud\""),
            env: &[],
            key: "log.filter",
            also: "warren=loud",
        },
        Case {
            name: "no clusters",
            file: Some("[http]\nlisten = \"127.0.0.1:9753\"\n".into()),
            env: &[],
            key: "clusters",
            also: "at least one cluster",
        },
        Case {
            name: "missing file",
            file: None,
            env: &[],
            key: "config",
            also: "does-not-exist.toml",
        },
        Case {
            name: "bad env override value",
            file: Some(MINIMAL.into()),
            env: &[("WARREN_WINDOW__POINTS", "many")],
            key: "window.points",
            also: "WARREN_WINDOW__POINTS",
        },
        Case {
            name: "bad env duration",
            file: Some(MINIMAL.into()),
            env: &[("WARREN_CLUSTERS__PROD__POLL_INTERVAL", "soon")],
            key: "clusters[0].poll_interval",
            also: "invalid duration \"soon\"",
        },
        Case {
            name: "env selector matching no cluster name",
            file: Some(MINIMAL.into()),
            env: &[("WARREN_CLUSTERS__STAGING__POLL_INTERVAL", "5s")],
            key: "clusters",
            also: "WARREN_CLUSTERS__STAGING__POLL_INTERVAL",
        },
        Case {
            name: "env selector matching no cluster index",
            file: Some(MINIMAL.into()),
            env: &[("WARREN_CLUSTERS__3__BOOTSTRAP_SERVERS", "x:1")],
            key: "clusters",
            also: "WARREN_CLUSTERS__3__BOOTSTRAP_SERVERS",
        },
        Case {
            name: "unknown env key",
            file: Some(MINIMAL.into()),
            env: &[("WARREN_HTTP__LISTN", "0.0.0.0:1")],
            key: "http.listn",
            also: "WARREN_HTTP__LISTN",
        },
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let dir = temp_dir("config-bad");
        let file = match &case.file {
            Some(contents) => write(&dir, "warren.toml", contents),
            None => dir.path().join("does-not-exist.toml"),
        };
        let out = check_config(Some(&file), case.env);
        let stderr = text(&out.stderr);
        let wanted = format!("error: config key `{}`: ", case.key);
        let line = stderr.lines().find(|l| l.starts_with(&wanted));
        let ok = out.status.code() == Some(2)
            && line.is_some()
            && stderr.contains(case.also)
            && out.stdout.is_empty();
        if !ok {
            failures.push(format!(
                "{}: status {:?}, wanted a line starting with {wanted:?} and {:?}\nstderr:\n{stderr}stdout:\n{}",
                case.name,
                out.status.code(),
                case.also,
                text(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn all_errors_are_reported_at_once() {
    let dir = temp_dir("config-many");
    let file = write(
        &dir,
        "warren.toml",
        "bogus = 1\n[window]\npoints = 0\n\
         [[clusters]]\nname = \"prod\"\nbootstrap_servers = \"a:1\"\npoll_interval = \"soon\"\n\
         [[clusters]]\nname = \"prod\"\nbootstrap_servers = \"b:1\"\nlabels = { le = \"x\" }\n",
    );
    let out = check_config(Some(&file), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for key in [
        "bogus",
        "window.points",
        "clusters[0].poll_interval",
        "clusters[1].name",
        "clusters[1].labels.le",
    ] {
        assert!(
            stderr.contains(&format!("error: config key `{key}`: ")),
            "{key} missing from:\n{stderr}"
        );
    }
}

#[test]
fn minimal_file_prints_the_defaults() {
    let (t, _) = valid(MINIMAL, &[]);
    assert_eq!(str_at(&t, "http/listen"), "0.0.0.0:9753");
    assert_eq!(str_at(&t, "retention"), "10m");
    assert_eq!(str_at(&t, "log/filter"), "info");
    assert_eq!(get(&t, "window/points").as_integer(), Some(10));
    assert_eq!(str_at(&t, "clusters/0/name"), "prod");
    assert_eq!(str_at(&t, "clusters/0/bootstrap_servers"), "k1:9092");
    assert_eq!(str_at(&t, "clusters/0/poll_interval"), "10s");
    assert_eq!(str_at(&t, "clusters/0/metadata_refresh"), "1m");
    assert_eq!(str_at(&t, "clusters/0/groups_refresh"), "1m");
    assert_eq!(str_at(&t, "clusters/0/request_timeout"), "10s");
}

#[test]
fn pattern_lists_print_the_matching_rule_first() {
    const RULE: &str = "# groups.allow/deny, topics.allow/deny: a pattern matches anywhere in the \
                        name (as in Burrow); write ^name$ for an exact name.\n";
    let (_, out) = valid(MINIMAL, &[]);
    assert!(!out.contains(RULE), "no lists, no rule:\n{out}");
    let file = format!("{MINIMAL}groups = {{ deny = [\"^console-consumer-\"] }}\n");
    let (t, out) = valid(&file, &[]);
    assert!(out.starts_with(RULE), "{out}");
    assert_eq!(
        get(&t, "clusters/0/groups/deny"),
        &toml::Value::Array(vec!["^console-consumer-".into()])
    );
    let (_, out) = valid(MINIMAL, &[("WARREN_CLUSTERS__0__TOPICS__ALLOW", "orders")]);
    assert!(out.starts_with(RULE), "{out}");
}

#[test]
fn env_overrides_win_over_the_file() {
    let file = "[http]\nlisten = \"0.0.0.0:9000\"\n[window]\npoints = 5\n\
                [[clusters]]\nname = \"prod-eu.1\"\nbootstrap_servers = \"k1:9092\"\n\
                poll_interval = \"20s\"\n";
    let (t, _) = valid(
        file,
        &[
            ("WARREN_CLUSTERS__0__POLL_INTERVAL", "3s"),
            ("WARREN_HTTP__LISTEN", "127.0.0.1:1234"),
            ("WARREN_WINDOW__POINTS", "20"),
            (
                "WARREN_CLUSTERS__PROD_EU_1__GROUPS__STATIC",
                "billing, audit",
            ),
            ("WARREN_CLUSTERS__PROD_EU_1__LABELS__ENV", "prod"),
        ],
    );
    assert_eq!(str_at(&t, "http/listen"), "127.0.0.1:1234");
    assert_eq!(str_at(&t, "clusters/0/poll_interval"), "3s");
    assert_eq!(get(&t, "window/points").as_integer(), Some(20));
    let statics: Vec<&str> = get(&t, "clusters/0/groups/static")
        .as_array()
        .expect("static is a list")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(statics, ["billing", "audit"]);
    assert_eq!(str_at(&t, "clusters/0/labels/env"), "prod");
}

#[test]
fn env_password_lands_in_sasl_password_and_is_masked() {
    const SECRET: &str = "hunter2-do-not-print";
    let file = "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k1:9092\"\n\
                client = { \"security.protocol\" = \"SASL_SSL\", \"sasl.username\" = \"warren\" }\n";
    let (t, all_output) = valid(
        file,
        &[("WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD", SECRET)],
    );
    assert_eq!(str_at(&t, "clusters/0/client/sasl.password"), "***");
    // librdkafka counts the user name as sensitive too.
    assert_eq!(str_at(&t, "clusters/0/client/sasl.username"), "***");
    assert_eq!(
        str_at(&t, "clusters/0/client/security.protocol"),
        "SASL_SSL"
    );
    assert!(
        !all_output.contains(SECRET),
        "secret printed:\n{all_output}"
    );
}

#[test]
fn warren_config_env_names_the_file() {
    let dir = temp_dir("config-envfile");
    let file = write(&dir, "warren.toml", MINIMAL);
    let path = file.to_str().expect("utf-8 temp path");
    let out = check_config(None, &[("WARREN_CONFIG", path)]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("name = \"prod\""), "{stdout}");
}
