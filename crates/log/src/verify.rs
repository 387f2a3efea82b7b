//! Offline verification of a log directory: every record, the checkpoint's signature and root,
//! and the published tiles. Reads only; changes nothing.

use std::fmt;
use std::fs;
use std::path::Path;

use crate::record::ScanEnd;
use crate::tiles::{bundle_bytes, entries_tile_path, hash_tile_path, tile_bytes, tiles_between};
use crate::{CHECKPOINT_FILE, Log, LogError};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyProblem {
    /// A record of the entries file is damaged.
    DamagedEntry {
        /// Index of the entry.
        index: u64,
        /// Byte offset of its record.
        offset: u64,
        /// What failed.
        problem: String,
    },
    /// No checkpoint file.
    NoCheckpoint,
    /// The checkpoint does not verify.
    BadCheckpoint(String),
    /// The checkpoint covers more entries than the log holds.
    MissingEntries {
        /// Entries the checkpoint covers.
        checkpoint_size: u64,
        /// Entries the log holds.
        log_size: u64,
    },
    /// The entries do not hash to the checkpoint's root.
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
        /// First entry whose hash differs from the published tiles, if it can be told.
        first_changed_entry: Option<u64>,
    },
    /// A published tile is missing or differs from the entries.
    BadTile {
        /// Its path below the log directory.
        path: String,
        /// Missing or different.
        problem: String,
    },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyProblem::DamagedEntry {
                index,
                offset,
                problem,
            } => write!(f, "entry {index} (byte {offset}) is damaged: {problem}"),
            VerifyProblem::NoCheckpoint => write!(f, "no checkpoint to verify against"),
            VerifyProblem::BadCheckpoint(e) => write!(f, "checkpoint: {e}"),
            VerifyProblem::MissingEntries {
                checkpoint_size,
                log_size,
            } => write!(
                f,
                "checkpoint covers {checkpoint_size} entries but the log holds {log_size}: entries {log_size}..{checkpoint_size} are missing"
            ),
            VerifyProblem::RootMismatch {
                size,
                first_changed_entry: Some(i),
            } => write!(
                f,
                "entries do not hash to the checkpoint root of tree {size}: entry {i} differs from the published tiles"
            ),
            VerifyProblem::RootMismatch {
                size,
                first_changed_entry: None,
            } => write!(
                f,
                "entries do not hash to the checkpoint root of tree {size}"
            ),
            VerifyProblem::BadTile { path, problem } => write!(f, "tile {path}: {problem}"),
        }
    }
}

/// What [`verify_dir`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The verified checkpoint's size, if it verified.
    pub checkpoint_size: Option<u64>,
    /// Bytes of torn tail after the last whole record (left by a crash; cut on next open; not a
    /// failure).
    pub torn_tail_bytes: u64,
    /// Everything wrong; empty means the log verifies.
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verify the log in `dir` against the verifier key `vkey`: re-hash every entry, check the
/// checkpoint's signature and root, and compare every published tile with the entries.
pub fn verify_dir(dir: &Path, vkey: &str) -> Result<VerifyReport, LogError> {
    let (log, end) = Log::open_read_only(dir)?;
    let mut report = VerifyReport {
        entries: log.size(),
        ..VerifyReport::default()
    };
    match end {
        ScanEnd::Clean => {}
        ScanEnd::TornTail { offset } => report.torn_tail_bytes = log.written_len - offset,
        ScanEnd::Corrupt {
            index,
            offset,
            problem,
        } => report.problems.push(VerifyProblem::DamagedEntry {
            index,
            offset,
            problem,
        }),
    }

    let Ok(note) = fs::read(dir.join(CHECKPOINT_FILE)) else {
        report.problems.push(VerifyProblem::NoCheckpoint);
        return Ok(report);
    };
    let cp = match crate::verify_checkpoint(&note, vkey) {
        Ok(cp) => cp,
        Err(e) => {
            report
                .problems
                .push(VerifyProblem::BadCheckpoint(e.to_string()));
            return Ok(report);
        }
    };
    report.checkpoint_size = Some(cp.size);
    if cp.size > log.size() {
        report.problems.push(VerifyProblem::MissingEntries {
            checkpoint_size: cp.size,
            log_size: log.size(),
        });
        return Ok(report);
    }
    if log.root_at(cp.size)? != cp.root {
        report.problems.push(VerifyProblem::RootMismatch {
            size: cp.size,
            first_changed_entry: first_differing_entry(&log, cp.size),
        });
    }
    if report.ok() {
        check_tiles(&log, cp.size, &mut report)?;
    }
    Ok(report)
}

/// Compare each entry's leaf hash with the level-0 tiles on disk.
fn first_differing_entry(log: &Log, size: u64) -> Option<u64> {
    for t in tiles_between(0, size)
        .into_iter()
        .filter(|t| t.level() == 0)
    {
        let data = fs::read(log.dir().join(hash_tile_path(&t))).ok()?;
        let start = t.level_index() << crate::TILE_HEIGHT;
        for (k, chunk) in data.chunks(crate::HASH_SIZE).enumerate() {
            let i = start + k as u64;
            if chunk != log.leaf_hash(i).ok()?.0 {
                return Some(i);
            }
        }
    }
    None
}

fn check_tiles(log: &Log, size: u64, report: &mut VerifyReport) -> Result<(), LogError> {
    for t in tiles_between(0, size) {
        let mut expected = vec![(hash_tile_path(&t), tile_bytes(log, &t)?)];
        if t.level() == 0 {
            expected.push((entries_tile_path(&t), bundle_bytes(log, &t)?));
        }
        for (rel, want) in expected {
            let problem = match fs::read(log.dir().join(&rel)) {
                Ok(got) if got == want => continue,
                Ok(_) => "differs from the entries",
                Err(_) => "missing",
            };
            report.problems.push(VerifyProblem::BadTile {
                path: rel,
                problem: problem.into(),
            });
        }
    }
    Ok(())
}
