//! The lock that lets one process at a time rewrite a results directory's merged files.
//!
//! Parts are written by many processes at once (the shards of a batch, array tasks of a cluster
//! job on a shared file system); each run's part by exactly one. The merged files are different:
//! two merges at once could each list different parts, and the one that renames last would drop
//! the runs only the other one read, after that one had removed their parts. So whatever
//! rewrites the merged files ([`super::merge`], [`super::retire_stale`]) holds this lock:
//! `results/<experiment>/.merge.lock`, created exclusively (`O_EXCL`, which network file systems
//! honour for a create), holding the holder's host, process id and start time, and removed when
//! the holder is done. A process that finds the lock waits; a lock left by a killed process of
//! this host (its process id is gone) is taken over at once; one of another host is waited for
//! up to [`WAIT`] and then reported, with the file to remove.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::atomic::{host_name, io_err};
use crate::error::StoreError;

/// The lock's file name inside a results directory.
pub const LOCK_FILE: &str = ".merge.lock";

/// How long a process waits for another one's merge before it gives up.
pub const WAIT: Duration = Duration::from_secs(600);

/// Holds the merge lock of a results directory until dropped.
#[derive(Debug)]
pub struct MergeLock {
    path: PathBuf,
}

impl MergeLock {
    /// Takes the lock of `results_dir` (which must exist), waiting while another process holds
    /// it.
    pub fn acquire(results_dir: &Path) -> Result<MergeLock, StoreError> {
        let path = results_dir.join(LOCK_FILE);
        let me = format!(
            "{} {} {}\n",
            host_name(),
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        );
        let start = Instant::now();
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(me.as_bytes())
                        .map_err(|e| io_err(&path, "cannot write the merge lock", e))?;
                    return Ok(MergeLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&path).unwrap_or_default();
                    if held_by_a_dead_process_here(&holder) {
                        // Removing and re-creating races only with another taker of the same
                        // dead lock; create_new lets exactly one of them win.
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > WAIT {
                        return Err(StoreError::Io {
                            path,
                            message: format!(
                                "another process ({}) has been merging these results for over {} s; \
                                 if it is not running any more, remove this file and merge again",
                                holder.trim(),
                                WAIT.as_secs()
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(io_err(&path, "cannot create the merge lock", e)),
            }
        }
    }
}

impl Drop for MergeLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether a lock's `host pid time` names a process of this host that no longer exists.
fn held_by_a_dead_process_here(holder: &str) -> bool {
    let mut fields = holder.split_whitespace();
    let (Some(host), Some(pid)) = (fields.next(), fields.next()) else {
        return false; // being written right now, or not ours to judge
    };
    host == host_name()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        })
        && Path::new("/proc/self").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_a_dead_holders_lock_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("bayeslab-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let inside = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10 {
                        let _lock = MergeLock::acquire(&dir).unwrap();
                        assert_eq!(inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
                        std::thread::sleep(Duration::from_millis(1));
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(counter.into_inner(), 40);
        assert!(!dir.join(LOCK_FILE).exists(), "released");
        // A lock left by a process of this host that is gone.
        fs::write(
            dir.join(LOCK_FILE),
            format!("{} 4000000000 0\n", host_name()),
        )
        .unwrap();
        drop(MergeLock::acquire(&dir).unwrap());
        let _ = fs::remove_dir_all(&dir);
    }
}
