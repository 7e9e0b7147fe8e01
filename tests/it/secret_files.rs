//! Secrets from files (issue 15 item 5): a cluster's `client` property or `http.admin_token`
//! written `${file:PATH}` is read from that file, and read again when the file changes,
//! without a restart. The test broker does not authenticate, so the client property here is
//! `client.id`: what matters is when the file is read (each connect, and again after a change),
//! not what the broker does with it.

use std::path::Path;
use std::time::Duration;

use crate::common::{temp_dir, wait_for, Broker, Warren};
use crate::tools;

fn can_run() -> bool {
    tools::suite("secret_files", &[tools::broker])
}

/// Writes `path` atomically (a new file renamed over it), as a Kubernetes Secret update does.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn reference(path: &Path) -> String {
    format!("${{file:{}}}", path.display())
}

#[test]
fn the_admin_token_is_read_from_its_file_and_follows_it() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("secret-admin");
    let dir = temp_dir("secret-admin");
    let token_file = dir.path().join("admin-token");
    let (first, second) = ("first-token-0123456789", "second-token-0123456789");
    replace(&token_file, &format!("{first}\n"));
    let w = Warren::start_with_http(
        &format!(
            "[[clusters]]\nname = \"local\"\nbootstrap_servers = \"{}\"\n",
            broker.bootstrap()
        ),
        &format!("admin_token = \"{}\"\n", reference(&token_file)),
    );
    let set_level = |token: &str| {
        let bearer = format!("Bearer {token}");
        let headers = [("Authorization", bearer.as_str())];
        w.request(
            "POST",
            "/v3/admin/loglevel",
            &headers,
            "{\"level\": \"info\"}",
        )
        .status
    };
    // The file's content, its final newline dropped; not the reference's text.
    assert_eq!(set_level(first), 200);
    assert_eq!(set_level(&reference(&token_file)), 401);
    // Rotated: the old token stops working at the next request, the new one works.
    replace(&token_file, second);
    assert_eq!(set_level(second), 200);
    assert_eq!(set_level(first), 401);
    // Emptied (caught mid-rewrite): the token in force stays, and one error says why.
    replace(&token_file, "");
    assert_eq!(set_level(second), 200);
    assert_eq!(set_level(""), 401);
    let log = w.log();
    assert_eq!(log.matches("secret not reloaded").count(), 1, "{log}");
    assert!(log.contains("is empty"), "{log}");
    // No token, in any form, in the log.
    for secret in [first, second] {
        assert!(!log.contains(secret), "{log}");
    }
}

#[test]
fn client_properties_are_read_at_each_connect_and_a_change_reconnects() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("secret-client");
    broker.create_topic("orders", 1);
    let dir = temp_dir("secret-client");
    let id_file = dir.path().join("client-id");
    replace(&id_file, "warren-one\n");
    // A file librdkafka reads itself (unused on a plaintext connection, but read at creation).
    let ca_file = dir.path().join("ca.pem");
    replace(&ca_file, "");
    let cluster = "cluster=\"local\"";
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"local\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n\
         [clusters.client]\n\"client.id\" = \"{}\"\n\"ssl.ca.location\" = \"{}\"\n",
        broker.bootstrap(),
        reference(&id_file),
        ca_file.display()
    ));
    let up = |w: &Warren| {
        w.metrics()
            .get(&format!("warren_cluster_up{{{cluster}}}"))
            .copied()
    };
    assert_eq!(up(&w), Some(1.0));
    let reconnects = |log: &str| log.matches("a client file changed").count();
    assert_eq!(reconnects(&w.log()), 0);

    // A new version: the client is made again with it, once.
    replace(&id_file, "warren-two\n");
    wait_for(
        Duration::from_secs(30),
        "a reconnect after the change",
        || (reconnects(&w.log()) == 1).then_some(()),
    );
    wait_for(Duration::from_secs(30), "the cluster up again", || {
        (up(&w) == Some(1.0)).then_some(())
    });
    // A rotated certificate file: the same.
    replace(&ca_file, "\n");
    wait_for(
        Duration::from_secs(30),
        "a reconnect after the CA changed",
        || (reconnects(&w.log()) == 2).then_some(()),
    );
    // The file gone: the next connect cannot read it, the cluster is down and the log names
    // the property.
    std::fs::remove_file(&id_file).unwrap();
    wait_for(Duration::from_secs(30), "the cluster down", || {
        (up(&w) == Some(0.0)).then_some(())
    });
    let log = w.log();
    assert!(log.contains("client.\"client.id\": cannot read"), "{log}");
    // Back: up again, without a restart.
    replace(&id_file, "warren-three");
    wait_for(
        Duration::from_secs(60),
        "the cluster up after the file is back",
        || (up(&w) == Some(1.0)).then_some(()),
    );
}

#[test]
fn check_config_reads_the_files_and_names_the_key() {
    if !can_run() {
        return;
    }
    let dir = temp_dir("secret-check");
    let config = dir.path().join("warren.toml");
    let missing = dir.path().join("missing");
    let bad_value = dir.path().join("timeout");
    replace(&bad_value, "soon\n");
    let short = dir.path().join("short");
    replace(&short, "short\n");
    let password = dir.path().join("password");
    let canary = "canary-password-4b1d";
    replace(&password, canary);
    let check = |toml: String| {
        std::fs::write(&config, toml).unwrap();
        let out = crate::common::warren_command()
            .args(["check-config", "--config"])
            .arg(&config)
            .output()
            .expect("check-config");
        (out.status.code(), tools::text(&out))
    };
    let cluster = |client: &str| {
        format!(
            "[[clusters]]\nname = \"c\"\nbootstrap_servers = \"127.0.0.1:1\"\n\
             [clusters.client]\n{client}\n"
        )
    };
    let (code, text) = check(cluster(&format!(
        "\"sasl.password\" = \"{}\"",
        reference(&missing)
    )));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("config key `clusters[0].client.\"sasl.password\"`: cannot read"),
        "{text}"
    );
    // The file's content goes through librdkafka's checks like any value.
    let (code, text) = check(cluster(&format!(
        "\"socket.timeout.ms\" = \"{}\"",
        reference(&bad_value)
    )));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("config key `clusters[0].client.\"socket.timeout.ms\"`"),
        "{text}"
    );
    // The admin token's length is the file's.
    let (code, text) = check(format!(
        "[http]\nadmin_token = \"{}\"\n{}",
        reference(&short),
        cluster("")
    ));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("config key `http.admin_token`: must be at least 16"),
        "{text}"
    );
    // A good file: accepted, and neither its content nor anything of it is printed.
    let (code, text) = check(cluster(&format!(
        "\"sasl.password\" = \"{}\"",
        reference(&password)
    )));
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains(canary), "{text}");
    assert!(text.contains("\"sasl.password\" = \"***\""), "{text}");
}
