//! Helpers of the tests that run external tools (promtool, helm, podman, ...): repository paths,
//! running a program with an install hint when it is missing, and its output for messages.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
