//! Tests of the log against RFC 6962 vectors, an independent implementation (ct-merkle), crashes
//! and tampering.

use super::*;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sha2_11::Sha256 as Sha256v11;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The leaves and roots of the RFC 6962 reference test data (certificate-transparency's
/// `merkle_tree_test`), as used by many CT implementations.
const RFC6962_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const RFC6962_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn rfc6962_reference_roots() {
    // The first reference leaf is empty, which the log refuses as an entry; check the hashing
    // itself on the in-memory hash store, exactly as the log computes it.
    let mut hashes = MemHashes::default();
    for (i, leaf) in RFC6962_LEAVES.iter().enumerate() {
        hashes.push_record(i as u64, record_hash(&unhex(leaf)));
        let root = tlog_tiles::tree_hash(i as u64 + 1, &hashes).unwrap();
        assert_eq!(hex(&root), RFC6962_ROOTS[i], "tree of {} leaves", i + 1);
    }
    assert_eq!(
        hex(&tlog_tiles::tree_hash(0, &hashes).unwrap()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i} {}", "x".repeat((i % 7) as usize)).into_bytes()
}

#[test]
fn proofs_at_every_size_up_to_300_match_ct_merkle() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    let mut oracle = MemoryBackedTree::<Sha256v11, Vec<u8>>::new();
    let mut roots = Vec::new();
    for n in 1..=300u64 {
        let e = entry(n - 1);
        log.append(&e).unwrap();
        oracle.push(e);
        let root = log.root().unwrap();
        assert_eq!(
            &root.0[..],
            oracle.root().as_bytes().as_slice(),
            "root at {n}"
        );
        roots.push(root);
        for i in 0..n {
            let proof = log.prove_inclusion(i, n).unwrap();
            let theirs = oracle.prove_inclusion(i as usize);
            let ours: Vec<u8> = proof.iter().flat_map(|h| h.0).collect();
            assert_eq!(ours, theirs.as_bytes(), "inclusion of {i} in {n}");
            check_inclusion(&proof, n, root, i, log.leaf_hash(i).unwrap()).unwrap();
        }
        for m in 1..n {
            let proof = log.prove_consistency(m, n).unwrap();
            let theirs = oracle.prove_consistency((n - m) as usize);
            let ours: Vec<u8> = proof.iter().flat_map(|h| h.0).collect();
            assert_eq!(ours, theirs.as_bytes(), "consistency {m} -> {n}");
            check_consistency(&proof, n, root, m, roots[m as usize - 1]).unwrap();
        }
    }
}

/// Each node `inclusion_ranges` names is the root of its range of entries, and together they
/// are the proof `prove_inclusion` gives, in its order.
#[test]
fn inclusion_ranges_name_the_proof_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    let entries: Vec<Vec<u8>> = (0..70).map(entry).collect();
    for e in &entries {
        log.append(e).unwrap();
    }
    for n in 1..=70u64 {
        for i in 0..n {
            let named: Vec<Hash> = inclusion_ranges(i, n)
                .into_iter()
                .map(|(a, b)| {
                    assert!(a < b && b <= n, "range {a}..{b} of {i} in {n}");
                    root_of_entries(entries[a as usize..b as usize].iter().map(|e| e.as_slice()))
                        .unwrap()
                })
                .collect();
            assert_eq!(named, log.prove_inclusion(i, n).unwrap(), "{i} in {n}");
        }
        assert!(inclusion_ranges(n, n).is_empty());
    }
}

/// A tree in memory gives every range's RFC 6962 hash as `tlog_tiles` computes it from the
/// entries (aligned subtrees, right edges and ranges of any start alike), every proof node as
/// the log proves it, and the root of every size (of none too).
#[test]
fn mem_tree_hashes_every_range_as_the_log_does() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    let entries: Vec<Vec<u8>> = (0..37).map(entry).collect();
    for e in &entries {
        log.append(e).unwrap();
    }
    let mth =
        |a: usize, b: usize| root_of_entries(entries[a..b].iter().map(|e| e.as_slice())).unwrap();
    for n in 0..=37usize {
        let tree = MemTree::new(entries[..n].iter().map(|e| record_hash(e)).collect());
        assert_eq!(tree.size(), n as u64);
        assert_eq!(tree.root(), mth(0, n), "root of {n}");
        for a in 0..n {
            for b in a + 1..=n {
                assert_eq!(
                    tree.hash(a as u64, b as u64),
                    Some(mth(a, b)),
                    "{a}..{b} of {n}"
                );
            }
        }
        assert_eq!(tree.hash(0, n as u64 + 1), None);
        assert_eq!(tree.hash(n as u64, n as u64), None);
        for i in 0..n as u64 {
            let nodes: Vec<Hash> = inclusion_ranges(i, n as u64)
                .into_iter()
                .map(|(a, b)| tree.hash(a, b).unwrap())
                .collect();
            assert_eq!(
                nodes,
                log.prove_inclusion(i, n as u64).unwrap(),
                "{i} in {n}"
            );
        }
    }
}

#[test]
fn wrong_proofs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    for i in 0..37 {
        log.append(&entry(i)).unwrap();
    }
    let root = log.root().unwrap();
    let leaf = log.leaf_hash(5).unwrap();
    let proof = log.prove_inclusion(5, 37).unwrap();
    // Wrong index, wrong leaf, wrong size, each hash flipped, truncated, extended.
    assert!(check_inclusion(&proof, 37, root, 6, leaf).is_err());
    assert!(check_inclusion(&proof, 37, root, 5, log.leaf_hash(6).unwrap()).is_err());
    // (A wrong tree size is not always caught by the proof alone: as RFC 6962 allows, one audit
    // path can fit several sizes. The size is bound by the signed checkpoint instead.)
    assert!(check_inclusion(&proof, 3, root, 5, leaf).is_err());
    for k in 0..proof.len() {
        let mut p = proof.clone();
        p[k].0[0] ^= 1;
        assert!(check_inclusion(&p, 37, root, 5, leaf).is_err(), "flip {k}");
    }
    assert!(check_inclusion(&proof[..proof.len() - 1], 37, root, 5, leaf).is_err());
    let mut longer = proof.clone();
    longer.push(leaf);
    assert!(check_inclusion(&longer, 37, root, 5, leaf).is_err());

    let old = log.root_at(20).unwrap();
    let cproof = log.prove_consistency(20, 37).unwrap();
    check_consistency(&cproof, 37, root, 20, old).unwrap();
    assert!(check_consistency(&cproof, 37, root, 21, old).is_err());
    assert!(check_consistency(&cproof, 37, root, 20, log.root_at(19).unwrap()).is_err());
    assert!(check_consistency(&cproof, 37, root, 0, old).is_err());
    assert!(log.prove_inclusion(37, 37).is_err());
    assert!(log.prove_consistency(10, 38).is_err());
}

fn entries_path(dir: &Path) -> PathBuf {
    dir.join(ENTRIES_FILE)
}

#[test]
fn reopen_restores_the_same_tree_and_entries() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let (mut log, r) = Log::open(dir.path()).unwrap();
        assert_eq!(r, Recovery::default());
        for i in 0..1000 {
            log.append(&entry(i)).unwrap();
        }
        log.commit().unwrap();
        log.root().unwrap()
    };
    let (log, r) = Log::open(dir.path()).unwrap();
    assert_eq!(r.entries, 1000);
    assert_eq!(r.cut_bytes, 0);
    assert_eq!(log.root().unwrap(), root);
    assert_eq!(log.entry(777).unwrap(), entry(777));
}

#[test]
fn every_torn_tail_is_cut_back_to_whole_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    let mut roots = vec![log.root().unwrap()];
    let mut ends = vec![MAGIC.len() as u64];
    for i in 0..6 {
        log.append(&entry(i)).unwrap();
        log.commit().unwrap();
        roots.push(log.root().unwrap());
        ends.push(fs::metadata(entries_path(dir.path())).unwrap().len());
    }
    drop(log);
    let full = fs::read(entries_path(dir.path())).unwrap();
    for cut in 0..=full.len() as u64 {
        let case = tempfile::tempdir().unwrap();
        fs::write(entries_path(case.path()), &full[..cut as usize]).unwrap();
        let (log, rec) = Log::open(case.path()).unwrap();
        let whole = ends.iter().filter(|e| **e <= cut).count().saturating_sub(1);
        assert_eq!(log.size(), whole as u64, "cut at {cut}");
        assert_eq!(log.root().unwrap(), roots[whole], "cut at {cut}");
        let kept = if cut < MAGIC.len() as u64 {
            0
        } else {
            ends[whole]
        };
        assert_eq!(rec.cut_bytes, cut.saturating_sub(kept), "cut at {cut}");
        // The log is usable after recovery.
        drop(log);
        let (mut log, _) = Log::open(case.path()).unwrap();
        log.append(b"after").unwrap();
        log.commit().unwrap();
        let (log, rec) = Log::open(case.path()).unwrap();
        assert_eq!((log.size(), rec.cut_bytes), (whole as u64 + 1, 0));
    }
}

#[test]
fn damage_before_the_end_is_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    for i in 0..10 {
        log.append(&entry(i)).unwrap();
    }
    log.commit().unwrap();
    let offsets = log.offsets.clone();
    drop(log);
    let path = entries_path(dir.path());
    let good = fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[offsets[4] as usize + 20] ^= 0xff;
    fs::write(&path, &bad).unwrap();
    match Log::open(dir.path()) {
        Err(LogError::Corrupt { index, .. }) => assert_eq!(index, 4),
        other => panic!("expected corruption, got {other:?}"),
    }
    // Nothing was cut: restoring the byte restores the log.
    assert_eq!(fs::read(&path).unwrap(), bad);
    fs::write(&path, &good).unwrap();
    assert_eq!(Log::open(dir.path()).unwrap().0.size(), 10);
}

fn signed_log(n: u64) -> (tempfile::TempDir, KeyPair) {
    let dir = tempfile::tempdir().unwrap();
    let keys = generate_key("truce.test/evidence").unwrap();
    let signer = LogSigner::from_skey(&keys.skey).unwrap();
    let (mut log, _) = Log::open(dir.path()).unwrap();
    for i in 0..n {
        log.append(&entry(i)).unwrap();
        if i == n / 2 {
            log.checkpoint(&signer).unwrap();
        }
    }
    log.checkpoint(&signer).unwrap();
    (dir, keys)
}

#[test]
fn a_checkpointed_log_verifies_and_serves_c2sp_tiles() {
    let (dir, keys) = signed_log(600);
    let report = verify_dir(dir.path(), &keys.vkey).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!((report.entries, report.checkpoint_size), (600, Some(600)));
    // 600 = 2*256 + 88: two full level-0 tiles, one partial, and a partial level-1 tile.
    for rel in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
    ] {
        assert!(dir.path().join(rel).is_file(), "{rel} missing");
    }
    let bundle = fs::read(dir.path().join("tile/entries/001")).unwrap();
    let first_len = u16::from_be_bytes([bundle[0], bundle[1]]) as usize;
    assert_eq!(&bundle[2..2 + first_len], entry(256).as_slice());
    let level0 = fs::read(dir.path().join("tile/0/000")).unwrap();
    assert_eq!(&level0[..32], &record_hash(&entry(0)).0);
}

#[test]
fn every_changed_byte_of_the_entries_fails_verify_naming_the_entry() {
    let (dir, keys) = signed_log(40);
    let path = entries_path(dir.path());
    let good = fs::read(&path).unwrap();
    let (log, _) = Log::open_read_only(dir.path()).unwrap();
    let offsets = log.offsets.clone();
    drop(log);
    for pos in MAGIC.len()..good.len() {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        fs::write(&path, &bad).unwrap();
        let report = verify_dir(dir.path(), &keys.vkey).unwrap();
        let expect = offsets.iter().rposition(|o| *o as usize <= pos).unwrap() as u64;
        assert!(!report.ok(), "byte {pos} changed but verify passed");
        match &report.problems[0] {
            VerifyProblem::DamagedEntry { index, .. } => assert_eq!(*index, expect, "byte {pos}"),
            other => panic!("byte {pos}: {other}"),
        }
    }
    fs::write(&path, &good).unwrap();
    assert!(verify_dir(dir.path(), &keys.vkey).unwrap().ok());
}

#[test]
fn a_rewritten_record_with_a_fresh_checksum_is_found_by_root_and_tiles() {
    let (dir, keys) = signed_log(300);
    let path = entries_path(dir.path());
    let (log, _) = Log::open_read_only(dir.path()).unwrap();
    let off = log.offsets[123] as usize;
    drop(log);
    let mut bytes = fs::read(&path).unwrap();
    let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
    let data_start = off + record::HEADER_LEN;
    bytes[data_start] ^= 0x20; // "e" -> "E": same length
    let h = record::header(&bytes[data_start..data_start + len]);
    bytes[off..off + record::HEADER_LEN].copy_from_slice(&h);
    fs::write(&path, &bytes).unwrap();
    let report = verify_dir(dir.path(), &keys.vkey).unwrap();
    assert_eq!(
        report.problems,
        vec![VerifyProblem::RootMismatch {
            size: 300,
            first_changed_entry: Some(123)
        }]
    );
}

#[test]
fn checkpoint_and_tile_tampering_is_reported() {
    let (dir, keys) = signed_log(300);
    let cp = dir.path().join(CHECKPOINT_FILE);
    let good = fs::read(&cp).unwrap();
    for pos in 0..good.len() {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        fs::write(&cp, &bad).unwrap();
        let report = verify_dir(dir.path(), &keys.vkey).unwrap();
        assert!(
            !report.ok(),
            "checkpoint byte {pos} changed but verify passed"
        );
    }
    fs::write(&cp, &good).unwrap();
    let tile = dir.path().join("tile/0/001.p/44");
    let mut t = fs::read(&tile).unwrap();
    t[5] ^= 1;
    fs::write(&tile, &t).unwrap();
    let report = verify_dir(dir.path(), &keys.vkey).unwrap();
    assert!(
        matches!(&report.problems[..], [VerifyProblem::BadTile { path, .. }] if path == "tile/0/001.p/44"),
        "{:?}",
        report.problems
    );
    fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();
    assert_eq!(
        verify_dir(dir.path(), &keys.vkey).unwrap().problems,
        vec![VerifyProblem::NoCheckpoint]
    );
}

#[test]
fn truncating_checkpointed_entries_is_reported_as_missing() {
    let (dir, keys) = signed_log(50);
    let (log, _) = Log::open_read_only(dir.path()).unwrap();
    let cut = log.offsets[45];
    drop(log);
    let f = OpenOptions::new()
        .write(true)
        .open(entries_path(dir.path()))
        .unwrap();
    f.set_len(cut).unwrap();
    let report = verify_dir(dir.path(), &keys.vkey).unwrap();
    assert_eq!(
        report.problems,
        vec![VerifyProblem::MissingEntries {
            checkpoint_size: 50,
            log_size: 45
        }]
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any bytes at all: opening never panics, and either refuses or yields a usable log.
        #[test]
        fn recovery_from_arbitrary_bytes_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..400), keep in 0usize..3) {
            let dir = tempfile::tempdir().unwrap();
            let (mut log, _) = Log::open(dir.path()).unwrap();
            for i in 0..keep as u64 { log.append(&entry(i)).unwrap(); }
            log.commit().unwrap();
            drop(log);
            let mut bytes = fs::read(entries_path(dir.path())).unwrap();
            bytes.extend_from_slice(&tail);
            fs::write(entries_path(dir.path()), &bytes).unwrap();
            if let Ok((log, _)) = Log::open(dir.path()) {
                prop_assert!(log.size() >= keep as u64);
                for i in 0..keep as u64 { prop_assert_eq!(log.entry(i).unwrap(), entry(i)); }
            }
        }

        /// A range read gives what reading entry by entry gives, wherever the range starts and
        /// ends: in the file, in the pending buffer, or across the two.
        #[test]
        fn a_range_reads_as_its_entries_one_by_one(
            lens in proptest::collection::vec(1usize..300, 1..40),
            committed in 0usize..40,
            a in 0u64..45,
            b in 0u64..45,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (mut log, _) = Log::open(dir.path()).unwrap();
            let made: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| (0..n).map(|k| (i * 7 + k) as u8).collect()).collect();
            for (i, e) in made.iter().enumerate() {
                if i == committed { log.commit().unwrap(); }
                log.append(e).unwrap();
            }
            let (start, end) = (a.min(b), a.max(b));
            let got = log.entries(start, end).unwrap();
            let want: Vec<Vec<u8>> = (start..end.min(log.size())).map(|i| log.entry(i).unwrap()).collect();
            prop_assert_eq!(&got, &want);
            let expected: Vec<Vec<u8>> = made.iter().skip(start as usize).take(got.len()).cloned().collect();
            prop_assert_eq!(got, expected);
        }
    }
}

#[test]
fn hashes_round_trip_through_hex_and_malformed_hex_is_refused() {
    let h = Hash(std::array::from_fn(|i| (i * 37) as u8));
    let text = crate::hex(&h);
    assert_eq!(text.len(), 64);
    assert_eq!(crate::unhex(&text), Some(h));
    assert_eq!(crate::unhex(&text.to_uppercase()), Some(h));
    // A sign, a short or long string, a non-hex digit: not a hash.
    assert_eq!(crate::unhex(&format!("+{}", &text[1..])), None);
    assert_eq!(crate::unhex(&text[2..]), None);
    assert_eq!(crate::unhex(&format!("{text}00")), None);
    assert_eq!(crate::unhex(&format!("g{}", &text[1..])), None);
}
