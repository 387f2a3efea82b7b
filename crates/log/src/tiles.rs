//! C2SP `tlog-tiles` layout: hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles
//! `tile/entries/<N>[.p/<W>]`, height 8.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tlog_tiles::Tile;

use crate::{Log, LogError, TILE_HEIGHT, io_err};

/// The C2SP path of a hash tile (`tlog_tiles` writes Go sumdb paths, which also carry the
/// height: `tile/8/L/N`).
pub(crate) fn hash_tile_path(t: &Tile) -> String {
    let go = t.path();
    let prefix = format!("tile/{TILE_HEIGHT}/");
    format!("tile/{}", go.strip_prefix(&prefix).unwrap_or(&go))
}

/// The C2SP path of the entry bundle matching a level-0 tile.
pub(crate) fn entries_tile_path(t: &Tile) -> String {
    let go = t.path();
    let prefix = format!("tile/{TILE_HEIGHT}/0/");
    format!("tile/entries/{}", go.strip_prefix(&prefix).unwrap_or(&go))
}

/// The hash tiles, and entry bundles, of a tree of `size` entries that are new since
/// `old_size`.
pub(crate) fn tiles_between(old_size: u64, size: u64) -> Vec<Tile> {
    if size == 0 {
        return Vec::new();
    }
    Tile::new_tiles(TILE_HEIGHT, old_size, size)
}

pub(crate) fn tile_bytes(log: &Log, t: &Tile) -> Result<Vec<u8>, LogError> {
    t.read_data(log.hashes())
        .map_err(|e| LogError::Proof(format!("tile {}: {e}", hash_tile_path(t))))
}

pub(crate) fn bundle_bytes(log: &Log, t: &Tile) -> Result<Vec<u8>, LogError> {
    let start = t.level_index() << TILE_HEIGHT;
    let mut out = Vec::new();
    for e in log.entries(start, start + u64::from(t.width()))? {
        // Entries are at most u16::MAX bytes (enforced on append).
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(&e);
    }
    Ok(out)
}

fn put(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), LogError> {
    let path: PathBuf = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let tmp = path.with_extension("tmp-write");
    fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// Write every tile and bundle that is new between the two sizes. Tiles are derived data: they
/// are written before the checkpoint that refers to them, and can always be rewritten.
///
/// On all cores: a day's first checkpoint writes 1,560 files, and creating files is kernel
/// work (the inode search) that two threads share. Day, on this project's 2-core machine: 0.22-
/// 0.27 s on one core, 0.13-0.17 s on two; right after a store of that size was deleted (as
/// `truce process` does with its last run's) 0.9-1.4 s against 0.5-1.3 s.
pub(crate) fn write_tiles(log: &Log, old_size: u64, size: u64) -> Result<(), LogError> {
    tiles_between(old_size, size).par_iter().try_for_each(|t| {
        put(log.dir(), &hash_tile_path(t), &tile_bytes(log, t)?)?;
        if t.level() == 0 {
            put(log.dir(), &entries_tile_path(t), &bundle_bytes(log, t)?)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_c2sp() {
        let full = Tile::new(8, 0, 1_234_067, 256, false);
        assert_eq!(hash_tile_path(&full), "tile/0/x001/x234/067");
        assert_eq!(entries_tile_path(&full), "tile/entries/x001/x234/067");
        let partial = Tile::new(8, 1, 0, 3, false);
        assert_eq!(hash_tile_path(&partial), "tile/1/000.p/3");
    }
}
