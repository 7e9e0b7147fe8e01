//! Files read once and read again when they change, without a restart: the web-config file
//! with its certificates, and secrets given as `${file:PATH}` (Kubernetes Secrets mounted as
//! files, rotated in place).
//!
//! A change is seen by its stamp (size, modification time, inode; links followed, since a
//! Kubernetes Secret volume swaps a link to a new directory), checked whenever the value is
//! asked for: a few `stat` calls, no read. A new version that fails to load leaves the previous
//! one in force and is logged once.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// The stamp of `path` (`None`: it cannot be looked at).
pub fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// The stamps of `paths`, in order.
pub fn stamps(paths: &[PathBuf]) -> Vec<Option<FileStamp>> {
    paths.iter().map(|p| stamp(p)).collect()
}

/// The bytes of `path`, a regular file of at most `max` bytes: anything else is refused
/// before it is read (opening a FIFO blocks until a writer appears; a device could be read
/// until memory runs out). Errors name the path.
pub fn read_regular_file(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = path.display();
    let fail = |e: std::io::Error| format!("cannot read {shown}: {e}");
    if !std::fs::metadata(path).map_err(fail)?.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(fail)?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > max {
        return Err(format!("{shown} is larger than {max} bytes"));
    }
    Ok(bytes)
}

/// A value loaded from a file (and the files it names).
pub trait Loaded: Sized {
    type Error: Display;
    /// Reads the value from `path`.
    fn load(path: &Path) -> Result<Self, Self::Error>;
    /// Every file the value was read from.
    fn files(&self) -> &[PathBuf];
}

/// A value of type `T` and the file it comes from, reloaded when a file changes.
pub struct Watched<T> {
    /// What the log lines call it ("web config", "secret").
    what: &'static str,
    path: PathBuf,
    current: ArcSwap<T>,
    /// The stamps of the files last tried: those of the value in force, or of a version that
    /// failed (so a broken version is reported once, not at every use).
    tried: Mutex<Vec<Option<FileStamp>>>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("path", &self.path)
            .field("current", &self.current.load())
            .finish()
    }
}

impl<T: Loaded> Watched<T> {
    /// Loads the value (an error here is a configuration error: warren does not start).
    pub fn load(what: &'static str, path: &Path) -> Result<Watched<T>, T::Error> {
        let value = T::load(path)?;
        let seen = stamps(value.files());
        Ok(Watched {
            what,
            path: path.to_path_buf(),
            current: ArcSwap::from_pointee(value),
            tried: Mutex::new(seen),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value in force, reloaded first if a file changed since the last check.
    pub fn current(&self) -> Arc<T> {
        let current = self.current.load_full();
        let now = stamps(current.files());
        {
            let tried = self.tried.lock().unwrap_or_else(|e| e.into_inner());
            if *tried == now {
                return current;
            }
        }
        // Another caller may be reloading: it will swap the new value in; this one goes on
        // with the value in force.
        let Ok(mut tried) = self.tried.try_lock() else {
            return current;
        };
        if *tried == now {
            return self.current.load_full();
        }
        *tried = now;
        match T::load(&self.path) {
            Ok(value) => {
                // The new version may name other files: stamp those.
                *tried = stamps(value.files());
                let value = Arc::new(value);
                self.current.store(value.clone());
                tracing::info!(file = %self.path.display(), "{} reloaded", self.what);
                value
            }
            Err(e) => {
                tracing::error!(
                    file = %self.path.display(),
                    error = %e,
                    "{} not reloaded: the previous version stays in force",
                    self.what
                );
                current
            }
        }
    }
}
