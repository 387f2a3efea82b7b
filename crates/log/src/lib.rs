//! A durable, append-only Merkle log over opaque entries: the evidence log.
//!
//! Hashing is RFC 6962 / RFC 9162 (leaf = SHA-256(0x00 || entry)), computed with the `tlog_tiles`
//! crate (a port of Go's `x/mod/sumdb/tlog`). Checkpoints are C2SP `tlog-checkpoint` notes signed
//! with Ed25519 as C2SP `signed-note`; tiles are written in the C2SP `tlog-tiles` layout so that
//! any static file server can serve the log. The log knows nothing of what its entries mean.
//!
//! On disk, a log directory holds:
//! - `entries.dat`: the entries, each in a checksummed record (see [`record`]); the only state
//!   that must survive a crash, everything else is derived from it;
//! - `checkpoint`: the latest signed checkpoint;
//! - `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: C2SP tiles up to the checkpoint.
//!
//! Appends are buffered; [`Log::commit`] writes and `fsync`s them as one group. An entry is
//! durable once `commit` has returned.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let (mut log, _) = truce_log::Log::open(dir.path()).unwrap();
//! let i = log.append(b"first entry").unwrap();
//! log.commit().unwrap();
//! let proof = log.prove_inclusion(i, log.size()).unwrap();
//! truce_log::check_inclusion(&proof, log.size(), log.root().unwrap(), i, log.leaf_hash(i).unwrap())
//!     .unwrap();
//! ```

pub mod checkpoint;
pub mod record;
mod tiles;
mod verify;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub use checkpoint::{KeyPair, LogSigner, VerifiedCheckpoint, generate_key, verify_checkpoint};
pub use record::MAX_ENTRY_LEN;
pub use tlog_tiles::{HASH_SIZE, Hash, record_hash};
pub use verify::{VerifyProblem, VerifyReport, verify_dir};

pub use record::ScanEnd;
use record::{HEADER_LEN, MAGIC};
use tlog_tiles::HashReader;

/// Name of the entries file inside a log directory.
pub const ENTRIES_FILE: &str = "entries.dat";
/// Name of the checkpoint file inside a log directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Height of C2SP tiles.
pub const TILE_HEIGHT: u8 = 8;

/// Errors of the log. Messages are lower-case and name the file or entry concerned.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The entries file is damaged before its end; nothing was cut.
    #[error("{path}: entry {index} (byte {offset}) is damaged: {problem}")]
    Corrupt {
        /// The entries file.
        path: PathBuf,
        /// Index of the damaged entry.
        index: u64,
        /// Byte offset of its record.
        offset: u64,
        /// What failed.
        problem: String,
    },
    /// The file is not an entries file.
    #[error("{path}: {problem}")]
    NotALog {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An entry is empty or too long.
    #[error("entry of {len} bytes refused: entries hold 1 to {max} bytes", max = MAX_ENTRY_LEN)]
    EntrySize {
        /// Its length.
        len: usize,
    },
    /// An index or size beyond the log.
    #[error("{what} {value} is beyond the log of {size} entries")]
    OutOfRange {
        /// What was asked for.
        what: &'static str,
        /// The value asked for.
        value: u64,
        /// The log's size.
        size: u64,
    },
    /// A checkpoint could not be made, read or verified.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A key could not be read or made.
    #[error("key: {0}")]
    Key(String),
    /// A proof did not verify, or could not be made.
    #[error("proof: {0}")]
    Proof(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What opening a log found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Entries in the log after opening.
    pub entries: u64,
    /// Bytes of torn tail that were cut (0 after a clean shutdown).
    pub cut_bytes: u64,
}

/// Stored hashes in the `tlog` layout (see `tlog_tiles::stored_hash_index`), in memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct MemHashes(pub(crate) Vec<Hash>);

impl HashReader for MemHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MemHashes {
    pub(crate) fn push_record(&mut self, n: u64, h: Hash) {
        // Reading our own earlier hashes cannot fail: every index asked for is below n.
        match tlog_tiles::stored_hashes_for_record_hash(n, h, self) {
            Ok(new) => self.0.extend(new),
            Err(e) => unreachable!("stored hashes of a complete in-memory tree: {e}"),
        }
    }
}

/// An open log. Single writer: the caller holds the only handle.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// Records appended since the last commit, not yet written.
    pending: Vec<u8>,
    /// File length of what has been written (durable after the last commit).
    written_len: u64,
    /// Offset of each entry's record header.
    offsets: Vec<u64>,
    hashes: MemHashes,
}

/// Buffer at most this many bytes of pending records before writing them (without syncing).
const PENDING_LIMIT: usize = 8 << 20;

impl Log {
    /// Open the log in `dir`, creating it if absent. A torn tail left by a crash is cut; any
    /// other damage is an error naming the entry, and nothing is changed.
    pub fn open(dir: &Path) -> Result<(Log, Recovery), LogError> {
        Log::open_visiting(dir, |_, _| {})
    }

    /// Like [`Log::open`], calling `visit(index, entry)` for every entry kept, in order, during
    /// the one read of the file that opening needs anyway (for rebuilding indexes above the log).
    pub fn open_visiting(
        dir: &Path,
        visit: impl FnMut(u64, &[u8]),
    ) -> Result<(Log, Recovery), LogError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(ENTRIES_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let (mut log, end) = Log::load(dir, path, file, visit)?;
        let mut recovery = Recovery::default();
        match end {
            ScanEnd::Clean => {}
            ScanEnd::Corrupt {
                index,
                offset,
                problem,
            } => {
                return Err(LogError::Corrupt {
                    path: log.path,
                    index,
                    offset,
                    problem,
                });
            }
            ScanEnd::TornTail { offset } => {
                recovery.cut_bytes = log.written_len - offset;
                log.file.set_len(offset).map_err(io_err(&log.path))?;
                log.written_len = offset;
            }
        }
        if log.written_len == 0 {
            log.file.write_all_at(MAGIC, 0).map_err(io_err(&log.path))?;
            log.written_len = MAGIC.len() as u64;
        }
        if recovery.cut_bytes > 0 || log.written_len == MAGIC.len() as u64 {
            log.file.sync_all().map_err(io_err(&log.path))?;
            sync_dir(dir)?;
        }
        recovery.entries = log.size();
        Ok((log, recovery))
    }

    /// Open for reading only: nothing is cut or written. Returns the valid prefix of the log and
    /// how the scan of the entries file ended.
    pub fn open_read_only(dir: &Path) -> Result<(Log, ScanEnd), LogError> {
        let path = dir.join(ENTRIES_FILE);
        let file = File::open(&path).map_err(io_err(&path))?;
        Log::load(dir, path, file, |_, _| {})
    }

    fn load(
        dir: &Path,
        path: PathBuf,
        file: File,
        mut visit: impl FnMut(u64, &[u8]),
    ) -> Result<(Log, ScanEnd), LogError> {
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let mut offsets = Vec::new();
        let mut hashes = MemHashes::default();
        let end = record::scan(&bytes, |i, off, data| {
            offsets.push(off);
            hashes.push_record(i, record_hash(data));
            visit(i, data);
        })
        .map_err(|problem| LogError::NotALog {
            path: path.clone(),
            problem,
        })?;
        let log = Log {
            dir: dir.to_owned(),
            path,
            file,
            pending: Vec::new(),
            written_len: bytes.len() as u64,
            offsets,
            hashes,
        };
        Ok((log, end))
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of entries, committed or pending.
    pub fn size(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Append an entry; returns its index. Durable only after [`Log::commit`].
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, LogError> {
        self.append_hashed(entry, record_hash(entry))
    }

    /// Append an entry whose RFC 6962 leaf hash the caller has already computed (for example in
    /// parallel). `leaf` must equal `record_hash(entry)`.
    pub fn append_hashed(&mut self, entry: &[u8], leaf: Hash) -> Result<u64, LogError> {
        if entry.is_empty() || entry.len() > MAX_ENTRY_LEN {
            return Err(LogError::EntrySize { len: entry.len() });
        }
        debug_assert!(leaf == record_hash(entry), "leaf hash does not match entry");
        let index = self.size();
        self.offsets
            .push(self.written_len + self.pending.len() as u64);
        self.pending.extend_from_slice(&record::header(entry));
        self.pending.extend_from_slice(entry);
        self.hashes.push_record(index, leaf);
        if self.pending.len() >= PENDING_LIMIT {
            self.write_pending()?;
        }
        Ok(index)
    }

    fn write_pending(&mut self) -> Result<(), LogError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.pending, self.written_len)
            .map_err(io_err(&self.path))?;
        self.written_len += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Write pending entries and `fsync` them: after this returns, every entry appended so far
    /// survives a crash. One call covers a whole group of appends.
    pub fn commit(&mut self) -> Result<(), LogError> {
        self.write_pending()?;
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Read entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        self.entries(index, index.saturating_add(1))?
            .pop()
            .ok_or(LogError::OutOfRange {
                what: "entry index",
                value: index,
                size: self.size(),
            })
    }

    /// Read entries `start..end` (clamped to the log's size) with one read of their records,
    /// not two reads an entry as [`Log::entry`] does: `truce process` reads back all of a day's
    /// 200,000 entries, and each checkpoint the entries of every new tile.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let end = end.min(self.size());
        if start >= end {
            return Ok(Vec::new());
        }
        let first = self.offsets[start as usize];
        let stop = self
            .offsets
            .get(end as usize)
            .copied()
            .unwrap_or(self.written_len + self.pending.len() as u64);
        let mut span = vec![0u8; (stop - first) as usize];
        // The span may run from the file into the pending buffer.
        let in_file = self.written_len.saturating_sub(first).min(stop - first) as usize;
        if in_file > 0 {
            self.read_at(&mut span[..in_file], first)?;
        }
        if in_file < span.len() {
            let from = (first + in_file as u64 - self.written_len) as usize;
            let rest = span.len() - in_file;
            span[in_file..].copy_from_slice(&self.pending[from..from + rest]);
        }
        (start..end)
            .map(|i| {
                let at = (self.offsets[i as usize] - first) as usize;
                let next = self
                    .offsets
                    .get(i as usize + 1)
                    .map_or(span.len(), |&o| (o - first) as usize);
                span.get(at + HEADER_LEN..next)
                    .map(<[u8]>::to_vec)
                    .ok_or(LogError::OutOfRange {
                        what: "entry record",
                        value: i,
                        size: self.size(),
                    })
            })
            .collect()
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<(), LogError> {
        if off >= self.written_len {
            let start = (off - self.written_len) as usize;
            buf.copy_from_slice(&self.pending[start..start + buf.len()]);
            Ok(())
        } else {
            self.file
                .read_exact_at(buf, off)
                .map_err(io_err(&self.path))
        }
    }

    /// Whether the log's entries are `entries`, in order and no others (by leaf hash, on all
    /// cores).
    pub fn holds_exactly(&self, entries: &[impl AsRef<[u8]> + Sync]) -> bool {
        use rayon::prelude::*;
        self.size() == entries.len() as u64
            && entries
                .par_iter()
                .enumerate()
                .all(|(i, e)| self.leaf_hash(i as u64).ok() == Some(record_hash(e.as_ref())))
    }

    /// The RFC 6962 leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, LogError> {
        if index >= self.size() {
            return Err(LogError::OutOfRange {
                what: "entry index",
                value: index,
                size: self.size(),
            });
        }
        Ok(self.hashes.0[tlog_tiles::stored_hash_index(0, index) as usize])
    }

    /// Root hash of the whole log.
    pub fn root(&self) -> Result<Hash, LogError> {
        self.root_at(self.size())
    }

    /// Root hash of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        self.check_size(size)?;
        tlog_tiles::tree_hash(size, &self.hashes).map_err(|e| LogError::Proof(e.to_string()))
    }

    fn check_size(&self, size: u64) -> Result<(), LogError> {
        if size > self.size() {
            return Err(LogError::OutOfRange {
                what: "tree size",
                value: size,
                size: self.size(),
            });
        }
        Ok(())
    }

    /// Inclusion proof (RFC 6962 audit path) of entry `index` in the tree of `size` entries.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(size)?;
        if index >= size {
            return Err(LogError::OutOfRange {
                what: "entry index",
                value: index,
                size,
            });
        }
        tlog_tiles::prove_record(size, index, &self.hashes)
            .map_err(|e| LogError::Proof(e.to_string()))
    }

    /// Consistency proof between the tree of `old_size` and the tree of `new_size` entries.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(new_size)?;
        if old_size == 0 || old_size > new_size {
            return Err(LogError::Proof(format!(
                "consistency needs 1 <= old size <= new size, got {old_size} and {new_size}"
            )));
        }
        tlog_tiles::prove_tree(new_size, old_size, &self.hashes)
            .map_err(|e| LogError::Proof(e.to_string()))
    }

    /// Commit, sign a checkpoint of the whole log, write the tiles it needs and the checkpoint
    /// (atomically). Returns the signed note.
    pub fn checkpoint(&mut self, signer: &LogSigner) -> Result<Vec<u8>, LogError> {
        self.commit()?;
        let size = self.size();
        let note = signer.sign(size, self.root()?)?;
        let cp_path = self.dir.join(CHECKPOINT_FILE);
        let previous = fs::read(&cp_path)
            .ok()
            .and_then(|b| checkpoint::unverified_size(&b))
            .filter(|s| *s <= size)
            .unwrap_or(0);
        tiles::write_tiles(self, previous, size)?;
        write_atomic(&self.dir, CHECKPOINT_FILE, &note)?;
        Ok(note)
    }

    /// The latest checkpoint file's bytes, if there is one.
    pub fn latest_checkpoint(&self) -> Option<Vec<u8>> {
        fs::read(self.dir.join(CHECKPOINT_FILE)).ok()
    }

    pub(crate) fn hashes(&self) -> &MemHashes {
        &self.hashes
    }
}

/// Check an inclusion proof: entry `index` with leaf hash `leaf` is in the tree of `size`
/// entries whose root is `root`.
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), LogError> {
    if index >= size {
        return Err(LogError::Proof(format!(
            "index {index} is not below size {size}"
        )));
    }
    // tlog_tiles documents panics only for internal math errors; guard the proof length so that
    // untrusted input cannot reach them.
    if proof.len() > 64 {
        return Err(LogError::Proof("inclusion proof too long".into()));
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf).map_err(|_| {
        LogError::Proof(format!(
            "entry {index} is not proved included in tree {size}"
        ))
    })
}

/// Check a consistency proof: the tree of `old_size` entries with root `old_root` is a prefix of
/// the tree of `new_size` entries with root `new_root`.
pub fn check_consistency(
    proof: &[Hash],
    new_size: u64,
    new_root: Hash,
    old_size: u64,
    old_root: Hash,
) -> Result<(), LogError> {
    if old_size == 0 || old_size > new_size || proof.len() > 128 {
        return Err(LogError::Proof(format!(
            "no consistency proof between sizes {old_size} and {new_size}"
        )));
    }
    tlog_tiles::check_tree(&proof.to_vec(), new_size, new_root, old_size, old_root).map_err(|_| {
        LogError::Proof(format!(
            "tree {old_size} is not proved consistent with tree {new_size}"
        ))
    })
}

/// Write `name` in `dir` atomically: a temporary file, `fsync`, rename, `fsync` of the directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), LogError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, &dst).map_err(io_err(&dst))?;
    sync_dir(dir)
}

/// `fsync` a directory so that a created or renamed file's name is durable.
pub fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The RFC 6962 root of a tree whose leaves are `entries`, in order, with no store: what a
/// verifier holding every entry recomputes to compare with a checkpoint.
pub fn root_of_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Hash, LogError> {
    let mut hashes = MemHashes::default();
    let mut n = 0u64;
    for e in entries {
        hashes.push_record(n, record_hash(e));
        n += 1;
    }
    tlog_tiles::tree_hash(n, &hashes).map_err(|e| LogError::Proof(e.to_string()))
}

/// An RFC 6962 tree held in memory with the hash of every complete subtree (`2^k` leaves from a
/// multiple of `2^k`), for a verifier that holds every entry: any node of any proof is then a
/// lookup (or, on the tree's right edge, a few hashes), so the nodes a bundle's proofs use can
/// be checked once each instead of hashing every proof up to the root. By hand: `tlog_tiles`
/// computes a tree's root from stored hashes but names no subtree of arbitrary range.
#[derive(Debug, Clone)]
pub struct MemTree {
    /// `levels[k][j]`: the hash of leaves `[j 2^k, (j + 1) 2^k)`; `levels[0]` the leaves.
    levels: Vec<Vec<Hash>>,
}

impl MemTree {
    /// The tree over these leaf hashes ([`record_hash`] of each entry), in order; each level
    /// hashed on all cores.
    pub fn new(leaves: Vec<Hash>) -> MemTree {
        use rayon::prelude::*;
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let up: Vec<Hash> = below
                .par_chunks_exact(2)
                .map(|p| tlog_tiles::node_hash(p[0], p[1]))
                .collect();
            levels.push(up);
        }
        MemTree { levels }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The RFC 6962 hash (MTH) of the leaves `[start, end)`: `None` for an empty range or one
    /// past the last leaf.
    pub fn hash(&self, start: u64, end: u64) -> Option<Hash> {
        if start >= end || end > self.size() {
            return None;
        }
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let k = n.trailing_zeros() as usize;
            return self.levels.get(k)?.get((start >> k) as usize).copied();
        }
        // MTH(D[start:end]) = H(0x01 || MTH(first k) || MTH(rest)), k the largest power of two
        // below n (RFC 6962 section 2.1).
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        Some(tlog_tiles::node_hash(
            self.hash(start, start + k)?,
            self.hash(start + k, end)?,
        ))
    }

    /// The root: the hash of every leaf (of none, SHA-256 of nothing).
    pub fn root(&self) -> Hash {
        self.hash(0, self.size())
            .unwrap_or_else(|| Hash(<sha2::Sha256 as sha2::Digest>::digest([]).into()))
    }
}

/// The leaf ranges `[start, end)` of the subtrees whose hashes make the RFC 6962 inclusion proof
/// (audit path) of entry `index` in the tree of `size` entries, in the proof's order (from the
/// leaf up): the same nodes `Log::prove_inclusion` returns, named rather than hashed. Proofs of
/// many entries share most nodes; a bundle stores each node once under its range. Empty when
/// `index >= size`.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    // PATH(m, D[lo:hi]) of RFC 6962 section 2.1.1, unrolled from the root down: the sibling
    // subtree at each split, collected top-down and returned bottom-up.
    let mut out = Vec::new();
    if index >= size {
        return out;
    }
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        // The largest power of two below the range's size.
        let k = 1u64 << (63 - (hi - lo - 1).leading_zeros());
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Parse lower-case or upper-case hexadecimal of a hash.
pub fn unhex(s: &str) -> Option<Hash> {
    let mut h = [0u8; HASH_SIZE];
    hex::decode_to_slice(s, &mut h).ok()?;
    Some(Hash(h))
}

/// Lower-case hexadecimal of a hash.
pub fn hex(h: &Hash) -> String {
    hex::encode(h.0)
}

#[cfg(test)]
mod tests;
