//! Secrets kept in files: any `client` property of a cluster, and `http.admin_token`, may be
//! written `${file:/run/secrets/name}` (the syntax of Kafka's own FileConfigProvider, minus its
//! key): the value is the file's content, read at start and read again when the file changes,
//! so a Kubernetes Secret mounted as files can be rotated without a restart. One final newline
//! is dropped (`echo` and editors add one); an empty file is refused (a file caught while being
//! rewritten must not become an empty password, or an empty admin token).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::file_watch::{read_regular_file, Loaded, Watched};

/// The largest secret file read: far beyond any password, token or PEM key.
const MAX_SECRET_BYTES: u64 = 1 << 20;

/// The path of a `${file:PATH}` reference; `None` for any other value.
pub fn file_reference(value: &str) -> Option<&Path> {
    let path = value.strip_prefix("${file:")?.strip_suffix('}')?;
    (!path.is_empty()).then_some(Path::new(path))
}

/// The content of the secret file `path` (see the module's comment).
pub fn read_secret(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let bytes = read_regular_file(path, MAX_SECRET_BYTES)?;
    let mut text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(format!("{shown} is empty"));
    }
    Ok(text)
}

/// `value` itself, or the content of the file it refers to.
pub fn resolve(value: &str) -> Result<Cow<'_, str>, String> {
    match file_reference(value) {
        Some(path) => read_secret(path).map(Cow::Owned),
        None => Ok(Cow::Borrowed(value)),
    }
}

/// A secret read from a file.
#[derive(Debug)]
pub struct FileSecret {
    value: Arc<str>,
    files: [PathBuf; 1],
}

impl Loaded for FileSecret {
    type Error = String;

    fn load(path: &Path) -> Result<FileSecret, String> {
        Ok(FileSecret {
            value: read_secret(path)?.into(),
            files: [path.to_path_buf()],
        })
    }

    fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// A secret setting: its text, or a file read again when it changes.
#[derive(Debug, Clone)]
pub enum Secret {
    Text(Arc<str>),
    File(Arc<Watched<FileSecret>>),
}

impl Secret {
    /// The secret `value` stands for (its file read now).
    pub fn new(value: &str) -> Result<Secret, String> {
        match file_reference(value) {
            Some(path) => Ok(Secret::File(Arc::new(Watched::load("secret", path)?))),
            None => Ok(Secret::Text(value.into())),
        }
    }

    /// The secret's value now.
    pub fn current(&self) -> Arc<str> {
        match self {
            Secret::Text(text) => text.clone(),
            Secret::File(file) => file.current().value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_contents() {
        assert_eq!(
            file_reference("${file:/run/secrets/pw}"),
            Some(Path::new("/run/secrets/pw"))
        );
        for plain in ["${file:}", "file:/x", "${file:/x", "$${file:/x}", "secret"] {
            assert_eq!(file_reference(plain), None, "{plain}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        for (content, read) in [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("a\n\n", "a\n"),
        ] {
            std::fs::write(&path, content).unwrap();
            assert_eq!(read_secret(&path).unwrap(), read);
        }
        std::fs::write(&path, "\n").unwrap();
        assert!(read_secret(&path).unwrap_err().ends_with("is empty"));
        let reference = format!("${{file:{}}}", path.display());
        std::fs::write(&path, "one").unwrap();
        let secret = Secret::new(&reference).unwrap();
        assert_eq!(&*secret.current(), "one");
        // Rewritten (a new inode, as a Secret volume's swap makes): read again.
        let tmp = dir.path().join("pw.new");
        std::fs::write(&tmp, "two, longer").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(&*secret.current(), "two, longer");
        // Emptied: the previous value stays.
        std::fs::write(&tmp, "").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(&*secret.current(), "two, longer");
        assert_eq!(&*Secret::new("plain").unwrap().current(), "plain");
    }
}
