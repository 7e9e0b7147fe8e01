use super::*;

/// Loads `yaml` from a scratch file.
fn load(yaml: &str) -> Result<WebSettings, WebConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    WebSettings::read(&path)
}

fn key_of(yaml: &str) -> String {
    load(yaml).expect_err("an error").key
}

#[test]
fn an_empty_file_protects_nothing() {
    let s = load("").unwrap();
    assert!(s.tls.is_none() && s.users.is_none() && s.headers.is_empty());
    let s = load("basic_auth_users: {}\n").unwrap();
    assert!(s.users.is_none());
}

#[test]
fn yaml_errors_name_the_key() {
    assert_eq!(
        key_of("tls_server_config:\n  cert_fil: x\n"),
        "tls_server_config.cert_fil"
    );
    assert_eq!(key_of("basic_auth_user:\n  a: b\n"), "basic_auth_user");
    assert_eq!(key_of("basic_auth_users: [a]\n"), "basic_auth_users");
    assert_eq!(
        key_of("http_server_config:\n  headers: 3\n"),
        "http_server_config.headers"
    );
    assert_eq!(key_of("rate_limit:\n  burst: 3\n"), "rate_limit");
}

#[test]
fn only_exporter_toolkit_headers_with_their_values() {
    let s = load(
        "http_server_config:\n  http2: false\n  headers:\n    x-frame-options: SAMEORIGIN\n    \
         Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n",
    )
    .unwrap();
    let headers: Vec<(String, String)> = s
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        headers,
        [
            (
                "strict-transport-security".into(),
                "max-age=31536000".into()
            ),
            ("x-frame-options".into(), "SAMEORIGIN".into()),
        ]
    );
    assert_eq!(
        key_of("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
        "http_server_config.headers.X-Frame-Options"
    );
    assert_eq!(
        key_of("http_server_config:\n  headers:\n    Set-Cookie: a\n"),
        "http_server_config.headers.Set-Cookie"
    );
}

#[test]
fn tls_keys_rustls_cannot_honour_are_refused_by_name() {
    // Checked before any file is read.
    let base = "tls_server_config:\n  cert: x\n  key: y\n";
    assert_eq!(
        key_of(&format!("{base}  client_allowed_sans: [a]\n")),
        "tls_server_config.client_allowed_sans"
    );
    assert_eq!(
        key_of("tls_server_config:\n  cert: x\n  cert_file: y\n"),
        "tls_server_config.cert"
    );
    assert_eq!(
        key_of("tls_server_config:\n  key: y\n"),
        "tls_server_config.cert_file"
    );
}

#[test]
fn go_cipher_suite_names_map_to_rustls() {
    let provider = tls::provider();
    let names = [
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string(),
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_string(),
        "TLS_AES_128_GCM_SHA256".to_string(),
    ];
    let chosen = tls::cipher_suites(&provider, &names).unwrap();
    let tls12: Vec<String> = chosen
        .iter()
        .filter(|s| s.tls13().is_none())
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert_eq!(
        tls12,
        [
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    assert_eq!(chosen.iter().filter(|s| s.tls13().is_some()).count(), 3);
    let err = tls::cipher_suites(&provider, &["TLS_RSA_WITH_RC4_128_SHA".into()])
        .err()
        .unwrap();
    assert_eq!(err.key, "tls_server_config.cipher_suites");
}
