//! Checkpoints of ensemble members: what a run of M members keeps on disk after each member, so
//! that a run killed at member 9 of 10 loses one member, not nine. The store only keeps bytes
//! (the method encodes them); a run's checkpoints live in `checkpoints/<run_id>/member<k>.bin`
//! under its results directory, each written atomically, and are removed once the run's part is
//! written. A checkpoint is named by the run id, a hash of the whole configuration, so a changed
//! spec never reads another configuration's members.

use std::fs;
use std::path::{Path, PathBuf};

use super::atomic::{io_err, write_atomic};
use super::parts::check_run_id;
use crate::error::StoreError;

/// Directory of member checkpoints inside `results/<experiment>/`.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// The member checkpoints of one run.
#[derive(Clone, Debug)]
pub struct MemberCheckpoints {
    dir: PathBuf,
}

impl MemberCheckpoints {
    /// The checkpoints of run `run_id` under `results_dir`.
    pub fn new(results_dir: &Path, run_id: &str) -> Result<Self, StoreError> {
        let root = results_dir.join(CHECKPOINTS_DIR);
        check_run_id(run_id, &root)?;
        Ok(MemberCheckpoints {
            dir: root.join(run_id),
        })
    }

    fn path(&self, member: usize) -> PathBuf {
        self.dir.join(format!("member{member}.bin"))
    }

    /// The bytes saved for `member`, if any.
    pub fn load(&self, member: usize) -> Option<Vec<u8>> {
        fs::read(self.path(member)).ok()
    }

    /// Saves `bytes` for `member`, atomically.
    pub fn save(&self, member: usize, bytes: &[u8]) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| io_err(&self.dir, "cannot create directory", e))?;
        write_atomic(&self.path(member), bytes)
    }

    /// Removes every checkpoint of the run (and the results' checkpoint directory once empty).
    pub fn remove_all(&self) -> Result<(), StoreError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&self.dir, "cannot remove", e)),
        }
        if let Some(root) = self.dir.parent() {
            let _ = fs::remove_dir(root); // fails while other runs keep checkpoints: fine
        }
        Ok(())
    }
}
