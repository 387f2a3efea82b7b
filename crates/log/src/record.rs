//! The on-disk record format of `entries.dat`, and recovery from a crash.
//!
//! ```text
//! file   := MAGIC record*
//! record := len:u32le  len_check:u32le  data_crc:u32le  data[len]
//! ```
//! `len_check` is `!len`, so a damaged length is caught before it is trusted; `data_crc` is
//! CRC-32 (IEEE) of the data. Written by hand because no crate offers this small, exact contract.
//!
//! Recovery policy (what a writer does on open):
//! - a final record cut short by the end of the file, or a tail of zero bytes, is a **torn tail**
//!   (a crash during an un-synced write): it is cut;
//! - anything else that fails a check is **corruption**: open fails and names the entry, so an
//!   acknowledged entry is never silently discarded.

/// First bytes of every entries file.
pub const MAGIC: &[u8; 8] = b"TRUCLOG1";
/// Bytes of a record header.
pub const HEADER_LEN: usize = 12;
/// Largest entry the log accepts. C2SP tlog-tiles entry bundles prefix each entry with a
/// big-endian uint16 length, so no entry can be longer.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// Encode one record header for `data`.
pub fn header(data: &[u8]) -> [u8; HEADER_LEN] {
    let len = data.len() as u32;
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[4..8].copy_from_slice(&(!len).to_le_bytes());
    h[8..12].copy_from_slice(&crc32fast::hash(data).to_le_bytes());
    h
}

/// How a scan of an entries file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Every byte belongs to a valid record.
    Clean,
    /// A torn tail starts at `offset`; the bytes from there on are not records.
    TornTail {
        /// Where the valid records end.
        offset: u64,
    },
    /// A record fails its checks: the file is damaged.
    Corrupt {
        /// Index of the entry that is damaged.
        index: u64,
        /// Byte offset of its header.
        offset: u64,
        /// What check failed.
        problem: String,
    },
}

/// Walk the records of `bytes` (a whole entries file), calling `visit(index, offset, data)` for
/// each valid one, and say how the scan ended. Never panics, whatever the bytes.
pub fn scan(bytes: &[u8], mut visit: impl FnMut(u64, u64, &[u8])) -> Result<ScanEnd, String> {
    if bytes.len() < MAGIC.len() {
        // A file shorter than its magic can only come from a crash while creating it.
        return if MAGIC.starts_with(bytes) {
            Ok(ScanEnd::TornTail { offset: 0 })
        } else {
            Err("not a Truce log file (bad magic)".into())
        };
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a Truce log file (bad magic)".into());
    }
    let mut pos = MAGIC.len();
    let mut index = 0u64;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.iter().all(|b| *b == 0) {
            return Ok(ScanEnd::TornTail { offset: pos as u64 });
        }
        if rest.len() < HEADER_LEN {
            return Ok(ScanEnd::TornTail { offset: pos as u64 });
        }
        let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let (len, check, crc) = (word(0), word(4), word(8));
        let corrupt = |problem: String| ScanEnd::Corrupt {
            index,
            offset: pos as u64,
            problem,
        };
        if check != !len {
            return Ok(corrupt("record length check failed".into()));
        }
        let len = len as usize;
        if len == 0 || len > MAX_ENTRY_LEN {
            return Ok(corrupt(format!("record length {len} out of range")));
        }
        if rest.len() < HEADER_LEN + len {
            return Ok(ScanEnd::TornTail { offset: pos as u64 });
        }
        let data = &rest[HEADER_LEN..HEADER_LEN + len];
        if crc32fast::hash(data) != crc {
            return Ok(corrupt("record checksum mismatch".into()));
        }
        visit(index, pos as u64, data);
        index += 1;
        pos += HEADER_LEN + len;
    }
    Ok(ScanEnd::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[&[u8]]) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        for e in entries {
            f.extend_from_slice(&header(e));
            f.extend_from_slice(e);
        }
        f
    }

    fn entries(bytes: &[u8]) -> (Vec<Vec<u8>>, Result<ScanEnd, String>) {
        let mut out = Vec::new();
        let end = scan(bytes, |_, _, d| out.push(d.to_vec()));
        (out, end)
    }

    #[test]
    fn every_truncation_is_a_torn_tail_keeping_whole_records() {
        let f = file(&[b"alpha", b"beta", b"gamma"]);
        let full = entries(&f);
        assert_eq!(full.1, Ok(ScanEnd::Clean));
        assert_eq!(full.0.len(), 3);
        let boundaries = [8, 8 + 12 + 5, 8 + 12 + 5 + 12 + 4, f.len()];
        for cut in 0..f.len() {
            let (got, end) = entries(&f[..cut]);
            let whole = boundaries
                .iter()
                .filter(|b| **b <= cut)
                .count()
                .saturating_sub(1);
            assert_eq!(got.len(), whole, "cut at {cut}");
            if boundaries.contains(&cut) && cut >= 8 {
                assert_eq!(end, Ok(ScanEnd::Clean), "cut at {cut}");
            } else {
                assert!(
                    matches!(end, Ok(ScanEnd::TornTail { .. })),
                    "cut at {cut}: {end:?}"
                );
            }
        }
    }

    #[test]
    fn a_changed_byte_inside_is_corruption_naming_the_entry() {
        let f = file(&[b"alpha", b"beta", b"gamma"]);
        for pos in 8..f.len() {
            let mut g = f.clone();
            g[pos] ^= 0x40;
            let (_, end) = entries(&g);
            let end = end.unwrap();
            let expect = if pos < 25 {
                0
            } else if pos < 41 {
                1
            } else {
                2
            };
            match end {
                ScanEnd::Corrupt { index, .. } => assert_eq!(index, expect, "byte {pos}"),
                // A flip in the last record's length can make it look cut short; the length check
                // catches that, so only corruption is acceptable here.
                other => panic!("byte {pos}: {other:?}"),
            }
        }
    }

    #[test]
    fn zero_tail_is_torn_and_bad_magic_is_an_error() {
        let mut f = file(&[b"alpha"]);
        f.extend_from_slice(&[0u8; 100]);
        let (got, end) = entries(&f);
        assert_eq!(got.len(), 1);
        assert_eq!(end, Ok(ScanEnd::TornTail { offset: 25 }));
        assert!(scan(b"NOTALOGFILE", |_, _, _| {}).is_err());
    }
}
