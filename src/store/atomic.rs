//! The one atomic file writer: every file bayeslab writes (parts, merged results, manifests,
//! reports) goes through [`write_atomic`].
//!
//! The bytes are written to a hidden temporary file in the target's own directory and renamed
//! onto the target, so a reader (or a process that resumes after a kill) sees the old file, the
//! new file, or an ignored hidden temporary, never half a file. The temporary name carries the
//! host, the process id and a per-process write counter, so no two writes share a temporary file:
//! not processes on several hosts writing into one shared directory (array tasks of a cluster job
//! on a network file system), and not two threads of one process writing the same file at once.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::StoreError;

/// This machine's host name (from `/etc/hostname`, else `$HOSTNAME`, else `localhost`), made
/// safe for a file name.
pub fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let raw = fs::read_to_string("/etc/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let clean: String = raw
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if clean.is_empty() {
            "localhost".into()
        } else {
            clean
        }
    })
}

/// A fresh hidden temporary name for one write of `path`: `.<name>.<host>.<pid>.<n>.tmp`, `n`
/// counting this process's writes, so every call gives a new name.
pub fn temporary_path(path: &Path) -> PathBuf {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.{}.{}.{n}.tmp",
        host_name(),
        std::process::id()
    ))
}

/// Whether a directory entry is a temporary file of a write in progress (or of a killed one).
pub fn is_temporary(file_name: &str) -> bool {
    file_name.starts_with('.')
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
///
/// No fsync: the rename protects against a killed process, which is what resuming needs;
/// syncing every part costs tens of milliseconds per file on ordinary disks.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = temporary_path(path);
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(|e| io_err(&tmp, "cannot create", e))?;
        file.write_all(bytes)
            .map_err(|e| io_err(&tmp, "cannot write", e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| io_err(path, "cannot rename a temporary file onto", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes a file; a file that is not there is fine.
pub fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, "cannot remove", e)),
    }
}

pub(crate) fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("bayeslab-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.txt".to_string()]);
        // A write into a directory that does not exist fails and leaves nothing behind.
        assert!(write_atomic(&dir.join("missing/b.txt"), b"x").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn temporary_names_are_hidden_name_host_and_process_and_differ_per_write() {
        let tmp = temporary_path(Path::new("results/x/runs.parquet"));
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(is_temporary(name));
        assert!(name.contains(host_name()), "{name}");
        assert!(name.contains(&std::process::id().to_string()), "{name}");
        assert_eq!(tmp.parent(), Some(Path::new("results/x")));
        assert_ne!(tmp, temporary_path(Path::new("results/x/runs.parquet")));
    }

    #[test]
    fn threads_writing_one_file_at_once_never_share_a_temporary() {
        let dir = std::env::temp_dir().join(format!("bayeslab-atomic-race-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spec.toml");
        let text = "x".repeat(64 * 1024);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        write_atomic(&path, text.as_bytes()).expect("no write fails");
                    }
                });
            }
        });
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary is left"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
