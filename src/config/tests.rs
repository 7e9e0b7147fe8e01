use super::diagnose::render_path;
use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

const MINIMAL: &str = r#"
[[clusters]]
name = "prod"
bootstrap_servers = "k1:9092"
"#;

/// A TOML file in a fresh temporary location (removed on drop).
struct TempToml(PathBuf);

impl TempToml {
    fn new(text: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "warren-config-unit-{}-{n}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("write temp config");
        TempToml(path)
    }
}

impl Drop for TempToml {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_toml(text: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
    let file = TempToml::new(text);
    load_from(Some(&file.0), &env(vars))
}

fn ok(text: &str, vars: &[(&str, &str)]) -> Config {
    match load_toml(text, vars) {
        Ok(c) => c,
        Err(errors) => panic!("unexpected errors: {errors:#?}"),
    }
}

fn errs(text: &str, vars: &[(&str, &str)]) -> Vec<ConfigError> {
    match load_toml(text, vars) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(errors) => errors,
    }
}

/// The error with key `key`; panics listing all errors if there is none.
fn error_for<'a>(errors: &'a [ConfigError], key: &str) -> &'a ConfigError {
    errors
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error for key `{key}` in {errors:#?}"))
}

fn cluster_with(extra: &str) -> String {
    format!("[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k1:9092\"\n{extra}\n")
}

#[test]
fn admin_token_is_checked_and_masked() {
    let c = ok(
            &format!("[http]\nadmin_token = \"0123456789abcdef-secret\"\naccess_control_allow_origin = \"*\"\n{MINIMAL}"),
            &[],
        );
    assert_eq!(c.http.access_control_allow_origin.as_deref(), Some("*"));
    let printed = c.masked_toml();
    assert!(
        printed.contains("admin_token = \"***\"") && !printed.contains("secret"),
        "{printed}"
    );
    let errors = errs(&format!("[http]\nadmin_token = \"short\"\n{MINIMAL}"), &[]);
    error_for(&errors, "http.admin_token");
    assert!(
        !format!("{errors:?}").contains("short"),
        "the token is not echoed"
    );
}

#[test]
fn evaluator_knobs() {
    let c = ok(MINIMAL, &[]);
    assert_eq!(c.clusters[0].evaluator, EvaluatorConfig::default());
    assert_eq!(c.clusters[0].evaluator.rules, RuleSet::Burrow);
    let c = ok(
            &cluster_with("evaluator = { rules = \"improved\", allowed_lag = 5, minimum_complete = 0.5, min_distance = \"30s\" }"),
            &[("WARREN_CLUSTERS__PROD__EVALUATOR__ALLOWED_LAG", "7")],
        );
    let e = &c.clusters[0].evaluator;
    assert_eq!(
        (e.rules, e.allowed_lag, e.minimum_complete, e.min_distance),
        (RuleSet::Improved, 7, 0.5, Duration::from_secs(30))
    );
    let errors = errs(&cluster_with("evaluator = { rules = \"strict\" }"), &[]);
    error_for(&errors, "clusters[0].evaluator.rules");
    let errors = errs(&cluster_with("evaluator = { minimum_complete = 1.5 }"), &[]);
    error_for(&errors, "clusters[0].evaluator.minimum_complete");
    let errors = errs(&cluster_with("evaluator = { allowed_lags = 1 }"), &[]);
    error_for(&errors, "clusters[0].evaluator.allowed_lags");
    let printed = c.masked_toml();
    assert!(printed.contains("rules = \"improved\""), "{printed}");
}

#[test]
fn minimal_file_gets_defaults() {
    let c = ok(MINIMAL, &[]);
    assert_eq!(c.http.listen, "0.0.0.0:9753".parse::<SocketAddr>().unwrap());
    assert_eq!(c.log.filter, "info");
    assert_eq!(c.window.points, 10);
    assert_eq!(c.retention, Duration::from_secs(600));
    let p = &c.clusters[0];
    assert_eq!(p.name, "prod");
    assert_eq!(p.poll_interval, Duration::from_secs(10));
    assert_eq!(p.metadata_refresh, Duration::from_secs(60));
    assert_eq!(p.groups_refresh, Duration::from_secs(60));
    assert_eq!(p.request_timeout, Duration::from_secs(10));
    assert!(p.client.is_empty() && p.labels.is_empty());
}

#[test]
fn file_values_are_read() {
    let c = ok(
        r#"
retention = "3m"
[http]
listen = "127.0.0.1:9000"
[log]
filter = "warren=debug,rdkafka=warn"
[window]
points = 30
[[clusters]]
name = "prod-eu.1"
bootstrap_servers = "k1:9092,k2:9092"
poll_interval = "1m 30s"
groups_refresh = "5m"
client = { "security.protocol" = "SSL", "enable.ssl.certificate.verification" = false, "fetch.wait.max.ms" = 100 }
labels = { env = "prod", tier = 1 }
groups = { allow = ["billing-.*"], deny = ["billing-test"], static = ["audit"] }
topics = { deny = ["__.*"] }
"#,
        &[],
    );
    assert_eq!(c.retention, Duration::from_secs(180));
    assert_eq!(c.http.listen.port(), 9000);
    assert_eq!(c.window.points, 30);
    let p = &c.clusters[0];
    assert_eq!(p.poll_interval, Duration::from_secs(90));
    assert_eq!(p.groups_refresh, Duration::from_secs(300));
    // Unquoted scalars in `client` and `labels` become strings.
    assert_eq!(p.client["enable.ssl.certificate.verification"], "false");
    assert_eq!(p.client["fetch.wait.max.ms"], "100");
    assert_eq!(p.labels["tier"], "1");
    assert_eq!(p.groups.static_groups, ["audit"]);
}

#[test]
fn no_file_and_no_env_means_no_clusters() {
    let errors = load_from(None, &[]).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters");
    assert!(errors[0].message.contains("at least one cluster"));
}

#[test]
fn listen_address_needs_only_http_listen() {
    let default: SocketAddr = "0.0.0.0:9753".parse().unwrap();
    // A file without clusters (the container image's) still gives its address.
    let file = TempToml::new("[http]\nlisten = \"127.0.0.1:9100\"\n");
    assert_eq!(
        listen_address_from(Some(&file.0), &[]),
        "127.0.0.1:9100".parse::<SocketAddr>().unwrap()
    );
    // The environment wins; other bad keys do not matter.
    let vars = env(&[
        ("WARREN_HTTP__LISTEN", "127.0.0.1:9200"),
        ("WARREN_WINDOW__POINTS", "many"),
    ]);
    assert_eq!(
        listen_address_from(Some(&file.0), &vars),
        "127.0.0.1:9200".parse::<SocketAddr>().unwrap()
    );
    // Unusable: the default.
    let missing = std::env::temp_dir().join("warren-config-unit-no-such-file.toml");
    assert_eq!(listen_address_from(Some(&missing), &[]), default);
    let bad = env(&[("WARREN_HTTP__LISTEN", "nowhere")]);
    assert_eq!(listen_address_from(None, &bad), default);
}

#[test]
fn environment_alone_defines_clusters() {
    let vars = env(&[
        ("WARREN_CLUSTERS__0__NAME", "local"),
        ("WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS", "kafka:9092"),
        ("WARREN_CLUSTERS__0__CLIENT__SASL_PASSWORD", "pw"),
        ("WARREN_CLUSTERS__1__NAME", "dr"),
        ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "dr-kafka:9092"),
        ("WARREN_CLUSTERS__1__GROUPS__STATIC", "billing,audit"),
    ]);
    let c = load_from(None, &vars).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(c.clusters.len(), 2);
    assert_eq!(c.clusters[0].name, "local");
    assert_eq!(c.clusters[0].bootstrap_servers, "kafka:9092");
    assert_eq!(c.clusters[0].client["sasl.password"], "pw");
    assert_eq!(c.clusters[1].name, "dr");
    assert_eq!(c.clusters[1].groups.static_groups, ["billing", "audit"]);
    assert_eq!(c.clusters[1].poll_interval, Duration::from_secs(10));
}

#[test]
fn environment_appends_after_the_file_clusters() {
    let c = ok(
        MINIMAL,
        &[
            ("WARREN_CLUSTERS__1__NAME", "extra"),
            ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "e:9092"),
            ("WARREN_CLUSTERS__PROD__POLL_INTERVAL", "3s"),
        ],
    );
    let names: Vec<&str> = c.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["prod", "extra"]);
    assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(3));
}

#[test]
fn environment_clusters_need_the_next_free_index_and_their_keys() {
    let errors = load_from(None, &env(&[("WARREN_CLUSTERS__1__NAME", "x")])).unwrap_err();
    let e = error_for(&errors, "clusters");
    assert!(e.message.contains("WARREN_CLUSTERS__1__NAME"), "{e}");
    assert!(e.message.contains("next free index, 0"), "{e}");

    let errors = load_from(None, &env(&[("WARREN_CLUSTERS__0__NAME", "x")])).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters[0].bootstrap_servers");

    // Index 1 follows the file's cluster 0 and is added; index 3 skips 2.
    let errors = errs(
        MINIMAL,
        &[
            ("WARREN_CLUSTERS__1__NAME", "one"),
            ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "k:1"),
            ("WARREN_CLUSTERS__3__NAME", "three"),
        ],
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters");
    let m = &errors[0].message;
    assert!(m.contains("WARREN_CLUSTERS__3__NAME"), "{m}");
    assert!(m.contains("no cluster at index 3"), "{m}");
    assert!(m.contains("next free index, 2"), "{m}");

    // A variable without a key inside the cluster adds nothing (no "missing name").
    let s = load_from(None, &env(&[("WARREN_CLUSTERS__0", "x")])).unwrap_err();
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(
        s[0].message
            .contains("does not name a key inside a cluster"),
        "{s:#?}"
    );
    assert!(
        s[1].message.contains("at least one cluster is required"),
        "{s:#?}"
    );
}

#[test]
fn missing_file_is_a_config_error() {
    let path = std::env::temp_dir().join("warren-config-unit-does-not-exist.toml");
    let errors = load_from(Some(&path), &[]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "config");
    assert!(errors[0].message.contains("does not exist"), "{errors:?}");
}

#[test]
fn invalid_toml_names_line_and_column() {
    // The key is named where a value is missing or rejected; not in a broken header.
    let errors = errs("[http]\nlisten = \n", &[]);
    assert_eq!(errors[0].key, "http.listen");
    assert!(errors[0].message.contains("line 2"), "{errors:?}");
    let errors = errs("[http\nlisten = 1\n", &[]);
    assert_eq!(errors[0].key, "config");
    assert!(
        errors[0].message.contains("(line 1, column 6)"),
        "{errors:?}"
    );
}

#[test]
fn env_overrides_win_over_the_file() {
    let text = format!(
        "{MINIMAL}\n[[clusters]]\nname = \"Dev-EU.1\"\nbootstrap_servers = \"d:9092\"\n\
             [http]\nlisten = \"0.0.0.0:1\"\n"
    );
    let c = ok(
        &text,
        &[
            ("WARREN_HTTP__LISTEN", "127.0.0.1:1234"),
            ("WARREN_LOG__FILTER", " warren=debug,rdkafka=warn "),
            ("WARREN_WINDOW__POINTS", "20"),
            ("WARREN_RETENTION", "30m"),
            ("WARREN_CLUSTERS__0__POLL_INTERVAL", "3s"),
            ("WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS", "e1:9092,e2:9092"),
            ("WARREN_CLUSTERS__DEV_EU_1__METADATA_REFRESH", "2m"),
            ("WARREN_CLUSTERS__dev_eu_1__REQUEST_TIMEOUT", "1s"),
            ("WARREN_CONFIG", "/ignored.toml"),
            ("HOME", "/root"),
        ],
    );
    assert_eq!(
        c.http.listen,
        "127.0.0.1:1234".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.log.filter, "warren=debug,rdkafka=warn");
    assert_eq!(c.window.points, 20);
    assert_eq!(c.retention, Duration::from_secs(1800));
    assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(3));
    assert_eq!(c.clusters[0].bootstrap_servers, "e1:9092,e2:9092");
    assert_eq!(c.clusters[1].metadata_refresh, Duration::from_secs(120));
    assert_eq!(c.clusters[1].request_timeout, Duration::from_secs(1));
    assert_eq!(c.clusters[1].name, "Dev-EU.1");
}

#[test]
fn env_client_keys_use_dots_and_are_verbatim() {
    let c = ok(
        MINIMAL,
        &[
            ("WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD", " s3cret "),
            (
                "WARREN_CLUSTERS__PROD__CLIENT__SECURITY_PROTOCOL",
                "SASL_SSL",
            ),
        ],
    );
    let client = &c.clusters[0].client;
    assert_eq!(client["sasl.password"], " s3cret ");
    assert_eq!(client["security.protocol"], "SASL_SSL");
    let shown = c.masked_toml();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("\"sasl.password\" = \"***\""), "{shown}");
    assert!(
        shown.contains("\"security.protocol\" = \"SASL_SSL\""),
        "{shown}"
    );
}

#[test]
fn env_labels_and_lists() {
    let c = ok(
        &cluster_with("groups = { allow = [\"old\"] }"),
        &[
            ("WARREN_CLUSTERS__PROD__LABELS__ENV", "prod"),
            ("WARREN_CLUSTERS__PROD__LABELS__DC", "1"),
            ("WARREN_CLUSTERS__PROD__GROUPS__STATIC", " a, b ,,c "),
            ("WARREN_CLUSTERS__PROD__GROUPS__ALLOW", ""),
            ("WARREN_CLUSTERS__PROD__TOPICS__ALLOW", r#"["x{1,3}", "y"]"#),
            ("WARREN_CLUSTERS__PROD__TOPICS__DENY", "__.*"),
        ],
    );
    let p = &c.clusters[0];
    assert_eq!(p.labels["env"], "prod");
    assert_eq!(p.labels["dc"], "1");
    assert_eq!(p.groups.static_groups, ["a", "b", "c"]);
    assert!(p.groups.allow.is_empty());
    assert_eq!(p.topics.allow, ["x{1,3}", "y"]);
    assert_eq!(p.topics.deny, ["__.*"]);
}

#[test]
fn env_list_bad_toml_array() {
    let errors = errs(
        MINIMAL,
        &[("WARREN_CLUSTERS__0__GROUPS__DENY", "[\"a\", 1]")],
    );
    let e = error_for(&errors, "clusters[0].groups.deny");
    assert!(
        e.message.contains("WARREN_CLUSTERS__0__GROUPS__DENY"),
        "{e}"
    );
}

#[test]
fn env_selector_matching_no_cluster_names_the_variable() {
    for var in [
        "WARREN_CLUSTERS__STAGING__POLL_INTERVAL",
        "WARREN_CLUSTERS__2__POLL_INTERVAL",
    ] {
        let errors = errs(MINIMAL, &[(var, "5s")]);
        let e = error_for(&errors, "clusters");
        assert!(e.message.contains(var), "{e}");
        assert!(e.message.contains("0 (PROD)"), "{e}");
    }
    // The next free index adds a cluster, which then lacks its name.
    let var = "WARREN_CLUSTERS__1__POLL_INTERVAL";
    let errors = errs(MINIMAL, &[(var, "5s")]);
    let e = error_for(&errors, "clusters[1].name");
    assert!(e.message.contains(var), "{e}");
    // Without a key after the selector.
    let errors = errs(MINIMAL, &[("WARREN_CLUSTERS__PROD", "x")]);
    assert!(error_for(&errors, "clusters")
        .message
        .contains("WARREN_CLUSTERS__PROD"));
}

#[test]
fn env_selector_ambiguous() {
    let text = "[[clusters]]\nname = \"a-b\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"a.b\"\nbootstrap_servers = \"k:1\"\n";
    let errors = errs(text, &[("WARREN_CLUSTERS__A_B__POLL_INTERVAL", "5s")]);
    assert!(error_for(&errors, "clusters").message.contains("ambiguous"));
}

#[test]
fn env_values_must_still_parse() {
    let errors = errs(
        MINIMAL,
        &[
            ("WARREN_WINDOW__POINTS", "many"),
            ("WARREN_CLUSTERS__0__POLL_INTERVAL", "soon"),
            ("WARREN_HTTP__LISTEN", "nowhere"),
        ],
    );
    let e = error_for(&errors, "window.points");
    assert!(e.message.contains("\"many\""), "{e}");
    assert!(e.message.contains("WARREN_WINDOW__POINTS"), "{e}");
    let e = error_for(&errors, "clusters[0].poll_interval");
    assert!(e.message.contains("invalid duration \"soon\""), "{e}");
    assert!(
        e.message.contains("WARREN_CLUSTERS__0__POLL_INTERVAL"),
        "{e}"
    );
    let e = error_for(&errors, "http.listen");
    assert!(e.message.contains("\"nowhere\""), "{e}");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn stray_env_keys_are_unknown() {
    let errors = errs(MINIMAL, &[("WARREN_FOO", "1"), ("WARREN_HTTP__LISTN", "x")]);
    let e = error_for(&errors, "foo");
    assert!(
        e.message.starts_with("unknown key; expected one of `http`"),
        "{e}"
    );
    assert!(e.message.contains("WARREN_FOO"), "{e}");
    error_for(&errors, "http.listn");
    let errors = errs(MINIMAL, &[("WARREN_HTTP____LISTEN", "x")]);
    assert!(
        errors[0].message.contains("empty key segment"),
        "{errors:?}"
    );
}

#[test]
fn unknown_keys_at_every_level() {
    let text = format!(
        "bogus = 1\n[http]\nlistn = \"x\"\n{}",
        cluster_with("pol_interval = \"5s\"\ngroups = { alow = [] }")
    );
    let errors = errs(&text, &[]);
    assert!(error_for(&errors, "bogus").message.contains("`clusters`"));
    assert!(error_for(&errors, "http.listn")
        .message
        .contains("`listen`"));
    let e = error_for(&errors, "clusters[0].pol_interval");
    assert!(e.message.starts_with("unknown key; expected one of"), "{e}");
    assert!(e.message.contains("`poll_interval`"), "{e}");
    error_for(&errors, "clusters[0].groups.alow");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn bad_values_are_all_reported() {
    let text = format!(
        "retention = \"soon\"\n[http]\nlisten = \"nowhere\"\n[window]\npoints = 1\n\
             [log]\nfilter = \"warren=loud\"\n{}",
        cluster_with(
            "poll_interval = \"50ms\"\nmetadata_refresh = \"0s\"\ngroups_refresh = 5\n\
                 request_timeout = \"0s\""
        )
    );
    let errors = errs(&text, &[]);
    assert!(error_for(&errors, "retention")
        .message
        .starts_with("invalid duration \"soon\""));
    assert!(error_for(&errors, "http.listen")
        .message
        .contains("ip:port"));
    assert!(error_for(&errors, "window.points")
        .message
        .contains("between 2 and 100, got 1"));
    assert!(error_for(&errors, "log.filter")
        .message
        .contains("warren=loud"));
    assert!(error_for(&errors, "clusters[0].poll_interval")
        .message
        .contains("at least 100ms and at most 1day, got 50ms"));
    assert!(error_for(&errors, "clusters[0].metadata_refresh")
        .message
        .contains("greater than 0"));
    assert!(error_for(&errors, "clusters[0].groups_refresh")
        .message
        .contains("invalid duration"));
    error_for(&errors, "clusters[0].request_timeout");
    assert_eq!(errors.len(), 8, "{errors:#?}");
}

#[test]
fn points_bounds() {
    for (points, good) in [(1, false), (2, true), (100, true), (101, false)] {
        let text = format!("[window]\npoints = {points}\n{MINIMAL}");
        assert_eq!(load_toml(&text, &[]).is_ok(), good, "points = {points}");
    }
    let errors = errs(MINIMAL, &[("WARREN_WINDOW__POINTS", "-1")]);
    error_for(&errors, "window.points");
}

#[test]
fn cluster_names() {
    let text = "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"dev\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"-x\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"a/b\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"\"\nbootstrap_servers = \"\"\n\
                    [[clusters]]\nbootstrap_servers = \"k:1\"\n";
    let errors = errs(text, &[]);
    let e = error_for(&errors, "clusters[2].name");
    assert!(e.message.contains("duplicate cluster name \"prod\""), "{e}");
    assert!(e.message.contains("clusters[0]"), "{e}");
    error_for(&errors, "clusters[3].name");
    error_for(&errors, "clusters[4].name");
    assert!(error_for(&errors, "clusters[5].name")
        .message
        .contains("empty"));
    error_for(&errors, "clusters[5].bootstrap_servers");
    let missing: Vec<_> = errors
        .iter()
        .filter(|e| e.key == "clusters[6].name")
        .collect();
    assert_eq!(missing.len(), 1, "{errors:#?}");
    assert_eq!(missing[0].message, "required key is missing");
    assert_eq!(errors.len(), 6, "{errors:#?}");
    ok(
        "[[clusters]]\nname = \"Prod-EU.1_a\"\nbootstrap_servers = \"k:1\"\n",
        &[],
    );
}

#[test]
fn clusters_must_be_tables() {
    let errors = errs("clusters = 1\n", &[]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters");
    let errors = errs("clusters = [1]\n", &[]);
    assert_eq!(errors[0].key, "clusters[0]");
}

#[test]
fn bad_regexes_in_every_list() {
    let text = cluster_with(
        "groups = { allow = [\"ok\", \"(\"], deny = [\"*\"] }\n\
             topics = { allow = [\"[z\"], deny = [\"x\", \"y\", \"a{2,1}\"] }",
    );
    let errors = errs(&text, &[]);
    let e = error_for(&errors, "clusters[0].groups.allow[1]");
    assert_eq!(e.message, "invalid regex \"(\": unclosed group");
    error_for(&errors, "clusters[0].groups.deny[0]");
    error_for(&errors, "clusters[0].topics.allow[0]");
    error_for(&errors, "clusters[0].topics.deny[2]");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn static_groups_not_empty() {
    let errors = errs(&cluster_with("groups = { static = [\"a\", \" \"] }"), &[]);
    error_for(&errors, "clusters[0].groups.static[1]");
    assert_eq!(errors.len(), 1);
}

#[test]
fn label_rules() {
    let text = cluster_with(
        "labels = { ok_1 = \"\", _x = \"y\", \"1bad\" = \"x\", \"a-b\" = \"x\", \
             __meta = \"x\", cluster = \"x\", le = \"x\" }",
    );
    let errors = errs(&text, &[]);
    error_for(&errors, "clusters[0].labels.1bad");
    error_for(&errors, "clusters[0].labels.a-b");
    assert!(error_for(&errors, "clusters[0].labels.__meta")
        .message
        .contains("`__`"));
    assert!(error_for(&errors, "clusters[0].labels.cluster")
        .message
        .contains("reserved"));
    error_for(&errors, "clusters[0].labels.le");
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let errors = errs(MINIMAL, &[("WARREN_CLUSTERS__PROD__LABELS__TOPIC", "x")]);
    let e = error_for(&errors, "clusters[0].labels.topic");
    assert!(
        e.message.contains("WARREN_CLUSTERS__PROD__LABELS__TOPIC"),
        "{e}"
    );
}

#[test]
fn client_must_not_set_managed_properties() {
    let text = cluster_with("client = { \"bootstrap.servers\" = \"x\", \"group.id\" = \"g\" }");
    let errors = errs(&text, &[]);
    let e = error_for(&errors, "clusters[0].client.\"bootstrap.servers\"");
    assert!(e.message.contains("clusters[0].bootstrap_servers"), "{e}");
    // group.id names the admin client's own (never joined) group: allowed, for ACLs.
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn secret_client_values_never_appear_in_errors() {
    let text = cluster_with("client = { \"sasl.password\" = [\"hunter2\"] }");
    let errors = errs(&text, &[]);
    let e = error_for(&errors, "clusters[0].client.\"sasl.password\"");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let errors = errs(
        MINIMAL,
        &[("WARREN_CLUSTERS__0__CLIENT", "sasl.password=hunter2")],
    );
    let e = error_for(&errors, "clusters[0].client");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn masked_toml_masks_and_round_trips() {
    let text = r#"
retention = "1h 30m"
[[clusters]]
name = "prod"
bootstrap_servers = "SASL_SSL://alice:pw@k1:9092,bob@k2:9092,k3:9092"
client = { "sasl.password" = "p1", "sasl.oauthbearer.config" = "j", "ssl.key.pem" = "k", "ssl.keystore.password" = "s", "ssl.key.location" = "/k", "ssl.ca.location" = "/ca", "security.protocol" = "SASL_SSL" }
labels = { env = "prod" }
"#;
    let c = ok(text, &[]);
    let shown = c.masked_toml();
    for secret in ["p1", "\"j\"", "\"k\"", "\"s\"", "/k", "alice", "pw@", "bob"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("SASL_SSL://***@k1:9092,***@k2:9092,k3:9092"),
        "{shown}"
    );
    assert!(shown.contains("\"ssl.ca.location\" = \"/ca\""), "{shown}");
    assert!(shown.contains("retention = \"1h 30m\""), "{shown}");
    assert!(shown.contains("poll_interval = \"10s\""), "{shown}");
    assert!(shown.contains("metadata_refresh = \"1m\""), "{shown}");

    assert!(
        !shown.starts_with('#'),
        "no pattern lists, no matching rule: {shown}"
    );

    // The printed configuration loads back to the same values (secrets aside).
    let again = ok(&shown, &[]);
    assert_eq!(again.retention, c.retention);
    assert_eq!(again.clusters[0].labels, c.clusters[0].labels);
    assert_eq!(again.clusters[0].poll_interval, c.clusters[0].poll_interval);
    assert_eq!(again.http.listen, c.http.listen);
}

#[test]
fn masked_toml_states_the_pattern_rule_and_round_trips() {
    for list in [
        "groups = { allow = [\"^orders$\"] }",
        "groups = { deny = [\"^console-consumer-\"] }",
        "topics = { allow = [\"orders\"] }",
        "topics = { deny = [\"^__\"] }",
    ] {
        let c = ok(&cluster_with(list), &[]);
        let shown = c.masked_toml();
        assert!(
            shown.starts_with(
                "# groups.allow/deny, topics.allow/deny: a pattern matches anywhere in the name \
                 (as in Burrow); write ^name$ for an exact name.\n"
            ),
            "{list}: {shown}"
        );
        let again = ok(&shown, &[]);
        let (a, b) = (&again.clusters[0], &c.clusters[0]);
        assert_eq!(
            [
                &a.groups.allow,
                &a.groups.deny,
                &a.topics.allow,
                &a.topics.deny
            ],
            [
                &b.groups.allow,
                &b.groups.deny,
                &b.topics.allow,
                &b.topics.deny
            ],
            "{list}: {shown}"
        );
        for name in [
            "orders",
            "my-orders",
            "console-consumer-1",
            "__consumer_offsets",
        ] {
            assert_eq!(
                a.group_filter().matches(name),
                b.group_filter().matches(name)
            );
            assert_eq!(
                a.topic_filter().matches(name),
                b.topic_filter().matches(name)
            );
        }
    }
}

#[test]
fn secret_keys() {
    for k in [
        "sasl.password",
        "ssl.key.password",
        "sasl.jaas.config",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.token.endpoint.url",
        "ssl.key.pem",
        "ssl.certificate.pem",
        "ssl_key",
        "SASL.PASSWORD",
        "sasl.username",
        "ssl.key.location",
        "sasl.oauthbearer.config",
        "sasl.oauthbearer.assertion.private.key.passphrase",
        "x.passphrase",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "security.protocol",
        "sasl.mechanism",
        "ssl.ca.location",
        "ssl.certificate.location",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[test]
fn filters() {
    let c = ok(
        &cluster_with(
            "groups = { allow = [\"^billing-\", \"^audit$\"], deny = [\"^billing-test$\"] }\n\
                 topics = { deny = [\"^__\"] }",
        ),
        &[],
    );
    let g = c.clusters[0].group_filter();
    assert!(g.matches("billing-eu"));
    assert!(g.matches("audit"));
    assert!(!g.matches("audit-2"), "^audit$ is the exact name");
    assert!(!g.matches("billing-test"));
    assert!(
        g.matches("billing-test-2"),
        "^billing-test$ denies only billing-test"
    );
    assert!(!g.matches("other"));
    let t = c.clusters[0].topic_filter();
    assert!(t.matches("orders"));
    assert!(!t.matches("__consumer_offsets"));
    assert!(NameFilter::all().matches("anything"));
}

/// A cluster built in code, as the demo builds its own.
fn code_cluster(groups_allow: &[&str], groups_deny: &[&str], topics_deny: &[&str]) -> Config {
    let mut c = ClusterConfig::new("prod", "k1:9092");
    c.groups.allow = groups_allow.iter().map(|p| p.to_string()).collect();
    c.groups.deny = groups_deny.iter().map(|p| p.to_string()).collect();
    c.topics.deny = topics_deny.iter().map(|p| p.to_string()).collect();
    Config {
        clusters: vec![c],
        ..Config::default()
    }
}

#[test]
fn validation_compiles_the_filters_the_config_carries() {
    let config = code_cluster(&["^billing-", "audit"], &["^billing-test$"], &["^__"])
        .validate()
        .unwrap();
    let c = &config.clusters[0];
    let g = c.group_filter();
    assert!(g.matches("billing-eu"));
    assert!(g.matches("audit"));
    assert!(
        g.matches("audit-2"),
        "a pattern matches anywhere: at the start"
    );
    assert!(
        g.matches("x-audit"),
        "a pattern matches anywhere: at the end"
    );
    assert!(!g.matches("x-billing-eu"), "^ anchors the start");
    assert!(!g.matches("billing-test"), "deny wins over allow");
    assert!(!g.matches("other"), "not in a non-empty allow list");
    let t = c.topic_filter();
    assert!(t.matches("orders"), "an empty allow list allows all");
    assert!(!t.matches("__consumer_offsets"));
    assert!(t.matches("x__y"), "deny's ^ anchors the start too");

    // A clone carries the same compiled filters.
    let copy = config.clone();
    assert!(copy.clusters[0].group_filter().matches("audit"));

    // Changed lists are compiled again by validating again.
    let mut changed = config;
    changed.clusters[0].groups.allow = vec!["other".into()];
    changed.clusters[0].groups.deny.clear();
    let changed = changed.validate().unwrap();
    assert!(changed.clusters[0].group_filter().matches("other"));
    assert!(!changed.clusters[0].group_filter().matches("audit"));

    // Loading carries them the same way, lists from the environment included.
    let loaded = ok(
        MINIMAL,
        &[
            ("WARREN_CLUSTERS__PROD__GROUPS__ALLOW", "^billing-, ^audit$"),
            ("WARREN_CLUSTERS__PROD__TOPICS__DENY", "^__"),
        ],
    );
    assert!(loaded.clusters[0].group_filter().matches("audit"));
    assert!(!loaded.clusters[0].group_filter().matches("audit-2"));
    assert!(!loaded.clusters[0]
        .topic_filter()
        .matches("__consumer_offsets"));
}

#[test]
#[should_panic(expected = "was not validated")]
fn an_unvalidated_cluster_has_no_filter() {
    ClusterConfig::new("prod", "k1:9092").group_filter();
}

#[test]
#[should_panic(expected = "changed after validation")]
fn a_filter_is_not_used_after_its_lists_changed() {
    let mut config = code_cluster(&[], &[], &[]).validate().unwrap();
    config.clusters[0].topics.deny = vec!["__.*".into()];
    config.clusters[0].topic_filter();
}

#[test]
fn a_bad_regex_names_its_key_on_every_path() {
    let errors = code_cluster(&["ok", "("], &[], &[]).validate().unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters[0].groups.allow[1]");
    assert_eq!(errors[0].message, "invalid regex \"(\": unclosed group");

    let errors = errs(&cluster_with("groups = { allow = [\"ok\", \"(\"] }"), &[]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "clusters[0].groups.allow[1]");

    let errors = errs(MINIMAL, &[("WARREN_CLUSTERS__PROD__GROUPS__ALLOW", "ok,(")]);
    let e = error_for(&errors, "clusters[0].groups.allow[1]");
    assert!(
        e.message
            .ends_with("(from environment variable WARREN_CLUSTERS__PROD__GROUPS__ALLOW)"),
        "{e}"
    );
}

#[test]
fn code_configs_get_the_rules_of_loaded_ones() {
    let mut config = code_cluster(&[], &[], &[]);
    config.window.points = 1;
    config.clusters.push(ClusterConfig::new("prod", ""));
    let errors = config.validate().unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "window.points",
            "clusters[1].name",
            "clusters[1].bootstrap_servers"
        ]
    );
    assert!(Config::default().validate().unwrap().clusters.is_empty());
}

#[test]
fn validation_gives_the_evaluator_the_poll_interval() {
    let c = ok(&cluster_with("poll_interval = \"5s\""), &[]);
    assert_eq!(c.clusters[0].evaluator.poll_interval, 5);
    let c = ok(&cluster_with("poll_interval = \"500ms\""), &[]);
    assert_eq!(c.clusters[0].evaluator.poll_interval, 1, "at least 1");
    let mut config = code_cluster(&[], &[], &[]);
    config.clusters[0].poll_interval = Duration::from_secs(3);
    let config = config.validate().unwrap();
    assert_eq!(config.clusters[0].evaluator.poll_interval, 3);
}

#[test]
fn the_demo_config_is_validated() {
    let config = crate::demo::demo_config("127.0.0.1:1", "127.0.0.1:9".parse().unwrap());
    let c = &config.clusters[0];
    assert_eq!(c.poll_interval, Duration::from_secs(2));
    assert_eq!(c.evaluator.poll_interval, 2);
    assert!(!c.topic_filter().matches("__consumer_offsets"));
    assert!(c.topic_filter().matches("orders"));
    for group in &c.groups.static_groups {
        assert!(c.group_filter().matches(group), "{group}");
    }
}

#[test]
fn display_names_the_key() {
    let e = ConfigError::new(
        "clusters[1].poll_interval",
        "must be at least 100ms, got 5ms",
    );
    assert_eq!(
        e.to_string(),
        "config key `clusters[1].poll_interval`: must be at least 100ms, got 5ms"
    );
}

#[test]
fn render_paths() {
    let p = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(render_path("", &p(&["http", "listen"])), "http.listen");
    assert_eq!(
        render_path("clusters[1]", &p(&["groups", "allow", "2"])),
        "clusters[1].groups.allow[2]"
    );
    assert_eq!(
        render_path("clusters[0]", &p(&["client", "sasl.password"])),
        "clusters[0].client.\"sasl.password\""
    );
    assert_eq!(
        render_path("clusters[0]", &p(&["labels", "7"])),
        "clusters[0].labels.7"
    );
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure type returns figment::Error
fn load_reads_the_process_environment() {
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file("w.toml", MINIMAL)?;
        jail.set_env("WARREN_CLUSTERS__PROD__POLL_INTERVAL", "2s");
        jail.set_env("WARREN_CONFIG", "w.toml");
        let c = load(Some(Path::new("w.toml"))).map_err(|e| format!("{e:?}"))?;
        assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(2));
        jail.set_env("WARREN_NOPE", "1");
        let errors = load(Some(Path::new("w.toml"))).unwrap_err();
        assert_eq!(errors[0].key, "nope");
        Ok(())
    });
}

/// Burrow (and kafka_exporter) match a pattern anywhere in the name, as Go's `MatchString`;
/// `^name$` is how to write an exact name. A Burrow user's patterns mean the same in warren.
#[test]
fn item12_patterns_match_anywhere_like_burrow() {
    for section in ["groups", "topics"] {
        let filter = |list: &str| {
            let c = ok(&cluster_with(&format!("[clusters.{section}]\n{list}")), &[]);
            let cluster = &c.clusters[0];
            let f = match section {
                "groups" => cluster.group_filter(),
                _ => cluster.topic_filter(),
            };
            f.clone()
        };
        let deny = filter("deny = [\"^console-consumer-\"]");
        assert!(
            !deny.matches("console-consumer-12345"),
            "{section}: deny ^console-consumer- denies console-consumer-12345"
        );
        assert!(
            deny.matches("my-console-consumer-1"),
            "{section}: ^ anchors the start only"
        );
        assert!(deny.matches("orders"), "{section}");

        let allow = filter("allow = [\"orders\"]");
        for name in ["orders", "orders-dlq", "my-orders"] {
            assert!(allow.matches(name), "{section}: allow orders allows {name}");
        }
        assert!(
            !allow.matches("payments"),
            "{section}: payments is not allowed"
        );

        let exact = filter("allow = [\"^orders$\"]");
        assert!(exact.matches("orders"), "{section}: ^orders$ allows orders");
        for name in ["orders-dlq", "my-orders", "xorders"] {
            assert!(
                !exact.matches(name),
                "{section}: ^orders$ allows only orders, not {name}"
            );
        }
    }
}

// ---- Issue 17: configuration that cannot work is refused, naming the key ----

#[test]
fn item4_retention_must_be_whole_seconds_and_outlast_the_longest_poll() {
    let with_retention = |retention: &str, poll: &str| {
        format!(
            "retention = \"{retention}\"\n{}",
            cluster_with(&format!("poll_interval = \"{poll}\""))
        )
    };
    for (retention, poll) in [
        ("0s", "10s"),
        ("500ms", "10s"),
        ("1s 500ms", "100ms"),
        ("19s", "10s"),
        ("4294967296s", "10s"),
        ("10years 1s", "10s"),
    ] {
        let errors = errs(&with_retention(retention, poll), &[]);
        assert_eq!(errors.len(), 1, "{retention}: {errors:#?}");
        let e = error_for(&errors, "retention");
        assert!(
            e.message
                .starts_with("must be whole seconds, at least twice the longest poll_interval"),
            "{retention}: {e}"
        );
        assert!(e.message.contains("at most 10years"), "{e}");
    }
    let e = &errs(&with_retention("19s", "10s"), &[])[0];
    assert!(
        e.message.contains("(clusters[0]: 10s), so at least 20s"),
        "{e}"
    );
    assert!(e.message.contains("got 19s"), "{e}");
    for (retention, poll) in [
        ("20s", "10s"),
        ("1s", "100ms"),
        ("1s", "500ms"),
        ("10years", "1day"),
    ] {
        let c = ok(&with_retention(retention, poll), &[]);
        assert_eq!(c.retention, humantime::parse_duration(retention).unwrap());
    }
    // The longest poll of all clusters counts; an override is named.
    let text = format!(
        "retention = \"1m\"\n{MINIMAL}\n[[clusters]]\nname = \"slow\"\nbootstrap_servers = \"k:1\"\n\
         poll_interval = \"45s\"\n"
    );
    let e = &errs(&text, &[])[0];
    assert!(
        e.message.contains("(clusters[1]: 45s), so at least 1m 30s"),
        "{e}"
    );
    let errors = errs(MINIMAL, &[("WARREN_RETENTION", "0s")]);
    assert!(error_for(&errors, "retention")
        .message
        .contains("WARREN_RETENTION"));
}

#[test]
fn item5_durations_that_reach_librdkafka_or_a_timer_are_bounded() {
    for (line, key, message) in [
        (
            "request_timeout = \"25days\"",
            "request_timeout",
            "must be at least 100ms and at most 1h, got 25days",
        ),
        (
            "request_timeout = \"1h 1s\"",
            "request_timeout",
            "at most 1h, got 1h 1s",
        ),
        (
            "request_timeout = \"50ms\"",
            "request_timeout",
            "at least 100ms",
        ),
        (
            "poll_interval = \"2days\"",
            "poll_interval",
            "must be at least 100ms and at most 1day, got 2days",
        ),
        (
            "metadata_refresh = \"30days\"",
            "metadata_refresh",
            "must be greater than 0 and at most 1day",
        ),
        (
            "groups_refresh = \"0s\"",
            "groups_refresh",
            "must be greater than 0 and at most 1day, got 0s",
        ),
        (
            "evaluator = { min_distance = \"137years\" }",
            "evaluator.min_distance",
            "at most 1day",
        ),
        (
            "groups = { describe_refresh = \"0s\" }",
            "groups.describe_refresh",
            "must be greater than 0 and at most 1day, got 0s",
        ),
        (
            "groups = { describe_refresh = \"100years\" }",
            "groups.describe_refresh",
            "at most 1day",
        ),
        (
            "time_lag_max_read_time = \"0s\"",
            "time_lag_max_read_time",
            "must be greater than 0 and at most 1m, got 0s",
        ),
        (
            "time_lag_max_read_time = \"2m\"",
            "time_lag_max_read_time",
            "at most 1m, got 2m",
        ),
        (
            "time_lag_max_reads = 0",
            "time_lag_max_reads",
            "must be between 1 and 100000, got 0",
        ),
        (
            "time_lag_max_reads = 100001",
            "time_lag_max_reads",
            "must be between 1 and 100000, got 100001",
        ),
        ("time_lag = \"exact\"", "time_lag", "unknown variant"),
        (
            "granularity = \"partitions\"",
            "granularity",
            "unknown variant",
        ),
        (
            "offset_requests = \"all\"",
            "offset_requests",
            "unknown variant",
        ),
    ] {
        let errors = errs(
            &format!("retention = \"10years\"\n{}", cluster_with(line)),
            &[],
        );
        assert_eq!(errors.len(), 1, "{line}: {errors:#?}");
        let e = error_for(&errors, &format!("clusters[0].{key}"));
        assert!(e.message.contains(message), "{line}: {e}");
    }
    let c = ok(
        &cluster_with(
            "request_timeout = \"1h\"\npoll_interval = \"100ms\"\nmetadata_refresh = \"1day\"",
        ),
        &[],
    );
    assert_eq!(c.clusters[0].request_timeout, Duration::from_secs(3600));
    assert_eq!(c.clusters[0].offset_requests, None);
    let c = ok(&cluster_with("offset_requests = \"partitions\""), &[]);
    assert_eq!(
        c.clusters[0].offset_requests,
        Some(crate::config::OffsetRequests::Partitions)
    );
}

#[test]
fn item5_client_properties_are_checked_by_librdkafka() {
    let text = cluster_with(
        "client = { \"no.such.property\" = \"1\", \"security.protocol\" = \"CARRIER_PIGEON\", \
         \"socket.timeout.ms\" = \"soon\", \"client.id\" = \"fine\" }",
    );
    let errors = errs(&text, &[]);
    assert_eq!(
        error_for(&errors, "clusters[0].client.\"no.such.property\"").message,
        "librdkafka rejects it: No such configuration property: \"no.such.property\" (see \
         librdkafka's CONFIGURATION.md)"
    );
    assert_eq!(
        error_for(&errors, "clusters[0].client.\"security.protocol\"").message,
        "librdkafka rejects it: Invalid value \"CARRIER_PIGEON\" for configuration property \
         \"security.protocol\" (see librdkafka's CONFIGURATION.md)"
    );
    error_for(&errors, "clusters[0].client.\"socket.timeout.ms\"");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    // From the environment too, naming the variable.
    let errors = errs(
        MINIMAL,
        &[(
            "WARREN_CLUSTERS__PROD__CLIENT__SECURITY_PROTOCOL",
            "carrier",
        )],
    );
    let e = error_for(&errors, "clusters[0].client.\"security.protocol\"");
    assert!(
        e.message
            .contains("WARREN_CLUSTERS__PROD__CLIENT__SECURITY_PROTOCOL"),
        "{e}"
    );
    // What warren sets itself goes through librdkafka as well.
    let props = kafka_properties("k:1", &BTreeMap::new(), None).unwrap();
    assert_eq!(props.get("group.id"), Some(DEFAULT_ADMIN_GROUP_ID));
    assert_eq!(props.get("enable.auto.commit"), Some("false"));
    assert_eq!(props.get("bootstrap.servers"), Some("k:1"));
}

#[test]
fn item5_librdkafka_messages_never_show_a_secret_value() {
    use super::kafka::hide_secret_value;
    let reason = "Invalid value \"hunter2\" for configuration property \"sasl.password\"";
    assert_eq!(
        hide_secret_value(reason, "sasl.password", "hunter2"),
        "Invalid value \"***\" for configuration property \"sasl.password\""
    );
    assert_eq!(hide_secret_value(reason, "client.id", "hunter2"), reason);
    // A short secret does not mangle the rest of the message.
    let reason = "Invalid value \"s\" for configuration property \"ssl.key.password\"";
    assert_eq!(
        hide_secret_value(reason, "ssl.key.password", "s"),
        "Invalid value \"***\" for configuration property \"ssl.key.password\""
    );
    let text = cluster_with("client = { \"sasl.password.typo\" = \"hunter2\" }");
    let errors = errs(&text, &[]);
    assert!(!format!("{errors:?}").contains("hunter2"), "{errors:#?}");
}

#[test]
fn item5_bootstrap_servers_are_parsed_as_librdkafka_does() {
    for (servers, message) in [
        (
            "host:99999",
            "broker \"host:99999\": port \"99999\" is not a number from 1 to 65535",
        ),
        ("k1:9092,host:0", "broker \"host:0\": port \"0\""),
        ("host:", "broker \"host:\": port \"\""),
        (":9092", "broker \":9092\": empty host"),
        ("PLAINTEXT://:9092", "empty host"),
        (
            "SSL://k:9092",
            "protocol SSL differs from the cluster's security.protocol (plaintext)",
        ),
        (
            "pigeon://k:9092",
            "unknown protocol \"pigeon\"; expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        ),
        ("bob@k:0", "broker \"***@k:0\""),
        (", ,", "names no broker"),
    ] {
        let text = format!("[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"{servers}\"\n");
        let errors = errs(&text, &[]);
        assert_eq!(errors.len(), 1, "{servers}: {errors:#?}");
        let e = error_for(&errors, "clusters[0].bootstrap_servers");
        assert!(e.message.contains(message), "{servers}: {e}");
        assert!(!e.message.contains("bob"), "{e}");
    }
    for servers in [
        "k1",
        "k1:9092 k2:9092",
        "k1:9092,,k2:65535",
        "[::1]:9092",
        "[::1]",
        "PLAINTEXT://k1:9092/ignored",
    ] {
        ok(
            &format!("[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"{servers}\"\n"),
            &[],
        );
    }
    ok(
        "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"ssl://k1:9093\"\n\
         client = { \"security.protocol\" = \"SSL\" }\n",
        &[],
    );
}

#[test]
fn item5_cluster_names_must_differ_as_environment_selectors_see_them() {
    for (first, second) in [("a", "A"), ("prod-eu", "PROD_EU"), ("prod.eu", "prod-eu")] {
        let text = format!(
            "[[clusters]]\nname = \"{first}\"\nbootstrap_servers = \"k:1\"\n\
             [[clusters]]\nname = \"{second}\"\nbootstrap_servers = \"k:1\"\n"
        );
        let errors = errs(&text, &[]);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = error_for(&errors, "clusters[1].name");
        assert_eq!(
            e.message,
            format!(
                "cluster name \"{second}\" clashes with \"{first}\" (clusters[0]): names must \
                 differ in more than case and `-`, `.`, `_`, which environment selectors \
                 (WARREN_CLUSTERS__<NAME>__…) do not tell apart"
            )
        );
    }
}

#[test]
fn item6_a_value_the_toml_parser_rejects_names_its_key() {
    let errors = errs(
        &format!("[window]\npoints = 99999999999999999999\n{MINIMAL}"),
        &[],
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "window.points");
    assert!(
        errors[0].message.ends_with(
            "is not valid TOML (line 2, column 10): number too large to fit in target type"
        ),
        "{errors:?}"
    );
    for (extra, key) in [
        (
            "evaluator = { allowed_lag = 99999999999999999999 }",
            "clusters[1].evaluator.allowed_lag",
        ),
        (
            "[clusters.client]\n\"fetch.max.bytes\" = 99999999999999999999",
            "clusters[1].client.\"fetch.max.bytes\"",
        ),
        (
            "groups = { static = [\"a\", 99999999999999999999] }",
            "clusters[1].groups.static[1]",
        ),
    ] {
        let text = format!(
            "{MINIMAL}\n[[clusters]]\nname = \"b\"\nbootstrap_servers = \"k:1\"\n{extra}\n"
        );
        assert_eq!(errs(&text, &[])[0].key, key, "{extra}");
    }
}

#[test]
fn item6_librdkafka_sensitive_properties_are_masked() {
    let mut cluster = ClusterConfig::new("prod", "k:1");
    for (i, property) in mask::LIBRDKAFKA_SENSITIVE.iter().enumerate() {
        assert!(is_secret_key(property), "{property}");
        cluster
            .client
            .insert(property.to_string(), format!("canary-{i}"));
    }
    cluster
        .client
        .insert("sasl.jaas.config".into(), "canary-jaas".into());
    cluster.client.insert("client.id".into(), "shown".into());
    let config = Config {
        clusters: vec![cluster],
        ..Config::default()
    };
    let shown = config.masked_toml();
    assert!(!shown.contains("canary"), "{shown}");
    assert!(
        shown.contains("\"sasl.oauthbearer.assertion.private.key.passphrase\" = \"***\""),
        "{shown}"
    );
    assert!(
        shown.contains("\"sasl.oauthbearer.config\" = \"***\""),
        "{shown}"
    );
    assert!(shown.contains("\"client.id\" = \"shown\""), "{shown}");
}

/// The vendored librdkafka source of the rdkafka-sys version in Cargo.lock, if on this machine.
fn vendored_rdkafka_conf_c() -> Option<String> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).ok()?;
    let after = &lock[lock.find("name = \"rdkafka-sys\"")?..];
    let version = after
        .lines()
        .nth(1)?
        .trim()
        .strip_prefix("version = \"")?
        .strip_suffix('"')?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let registries = std::fs::read_dir(cargo_home.join("registry/src")).ok()?;
    registries.flatten().find_map(|r| {
        let file = r.path().join(format!(
            "rdkafka-sys-{version}/librdkafka/src/rdkafka_conf.c"
        ));
        std::fs::read_to_string(file).ok()
    })
}

#[test]
fn item6_the_sensitive_list_is_librdkafkas() {
    let Some(source) = vendored_rdkafka_conf_c() else {
        eprintln!("skipped: the vendored librdkafka source is not on this machine");
        return;
    };
    // Property entries read `{<scope flags>, "name", …`; the sensitive ones have _RK_SENSITIVE
    // among the flags.
    let mut sensitive: Vec<&str> = source
        .match_indices('{')
        .filter_map(|(at, _)| {
            let rest = &source[at + 1..];
            let quote = rest.find('"')?;
            let flags = &rest[..quote];
            if !flags.trim_start().starts_with("_RK_") || !flags.contains("_RK_SENSITIVE") {
                return None;
            }
            let name = &rest[quote + 1..];
            Some(&name[..name.find('"')?])
        })
        .collect();
    sensitive.sort_unstable();
    assert!(sensitive.len() >= 10, "parsed {sensitive:?}");
    assert_eq!(sensitive, mask::LIBRDKAFKA_SENSITIVE);
}

#[test]
fn item7_only_a_regular_file_of_at_most_1_mib_is_read() {
    let dir =
        std::env::temp_dir().join(format!("warren-config-unit-special-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let big = dir.join("big.toml");
    let exact = dir.join("exact.toml");
    let padding = |n: usize| format!("{MINIMAL}#{}\n", "x".repeat(n - MINIMAL.len() - 2));
    std::fs::write(&big, padding(1024 * 1024 + 1)).unwrap();
    std::fs::write(&exact, padding(1024 * 1024)).unwrap();
    for (path, message) in [
        (
            fifo.clone(),
            "is a FIFO (named pipe), not a regular file; expected the path of a TOML file",
        ),
        (
            PathBuf::from("/dev/zero"),
            "is a character device, not a regular file; expected the path of a TOML file",
        ),
        (
            dir.clone(),
            "is a directory, not a regular file; expected the path of a TOML file",
        ),
        (
            big.clone(),
            "is 1048577 bytes; a configuration file may be at most 1 MiB (1048576 bytes)",
        ),
    ] {
        let errors = load_from(Some(&path), &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key, "config");
        assert_eq!(errors[0].message, format!("{} {message}", path.display()));
    }
    assert_eq!(
        load_from(Some(&exact), &[]).unwrap().clusters[0].name,
        "prod"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aws_msk_iam_auth_sets_oauthbearer_and_sasl_ssl() {
    let text = cluster_with("auth = { type = \"aws_msk_iam\", region = \"eu-west-1\" }");
    let config = ok(&text, &[]);
    let c = &config.clusters[0];
    let auth = c.auth.as_ref().expect("auth");
    assert_eq!(auth.kind, AuthKind::AwsMskIam);
    assert_eq!(auth.msk_iam_region(), Some("eu-west-1"));
    let props = kafka_properties(&c.bootstrap_servers, &c.client, c.auth.as_ref()).unwrap();
    assert_eq!(props.get("sasl.mechanism"), Some("OAUTHBEARER"));
    assert_eq!(props.get("security.protocol"), Some("SASL_SSL"));
    // check-config shows the block (nothing in it is secret), and it loads back the same.
    let shown = config.masked_toml();
    assert!(
        shown.contains("[clusters.auth]\ntype = \"aws_msk_iam\"\nregion = \"eu-west-1\"\n"),
        "{shown}"
    );
    assert_eq!(ok(&shown, &[]).clusters[0].auth, c.auth);
    // Without auth, nothing changes.
    let plain = ok(MINIMAL, &[]);
    let c = &plain.clusters[0];
    assert_eq!(c.auth, None);
    let props = kafka_properties(&c.bootstrap_servers, &c.client, None).unwrap();
    assert_eq!(props.get("sasl.mechanism"), None);
    assert_eq!(props.get("security.protocol"), None);
    assert!(!plain.masked_toml().contains("[clusters.auth]"));
}

#[test]
fn aws_msk_iam_auth_keeps_the_users_sasl_protocol_and_comes_from_the_environment() {
    let config = ok(
        MINIMAL,
        &[
            ("WARREN_CLUSTERS__PROD__AUTH__TYPE", "aws_msk_iam"),
            ("WARREN_CLUSTERS__PROD__AUTH__REGION", "us-east-2"),
            (
                "WARREN_CLUSTERS__PROD__CLIENT__SECURITY_PROTOCOL",
                "SASL_PLAINTEXT",
            ),
            (
                "WARREN_CLUSTERS__PROD__CLIENT__SASL_MECHANISM",
                "oauthbearer",
            ),
        ],
    );
    let c = &config.clusters[0];
    assert_eq!(
        c.auth,
        Some(AuthConfig {
            kind: AuthKind::AwsMskIam,
            region: "us-east-2".to_string()
        })
    );
    let props = kafka_properties(&c.bootstrap_servers, &c.client, c.auth.as_ref()).unwrap();
    assert_eq!(props.get("security.protocol"), Some("SASL_PLAINTEXT"));
    assert_eq!(props.get("sasl.mechanism"), Some("OAUTHBEARER"));
    // A `proto://` broker prefix must match the protocol auth brings.
    let text = "[[clusters]]\nname = \"msk\"\nbootstrap_servers = \"sasl_ssl://b-1:9098\"\n\
                auth = { type = \"aws_msk_iam\", region = \"eu-west-1\" }\n";
    ok(text, &[]);
    let text = text.replace("sasl_ssl://", "ssl://");
    let errors = errs(&text, &[]);
    let e = error_for(&errors, "clusters[0].bootstrap_servers");
    assert!(
        e.message
            .contains("differs from the cluster's security.protocol (sasl_ssl)"),
        "{e}"
    );
}

#[test]
fn aws_msk_iam_auth_errors_name_their_keys() {
    let with = |auth: &str, client: &str| {
        errs(
            &format!(
                "[[clusters]]\nname = \"msk\"\nbootstrap_servers = \"b-1:9098\"\n\
                 auth = {auth}\nclient = {client}\n"
            ),
            &[],
        )
    };
    let region = "{ type = \"aws_msk_iam\", region = \"eu-west-1\" }";
    let errors = with("{ type = \"kerberos\", region = \"eu-west-1\" }", "{}");
    let e = error_for(&errors, "clusters[0].auth.type");
    assert!(e.message.contains("aws_msk_iam"), "{e}");
    let errors = with("{ type = \"aws_msk_iam\" }", "{}");
    let e = error_for(&errors, "clusters[0].auth.region");
    assert_eq!(e.message, "required key is missing");
    let errors = with(
        "{ type = \"aws_msk_iam\", region = \"eu-west-1\", role = \"x\" }",
        "{}",
    );
    let e = error_for(&errors, "clusters[0].auth.role");
    assert_eq!(e.message, "unknown key; expected one of `type`, `region`");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    for bad in ["", "EU-WEST-1", "eu west 1", "eu-west-1.evil.example/"] {
        let errors = with(
            &format!("{{ type = \"aws_msk_iam\", region = {bad:?} }}"),
            "{}",
        );
        let e = error_for(&errors, "clusters[0].auth.region");
        assert!(e.message.starts_with("invalid AWS region"), "{e}");
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }
    let errors = with(region, "{ \"sasl.mechanism\" = \"SCRAM-SHA-512\" }");
    let e = error_for(&errors, "clusters[0].client.\"sasl.mechanism\"");
    assert!(
        e.message.contains("conflicts with `clusters[0].auth`"),
        "{e}"
    );
    let errors = with(region, "{ \"sasl.mechanisms\" = \"PLAIN\" }");
    error_for(&errors, "clusters[0].client.\"sasl.mechanisms\"");
    let errors = with(region, "{ \"sasl.oauthbearer.method\" = \"oidc\" }");
    let e = error_for(&errors, "clusters[0].client.\"sasl.oauthbearer.method\"");
    assert!(
        e.message.contains("warren makes the OAUTHBEARER tokens"),
        "{e}"
    );
    let errors = with(
        region,
        "{ \"enable.sasl.oauthbearer.unsecure.jwt\" = \"true\" }",
    );
    error_for(
        &errors,
        "clusters[0].client.\"enable.sasl.oauthbearer.unsecure.jwt\"",
    );
    let errors = with(region, "{ \"security.protocol\" = \"SSL\" }");
    let e = error_for(&errors, "clusters[0].client.\"security.protocol\"");
    assert!(e.message.starts_with("must be SASL_SSL"), "{e}");
    // The same mechanism, in any case, is no conflict.
    ok(
        &format!(
            "[[clusters]]\nname = \"msk\"\nbootstrap_servers = \"b-1:9098\"\nauth = {region}\n\
             client = {{ \"sasl.mechanism\" = \"OAuthBearer\" }}\n"
        ),
        &[],
    );
}
