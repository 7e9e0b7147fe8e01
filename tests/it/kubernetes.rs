//! Checks of the Kubernetes manifests (`deploy/kubernetes/`) and the Helm chart
//! (`deploy/helm/warren/`) with the real tools:
//! - `helm lint --strict` with the default values and `ci/two-clusters-values.yaml`;
//! - `kubectl kustomize` of the base, `helm template` with both value sets, the examples and
//!   the Secret example split into objects, every core object validated by
//!   `kubernetes-validate --strict` (Kubernetes 1.33) and every custom resource (ServiceMonitor,
//!   PodMonitor, PrometheusRule, ScaledObject) by its CRD schema (`tests/k8s/validate-crds.mjs`,
//!   the @kubernetes-models packages), with broken objects shown to fail both;
//! - both PrometheusRules' `spec.groups` equal to `deploy/prometheus/alerts.yaml`'s groups, the
//!   chart's `files/alerts.yaml` byte-identical to it, `promtool check rules` on each spec;
//! - every warren.toml in a ConfigMap accepted by the built `warren check-config`, with the
//!   Deployment's environment (so the Secret's variable selects an existing cluster), and the
//!   Deployments probing /healthz and /readyz on the configured port, non-root, read-only;
//! - exact values: the two-cluster render's clusters and secret variable, the sidecar's static
//!   group, the KEDA trigger's target and query.
//!
//! helm, kubectl, kubernetes-validate and the node models come from `bash .ci/install-deploy-tools`
//! (cached under `$WARREN_TOOLS_ROOT`, default `~/.cache/warren/tools`), `promtool` from the
//! Debian package `prometheus`, `node` from the machine. Without one of them the suite
//! `kubernetes` is skipped, naming the tool and how to install it (or fails with
//! `WARREN_REQUIRE_TOOLS=1`, see `tools::suite`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::tools::{self, read, repo_path, run, run_ok, text};

const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const KUSTOMIZE_DIR: &str = "deploy/kubernetes";
const SECRET_EXAMPLE: &str = "deploy/kubernetes/secret-example.yaml";
const SIDECAR: &str = "deploy/kubernetes/examples/sidecar.yaml";
const KEDA: &str = "deploy/kubernetes/examples/keda-scaledobject.yaml";
const CHART: &str = "deploy/helm/warren";
const CHART_ALERTS: &str = "deploy/helm/warren/files/alerts.yaml";
const CI_VALUES: &str = "deploy/helm/warren/ci/two-clusters-values.yaml";
const VALIDATE_CRDS: &str = "tests/k8s/validate-crds.mjs";

/// The Kubernetes version every core object is validated against.
const KUBERNETES_VERSION: &str = "1.33.0";
/// The namespace the chart is rendered into.
const NAMESPACE: &str = "monitoring";
const WARREN_ARGS: [&str; 3] = ["run", "--config", "/etc/warren/warren.toml"];

/// Custom resources: kubernetes-validate has no schema for them (it warns and passes), so each
/// is validated by validate-crds.mjs instead.
const CRD_KINDS: &[(&str, &str)] = &[
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
];

const INSTALL_HINT: &str = "run `bash .ci/install-deploy-tools` (helm, kubectl, \
    kubernetes-validate and the CRD schema models, cached under $WARREN_TOOLS_ROOT, default \
    ~/.cache/warren/tools)";

/// YAML (any number of documents) to a JSON array, with the PyYAML of kubernetes-validate's
/// venv; empty documents are dropped.
const YAML_TO_JSON: &str = "import json, sys, yaml\n\
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d is not None]\n\
    json.dump(docs, sys.stdout)\n";

/// The suite runs when every tool is there (see `tools::suite`).
fn can_run() -> bool {
    tools::suite(
        "kubernetes",
        &[
            tools::helm,
            tools::kubectl,
            tools::kubernetes_validate,
            tools::tools_python,
            tools::node_models,
            tools::node,
            tools::promtool,
        ],
    )
}

/// A file installed by .ci/install-deploy-tools (present once [`can_run`] said yes).
fn installed(rel: &str) -> PathBuf {
    let path = tools::tools_root().join(rel);
    assert!(
        path.exists(),
        "{} is missing: {INSTALL_HINT}",
        path.display()
    );
    path
}

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(tag: &str) -> Self {
        TempDir(crate::common::temp_dir(&format!("k8s-{tag}")))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

/// Every document of `yaml` as JSON.
fn yaml_docs(yaml: &str) -> Vec<Value> {
    use std::io::Write;
    let python = installed("venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", YAML_TO_JSON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}: {INSTALL_HINT}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .expect("write YAML to python");
    let out = child.wait_with_output().expect("python yaml");
    assert!(out.status.success(), "YAML parse failed:\n{}", text(&out));
    match serde_json::from_slice(&out.stdout).expect("JSON from python") {
        Value::Array(docs) => docs,
        other => panic!("not a list of documents: {other}"),
    }
}

/// helm with its cache, config and data in a fresh temporary directory.
fn helm(args: &[&str]) -> Output {
    let home = TempDir::new("helm");
    let mut cmd = Command::new(installed("bin/helm"));
    cmd.args(args)
        .current_dir(repo_path(""))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"));
    run(&mut cmd, INSTALL_HINT)
}

fn helm_template(release: &str, extra: &[&str]) -> String {
    let mut args = vec!["template", release, CHART, "--namespace", NAMESPACE];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm {}:\n{}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Every object of each source, rendered once per test process.
struct Renders {
    /// `kubectl kustomize deploy/kubernetes`.
    kustomize: Vec<Value>,
    secret_example: Vec<Value>,
    sidecar: Vec<Value>,
    keda: Vec<Value>,
    /// `helm template warren` with the default values.
    chart_default: Vec<Value>,
    /// `helm template lag -f ci/two-clusters-values.yaml`.
    chart_ci: Vec<Value>,
}

impl Renders {
    fn all(&self) -> [(&'static str, &[Value]); 6] {
        [
            ("kustomize", &self.kustomize),
            ("secret-example", &self.secret_example),
            ("sidecar", &self.sidecar),
            ("keda", &self.keda),
            ("chart-default", &self.chart_default),
            ("chart-ci", &self.chart_ci),
        ]
    }
}

fn renders() -> &'static Renders {
    static RENDERS: OnceLock<Renders> = OnceLock::new();
    RENDERS.get_or_init(|| {
        let kustomized = run_ok(
            Command::new(installed("bin/kubectl"))
                .args(["kustomize", repo_path(KUSTOMIZE_DIR).to_str().unwrap()]),
            INSTALL_HINT,
            "kubectl kustomize deploy/kubernetes",
        );
        Renders {
            kustomize: yaml_docs(&kustomized),
            secret_example: yaml_docs(&read(SECRET_EXAMPLE)),
            sidecar: yaml_docs(&read(SIDECAR)),
            keda: yaml_docs(&read(KEDA)),
            chart_default: yaml_docs(&helm_template("warren", &[])),
            chart_ci: yaml_docs(&helm_template("lag", &["-f", CI_VALUES])),
        }
    })
}

fn get<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or_else(|| {
        panic!(
            "no {pointer} in {}",
            serde_json::to_string_pretty(v).unwrap()
        )
    })
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    get(v, pointer)
        .as_str()
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v}"))
}

fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name")
}

fn kinds<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of `kind` in `objects`.
fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = kinds(objects, kind);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {kind}, found {}",
        found.len()
    );
    found[0]
}

fn kind_set(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect()
}

fn is_crd_kind(o: &Value) -> bool {
    CRD_KINDS
        .iter()
        .any(|(api, kind)| o["apiVersion"] == *api && o["kind"] == *kind)
}

/// Writes each object to `dir` as `SOURCE-NN-KIND-NAME.json`.
fn write_objects(dir: &TempDir, source: &str, objects: &[Value]) -> Vec<(PathBuf, Value)> {
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let file = format!(
                "{source}-{i:02}-{}-{}.json",
                o["kind"].as_str().unwrap(),
                name(o)
            );
            (dir.write(&file, &o.to_string()), o.clone())
        })
        .collect()
}

fn kubernetes_validate(files: &[&Path]) -> Output {
    let mut cmd = Command::new(installed("venv/bin/kubernetes-validate"));
    cmd.args(["-k", KUBERNETES_VERSION, "--strict"]).args(files);
    run(&mut cmd, INSTALL_HINT)
}

fn validate_crds(files: &[&Path]) -> Output {
    let mut cmd = Command::new(tools::path(tools::node));
    cmd.arg(repo_path(VALIDATE_CRDS))
        .arg(installed("node/node_modules"))
        .args(files);
    run(
        &mut cmd,
        "install Node.js (`node` on PATH; Debian package nodejs)",
    )
}

fn promtool_check_rules(dir: &TempDir, file: &str, rules: &Value) -> String {
    let path = dir.write(file, &serde_json::to_string_pretty(rules).unwrap());
    let out = run(
        Command::new(tools::path(tools::promtool)).args(["check", "rules", path.to_str().unwrap()]),
        "install the Debian package `prometheus` (apt-get install prometheus; .ci/run does)",
    );
    let all = text(&out);
    assert!(out.status.success(), "promtool check rules {file}:\n{all}");
    assert!(
        !all.to_lowercase().contains("warning"),
        "promtool warns on {file}:\n{all}"
    );
    all
}

/// The result of `warren check-config` on one warren.toml.
struct Checked {
    success: bool,
    output: String,
    /// The effective configuration it printed (secrets masked), when it succeeded.
    effective: Option<toml::Table>,
}

/// Runs the built `warren check-config` on `config` with exactly the environment `env`.
fn check_config(config: &str, env: &[(String, String)]) -> Checked {
    let dir = TempDir::new("config");
    let path = dir.write("warren.toml", config);
    let out = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["check-config", "--config", path.to_str().unwrap()])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run warren check-config");
    let success = out.status.success();
    Checked {
        success,
        output: text(&out),
        effective: success.then(|| {
            toml::from_str(&String::from_utf8_lossy(&out.stdout)).expect("check-config prints TOML")
        }),
    }
}

/// A container's environment for check-config: plain values as they are, Secret references as
/// a placeholder (check-config masks it anyway).
fn container_env(container: &Value) -> Vec<(String, String)> {
    let Some(env) = container["env"].as_array() else {
        return Vec::new();
    };
    env.iter()
        .map(|e| {
            let value = match (&e["value"], &e["valueFrom"]["secretKeyRef"]) {
                (Value::String(v), _) => v.clone(),
                (_, Value::Object(r)) => format!(
                    "from-secret-{}-{}",
                    r["name"].as_str().unwrap(),
                    r["key"].as_str().unwrap()
                ),
                _ => panic!("unsupported env entry {e}"),
            };
            (str_at(e, "/name").to_string(), value)
        })
        .collect()
}

fn container<'a>(deployment: &'a Value, container_name: &str) -> &'a Value {
    get(deployment, "/spec/template/spec/containers")
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == container_name)
        .unwrap_or_else(|| panic!("no container {container_name} in {}", name(deployment)))
}

/// The warren.toml of the ConfigMap that `container` mounts at /etc/warren.
fn mounted_config<'a>(objects: &'a [Value], deployment: &Value, container: &Value) -> &'a str {
    let mount = container["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["mountPath"] == "/etc/warren")
        .expect("a volume mounted at /etc/warren");
    assert_eq!(mount["readOnly"], true, "/etc/warren mounted read-only");
    let volume = get(deployment, "/spec/template/spec/volumes")
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume");
    let config_map_name = str_at(volume, "/configMap/name");
    let config_map = kinds(objects, "ConfigMap")
        .into_iter()
        .find(|c| name(c) == config_map_name)
        .unwrap_or_else(|| panic!("ConfigMap {config_map_name} is not in the same render"));
    str_at(config_map, "/data/warren.toml")
}

/// Checks one warren container: its command line, config mount, probes on the listen port,
/// resources and hardening. Returns its warren.toml.
fn check_warren_container<'a>(
    what: &str,
    objects: &'a [Value],
    deployment: &Value,
    container_name: &str,
    port_name: &str,
) -> &'a str {
    let pod = get(deployment, "/spec/template/spec");
    let c = container(deployment, container_name);
    assert_eq!(c["args"], json!(WARREN_ARGS), "{what}: args");
    let config = mounted_config(objects, deployment, c);

    // The container port is the port of http.listen.
    let parsed: toml::Table = toml::from_str(config).expect("warren.toml is TOML");
    let listen = parsed
        .get("http")
        .and_then(|h| h.get("listen"))
        .and_then(|l| l.as_str())
        .unwrap_or("0.0.0.0:9753");
    let listen_port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let ports = c["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1, "{what}: one port");
    assert_eq!(ports[0]["name"], port_name, "{what}: port name");
    assert_eq!(
        ports[0]["containerPort"], listen_port,
        "{what}: port vs {listen}"
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(c[probe]["httpGet"]["path"], path, "{what}: {probe}");
        assert_eq!(
            c[probe]["httpGet"]["port"], port_name,
            "{what}: {probe} port"
        );
    }
    for bound in ["requests", "limits"] {
        assert!(
            c["resources"][bound]["memory"].is_string(),
            "{what}: resources.{bound}.memory"
        );
    }
    assert!(
        c["resources"]["requests"]["cpu"].is_string(),
        "{what}: cpu request"
    );

    // Hardening: the container's own setting, else the pod's.
    let sc = &c["securityContext"];
    let psc = &pod["securityContext"];
    let effective = |key: &str| match &sc[key] {
        Value::Null => psc[key].clone(),
        v => v.clone(),
    };
    assert_eq!(effective("runAsNonRoot"), true, "{what}: runAsNonRoot");
    let uid = effective("runAsUser").as_u64().expect("runAsUser set");
    assert!(uid > 0, "{what}: runAsUser {uid}");
    assert_eq!(
        sc["readOnlyRootFilesystem"], true,
        "{what}: readOnlyRootFilesystem"
    );
    assert_eq!(
        sc["allowPrivilegeEscalation"], false,
        "{what}: allowPrivilegeEscalation"
    );
    assert_eq!(
        sc["capabilities"]["drop"],
        json!(["ALL"]),
        "{what}: capabilities"
    );
    assert_eq!(
        effective("seccompProfile")["type"],
        "RuntimeDefault",
        "{what}: seccompProfile"
    );
    config
}

/// The central warren of a render: its Deployment and container checked, its Service and
/// ServiceMonitor (if any) pointing at it. Returns the Deployment and its warren.toml.
fn check_central<'a>(what: &str, objects: &'a [Value]) -> (&'a Value, &'a str) {
    let deployment = one(objects, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1, "{what}: one replica");
    let pod = get(deployment, "/spec/template/spec");
    assert_eq!(
        pod["automountServiceAccountToken"], false,
        "{what}: no API token"
    );
    let account = one(objects, "ServiceAccount");
    assert_eq!(
        pod["serviceAccountName"], account["metadata"]["name"],
        "{what}: account"
    );
    let config = check_warren_container(what, objects, deployment, "warren", "http");

    let pod_labels = get(deployment, "/spec/template/metadata/labels")
        .as_object()
        .unwrap();
    let service = one(objects, "Service");
    assert_eq!(service["spec"]["type"], "ClusterIP", "{what}: Service type");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http", "port": 9753, "targetPort": "http", "protocol": "TCP"}]),
        "{what}: Service ports"
    );
    for (k, v) in get(service, "/spec/selector").as_object().unwrap() {
        assert_eq!(pod_labels.get(k), Some(v), "{what}: Service selector {k}");
    }
    let service_labels = get(service, "/metadata/labels").as_object().unwrap();
    for monitor in kinds(objects, "ServiceMonitor") {
        for (k, v) in get(monitor, "/spec/selector/matchLabels")
            .as_object()
            .unwrap()
        {
            assert_eq!(
                service_labels.get(k),
                Some(v),
                "{what}: ServiceMonitor selector {k}"
            );
        }
        assert_eq!(
            get(monitor, "/spec/endpoints")[0]["port"],
            "http",
            "{what}: ServiceMonitor port"
        );
        assert_eq!(get(monitor, "/spec/endpoints")[0]["path"], "/metrics");
        // The alerts' WarrenTargetDown and WarrenAbsent need a job name containing "warren".
        let job = &service_labels[str_at(monitor, "/spec/jobLabel")];
        assert!(
            job.as_str().unwrap().contains("warren"),
            "{what}: job name {job} lacks `warren`"
        );
    }
    (deployment, config)
}

/// check-config accepts `config` with the container's environment; returns the effective
/// configuration.
fn accepted(what: &str, config: &str, container: &Value) -> toml::Table {
    let env = container_env(container);
    let checked = check_config(config, &env);
    assert!(
        checked.success,
        "{what}: warren check-config refuses its warren.toml (env {env:?}):\n{}\n{config}",
        checked.output
    );
    checked.effective.unwrap()
}

fn clusters(effective: &toml::Table) -> &Vec<toml::Value> {
    effective["clusters"].as_array().expect("clusters")
}

fn cluster_names(effective: &toml::Table) -> Vec<&str> {
    clusters(effective)
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

fn sasl_password(cluster: &toml::Value) -> Option<&str> {
    cluster.get("client")?.get("sasl.password")?.as_str()
}

#[test]
fn helm_lint_strict_passes() {
    if !can_run() {
        return;
    }
    for extra in [&[][..], &["-f", CI_VALUES][..]] {
        let mut args = vec!["lint", "--strict", CHART];
        args.extend_from_slice(extra);
        let out = helm(&args);
        let all = text(&out);
        assert!(out.status.success(), "helm {}:\n{all}", args.join(" "));
        assert!(
            all.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{all}"
        );
        assert!(
            !all.contains("[WARNING]") && !all.contains("[ERROR]"),
            "helm {}:\n{all}",
            args.join(" ")
        );
    }
}

/// Every object validates: core kinds with kubernetes-validate --strict, custom resources
/// (which it only warns about) against their CRD schemas.
#[test]
fn every_object_validates_against_its_schema() {
    if !can_run() {
        return;
    }
    let r = renders();
    let dir = TempDir::new("validate");
    let mut files = Vec::new();
    for (source, objects) in r.all() {
        assert!(!objects.is_empty(), "{source} rendered no object");
        files.extend(write_objects(&dir, source, objects));
    }
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let out = kubernetes_validate(&paths);
    let all = text(&out);
    assert!(out.status.success(), "kubernetes-validate:\n{all}");
    let mut crd_files = Vec::new();
    for (path, object) in &files {
        let lines: Vec<&str> = all
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(path.to_str().unwrap()))
            .collect();
        let kind = object["kind"].as_str().unwrap();
        let expected = if is_crd_kind(object) {
            crd_files.push(path.as_path());
            format!(
                "WARN {} Couldn't find schema for kind {kind} ",
                path.display()
            )
        } else {
            format!("INFO {} passed for resource ", path.display())
        };
        assert!(
            lines.len() == 1 && lines[0].starts_with(&expected),
            "{}: expected one line `{expected}…`, got {lines:?}",
            path.display()
        );
    }

    // Each custom resource kind is there (none silently dropped), and each validates.
    let crd_kinds: BTreeSet<&str> = files
        .iter()
        .filter(|(_, o)| is_crd_kind(o))
        .map(|(_, o)| o["kind"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = CRD_KINDS.iter().map(|(_, k)| *k).collect();
    assert_eq!(crd_kinds, expected, "custom resources rendered");
    let out = validate_crds(&crd_files);
    let all = text(&out);
    assert!(out.status.success(), "validate-crds.mjs:\n{all}");
    for path in &crd_files {
        assert!(
            all.lines()
                .any(|l| l.starts_with(&format!("ok {} ", path.display()))),
            "{} not validated:\n{all}",
            path.display()
        );
    }
}

/// The validators are not no-ops: an unknown field, a wrongly typed field and a missing
/// required field are each refused.
#[test]
fn validators_refuse_broken_objects() {
    if !can_run() {
        return;
    }
    let r = renders();
    let dir = TempDir::new("broken");

    let mut deployment = one(&r.kustomize, "Deployment").clone();
    deployment["spec"]["replicaCount"] = json!(1);
    let path = dir.write("deployment.json", &deployment.to_string());
    let out = kubernetes_validate(&[&path]);
    let all = text(&out);
    assert!(
        !out.status.success(),
        "kubernetes-validate accepted an unknown field:\n{all}"
    );
    assert!(all.contains("'replicaCount' was unexpected"), "{all}");

    let mut monitor = one(&r.kustomize, "ServiceMonitor").clone();
    monitor["spec"]["endpoints"][0]["interval"] = json!(30);
    let mut scaled = one(&r.keda, "ScaledObject").clone();
    scaled["spec"]
        .as_object_mut()
        .unwrap()
        .remove("scaleTargetRef");
    let mut rule = one(&r.kustomize, "PrometheusRule").clone();
    rule["spec"]["groups"][0]["rules"] = json!("not a list");
    for (file, object, error) in [
        ("monitor.json", monitor, "interval must be string"),
        (
            "scaled.json",
            scaled,
            "must have required property scaleTargetRef",
        ),
        ("rule.json", rule, "rules must be array"),
    ] {
        let path = dir.write(file, &object.to_string());
        let out = validate_crds(&[&path]);
        let all = text(&out);
        assert!(
            !out.status.success(),
            "validate-crds.mjs accepted {file}:\n{all}"
        );
        assert!(all.contains(error), "{file}: expected `{error}`:\n{all}");
    }
}

/// Both PrometheusRules hold exactly alerts.yaml's groups, promtool accepts them, and the
/// chart's copy of alerts.yaml is byte-identical.
#[test]
fn prometheus_rules_are_alerts_yaml() {
    if !can_run() {
        return;
    }
    let r = renders();
    let (copy, original) = (read(CHART_ALERTS), read(ALERTS));
    if copy != original {
        let line = copy
            .lines()
            .zip(original.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "at the end".to_string(),
                |n| format!("at line {}", n + 1),
            );
        panic!("{CHART_ALERTS} differs from {ALERTS} {line}: cp {ALERTS} {CHART_ALERTS}");
    }
    let alerts = &yaml_docs(&read(ALERTS))[0];
    let groups = &alerts["groups"];
    let rule_count: usize = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert!(rule_count >= 12, "alerts.yaml has {rule_count} rules");
    let dir = TempDir::new("rules");
    for (what, objects) in [("kustomize", &r.kustomize), ("chart-ci", &r.chart_ci)] {
        let rule = one(objects, "PrometheusRule");
        let spec = get(rule, "/spec");
        assert_eq!(
            spec.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["groups"],
            "{what}: PrometheusRule spec holds only groups"
        );
        assert!(
            &spec["groups"] == groups,
            "{what}: PrometheusRule spec.groups differ from {ALERTS}'s groups (regenerate \
             deploy/kubernetes/prometheusrule.yaml as its header says)"
        );
        let all = promtool_check_rules(&dir, &format!("{what}.yaml"), spec);
        assert!(
            all.contains(&format!("SUCCESS: {rule_count} rules found")),
            "{what}: {all}"
        );
    }
    // Off by default.
    let default_kinds = kind_set(&r.chart_default);
    assert!(
        !default_kinds.contains("PrometheusRule"),
        "{default_kinds:?}"
    );
    assert!(
        !default_kinds.contains("ServiceMonitor"),
        "{default_kinds:?}"
    );
}

/// The plain manifests: the kustomize base holds what an operator needs, the Secret example
/// stays out of it, and the Deployment is hardened, probed and configured as documented.
#[test]
fn plain_manifests_run_warren_as_documented() {
    if !can_run() {
        return;
    }
    let r = renders();
    assert_eq!(
        kind_set(&r.kustomize),
        [
            "ConfigMap",
            "Deployment",
            "PrometheusRule",
            "Service",
            "ServiceAccount",
            "ServiceMonitor"
        ]
        .map(String::from)
        .into(),
        "kustomize base"
    );
    for o in &r.kustomize {
        assert!(
            o["metadata"]["namespace"].is_null(),
            "{} has a namespace",
            name(o)
        );
    }
    // Every manifest next to kustomization.yaml is in it, except the Secret example.
    let kustomization = &yaml_docs(&read(&format!("{KUSTOMIZE_DIR}/kustomization.yaml")))[0];
    let listed: BTreeSet<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(repo_path(KUSTOMIZE_DIR)).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if file.ends_with(".yaml") && file != "kustomization.yaml" && file != "secret-example.yaml"
        {
            on_disk.insert(file);
        }
    }
    assert_eq!(
        listed,
        on_disk.iter().map(String::as_str).collect(),
        "kustomization.yaml resources"
    );
    let (deployment, config) = check_central("kustomize", &r.kustomize);

    // The SASL password: exactly this variable, from the example Secret's name and key.
    let c = container(deployment, "warren");
    assert_eq!(
        c["env"],
        json!([{
            "name": "WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "warren-kafka", "key": "prod-sasl-password"}}
        }]),
        "kustomize: env"
    );
    let secret = one(&r.secret_example, "Secret");
    assert_eq!(name(secret), "warren-kafka");
    assert_eq!(
        get(secret, "/stringData"),
        &json!({"prod-sasl-password": "REPLACE-ME"}),
        "secret example: one placeholder"
    );

    let effective = accepted("kustomize", config, c);
    assert_eq!(cluster_names(&effective), ["prod"]);
    let prod = &clusters(&effective)[0];
    assert_eq!(
        sasl_password(prod),
        Some("***"),
        "the Secret's variable reaches prod"
    );
    assert_eq!(
        prod["client"]["sasl.mechanism"].as_str(),
        Some("SCRAM-SHA-512")
    );

    // Without the Secret's variable the same file is still valid (no password in it).
    let bare = check_config(config, &[]);
    assert!(bare.success, "{}", bare.output);
    assert_eq!(
        sasl_password(&clusters(bare.effective.as_ref().unwrap())[0]),
        None
    );
}

/// The chart with its default values: one small, hardened warren.
#[test]
fn chart_default_render_runs_warren() {
    if !can_run() {
        return;
    }
    let r = renders();
    assert_eq!(
        kind_set(&r.chart_default),
        ["ConfigMap", "Deployment", "Service", "ServiceAccount"]
            .map(String::from)
            .into(),
        "chart defaults"
    );
    for o in &r.chart_default {
        assert_eq!(o["metadata"]["namespace"], NAMESPACE, "{}", name(o));
        assert_eq!(name(o), "warren", "release `warren`: names not doubled");
    }
    let (deployment, config) = check_central("chart-default", &r.chart_default);
    let c = container(deployment, "warren");
    assert_eq!(
        c["image"], "ghcr.io/warren-exporter/warren:0.1.0",
        "appVersion tag"
    );
    assert!(c["env"].is_null(), "no env by default: {}", c["env"]);
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}}),
        "sidecar-sized defaults"
    );
    let effective = accepted("chart-default", config, c);
    assert_eq!(cluster_names(&effective), ["local"]);
    assert_eq!(effective["window"]["points"].as_integer(), Some(10));
    assert_eq!(effective["retention"].as_str(), Some("10m"));
}

/// The two-cluster example values render exactly what they say.
#[test]
fn chart_two_cluster_render_is_as_configured() {
    if !can_run() {
        return;
    }
    let r = renders();
    let objects = &r.chart_ci;
    assert_eq!(
        kind_set(objects),
        [
            "ConfigMap",
            "Deployment",
            "PrometheusRule",
            "Secret",
            "Service",
            "ServiceAccount",
            "ServiceMonitor"
        ]
        .map(String::from)
        .into(),
        "chart with ci values"
    );
    for o in objects {
        assert_eq!(name(o), "lag-warren", "{}", o["kind"]);
        assert_eq!(o["metadata"]["namespace"], NAMESPACE);
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/part-of"], "kafka-monitoring",
            "extraLabels on {}",
            o["kind"]
        );
    }
    let (deployment, config) = check_central("chart-ci", objects);

    // Exactly two [[clusters]], named as in the values file, and no chart-only key in the TOML.
    let raw: toml::Table = toml::from_str(config).unwrap();
    let raw_clusters = raw["clusters"].as_array().unwrap();
    assert_eq!(raw_clusters.len(), 2, "{config}");
    assert_eq!(config.matches("[[clusters]]").count(), 2, "{config}");
    assert!(!config.contains("saslPasswordKey"), "{config}");

    // The SASL password of prod-eu (clusters[1]) from the chart's Secret, through exactly this
    // variable: by index, as the chart selects clusters.
    let c = container(deployment, "warren");
    assert_eq!(
        c["env"],
        json!([
            {
                "name": "WARREN_CLUSTERS__1__CLIENT__SASL_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "lag-warren", "key": "prod-eu-sasl-password"}}
            },
            {"name": "WARREN_CLUSTERS__DEV__POLL_INTERVAL", "value": "20s"}
        ]),
        "chart-ci: env"
    );
    let secret = one(objects, "Secret");
    assert_eq!(
        get(secret, "/stringData"),
        &json!({"prod-eu-sasl-password": "placeholder-not-a-real-password"})
    );

    let effective = accepted("chart-ci", config, c);
    assert_eq!(cluster_names(&effective), ["dev", "prod-eu"]);
    let (dev, prod) = (&clusters(&effective)[0], &clusters(&effective)[1]);
    assert_eq!(sasl_password(dev), None);
    assert_eq!(sasl_password(prod), Some("***"));
    assert_eq!(
        dev["poll_interval"].as_str(),
        Some("20s"),
        "extraEnv overrides the file"
    );
    assert_eq!(prod["poll_interval"].as_str(), Some("10s"));
    assert_eq!(prod["request_timeout"].as_str(), Some("20s"));
    assert_eq!(prod["labels"]["region"].as_str(), Some("eu-west-1"));
    assert_eq!(
        prod["groups"]["static"].as_array().unwrap()[0].as_str(),
        Some("billing")
    );
    assert_eq!(prod["evaluator"]["rules"].as_str(), Some("improved"));
    assert_eq!(prod["evaluator"]["allowed_lag"].as_integer(), Some(100));
    assert_eq!(prod["evaluator"]["minimum_complete"].as_float(), Some(0.5));
    assert_eq!(effective["window"]["points"].as_integer(), Some(15));
    assert_eq!(effective["retention"].as_str(), Some("30m"));

    // Pod placement, labels and annotations from the values.
    let template = get(deployment, "/spec/template");
    assert_eq!(template["metadata"]["labels"]["team"], "data-platform");
    assert_eq!(
        template["metadata"]["annotations"]["example.com/owner"],
        "data-platform"
    );
    assert!(template["metadata"]["annotations"]["checksum/config"].is_string());
    assert!(template["metadata"]["annotations"]["checksum/secret"].is_string());
    assert_eq!(
        template["spec"]["nodeSelector"],
        json!({"kubernetes.io/os": "linux"})
    );
    assert_eq!(template["spec"]["tolerations"][0]["value"], "monitoring");
    assert_eq!(c["resources"]["limits"]["memory"], "512Mi");

    let monitor = one(objects, "ServiceMonitor");
    assert_eq!(
        monitor["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "15s");
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        json!([NAMESPACE])
    );
    let rule = one(objects, "PrometheusRule");
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
}

/// Pods roll when warren.toml changes, and only then.
#[test]
fn chart_config_checksum_follows_the_config() {
    if !can_run() {
        return;
    }
    let checksum = |extra: &[&str]| {
        let objects = yaml_docs(&helm_template("warren", extra));
        str_at(
            one(&objects, "Deployment"),
            "/spec/template/metadata/annotations/checksum~1config",
        )
        .to_string()
    };
    let base = str_at(
        one(&renders().chart_default, "Deployment"),
        "/spec/template/metadata/annotations/checksum~1config",
    )
    .to_string();
    assert_eq!(base.len(), 64, "sha256 hex: {base}");
    assert_eq!(
        checksum(&["--set", "replicaCount=2"]),
        base,
        "unrelated value"
    );
    assert_ne!(
        checksum(&["--set", "config.log.filter=debug"]),
        base,
        "config change"
    );
}

/// The chart refuses values that cannot work, naming the problem.
#[test]
fn chart_refuses_unusable_values() {
    if !can_run() {
        return;
    }
    for (args, message) in [
        (
            &["--set", "clusters[0].name=x,clusters[0].bootstrap_servers=k:9092,clusters[0].saslPasswordKey=pw"][..],
            "saslPasswordKey needs secret.create or secret.existingSecret",
        ),
        (&["--set", "clusters=null"][..], "at least one cluster is required"),
        (&["--set", "config.http.listen=nowhere"][..], "has no port"),
    ] {
        let mut all_args = vec!["template", "x", CHART];
        all_args.extend_from_slice(args);
        let out = helm(&all_args);
        let all = text(&out);
        assert!(!out.status.success(), "helm accepted {args:?}:\n{all}");
        assert!(all.contains(message), "{args:?}: expected `{message}`:\n{all}");
    }
    // existingSecret: the variable reads that Secret, and the chart creates none.
    let objects = yaml_docs(&helm_template(
        "warren",
        &[
            "--set",
            "clusters[0].name=prod.eu-1,clusters[0].bootstrap_servers=k:9092,\
             clusters[0].saslPasswordKey=pw,secret.existingSecret=kafka-creds",
        ],
    ));
    assert!(kinds(&objects, "Secret").is_empty());
    let c = container(one(&objects, "Deployment"), "warren");
    assert_eq!(
        c["env"],
        json!([{
            "name": "WARREN_CLUSTERS__0__CLIENT__SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "kafka-creds", "key": "pw"}}
        }])
    );
    let (_, config) = check_central("existing-secret", &objects);
    let effective = accepted("existing-secret", config, c);
    assert_eq!(sasl_password(&clusters(&effective)[0]), Some("***"));
}

/// The sidecar example: warren in the consumer's pod watches exactly that consumer's group on
/// the consumer's own Kafka.
#[test]
fn sidecar_watches_its_applications_group() {
    if !can_run() {
        return;
    }
    let objects = &renders().sidecar;
    assert_eq!(
        kind_set(objects),
        ["ConfigMap", "Deployment", "PodMonitor"]
            .map(String::from)
            .into()
    );
    let deployment = one(objects, "Deployment");
    assert_eq!(name(deployment), "orders-consumer");
    let names: Vec<&str> = get(deployment, "/spec/template/spec/containers")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "warren"]);
    let app_env: BTreeMap<String, String> = container_env(container(deployment, "app"))
        .into_iter()
        .collect();
    assert_eq!(app_env["KAFKA_GROUP_ID"], "orders-consumer");

    let config = check_warren_container("sidecar", objects, deployment, "warren", "lag-metrics");
    let warren = container(deployment, "warren");
    assert_eq!(
        warren["resources"],
        json!({"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}),
        "small sidecar resources"
    );
    let effective = accepted("sidecar", config, warren);
    let cluster = &clusters(&effective)[0];
    assert_eq!(clusters(&effective).len(), 1);
    assert_eq!(cluster["name"].as_str(), Some("orders"));
    assert_eq!(
        cluster["groups"]["static"],
        toml::Value::Array(vec![toml::Value::String("orders-consumer".into())]),
        "groups.static is the app's group"
    );
    assert_eq!(
        cluster["groups"]["allow"],
        toml::Value::Array(vec![toml::Value::String("^orders-consumer$".into())]),
        "only the app's group"
    );
    assert_eq!(
        cluster["bootstrap_servers"].as_str(),
        Some(app_env["KAFKA_BOOTSTRAP_SERVERS"].as_str()),
        "the app's Kafka"
    );

    let monitor = one(objects, "PodMonitor");
    assert!(name(monitor).contains("warren"), "job name contains warren");
    assert_eq!(
        monitor["spec"]["podMetricsEndpoints"][0]["port"],
        "lag-metrics"
    );
    let pod_labels = get(deployment, "/spec/template/metadata/labels");
    for (k, v) in get(monitor, "/spec/selector/matchLabels")
        .as_object()
        .unwrap()
    {
        assert_eq!(&pod_labels[k], v, "PodMonitor selector {k}");
    }
}

/// The KEDA example scales the sidecar example's consumer on warren's lag for its group, with
/// a query Prometheus parses.
#[test]
fn keda_scales_the_consumer_on_warren_lag() {
    if !can_run() {
        return;
    }
    let r = renders();
    let scaled = one(&r.keda, "ScaledObject");
    let target = one(&r.sidecar, "Deployment");
    assert_eq!(
        get(scaled, "/spec/scaleTargetRef"),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name(target)})
    );
    assert_eq!(
        scaled["spec"]["minReplicaCount"], 1,
        "never 0: the sidecar is the metric"
    );
    let triggers = get(scaled, "/spec/triggers").as_array().unwrap();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0]["type"], "prometheus");
    let query = str_at(&triggers[0], "/metadata/query");
    assert_eq!(
        query,
        "max(kafka_consumergroup_group_sum_lag{cluster=\"orders\", group=\"orders-consumer\"})"
    );
    assert!(
        str_at(&triggers[0], "/metadata/threshold")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(str_at(&triggers[0], "/metadata/serverAddress").starts_with("http"));
    let dir = TempDir::new("keda");
    promtool_check_rules(
        &dir,
        "keda.yaml",
        &json!({"groups": [{"name": "keda", "rules": [{"record": "keda:query", "expr": query}]}]}),
    );
}
