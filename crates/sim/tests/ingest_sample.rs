//! The sample data set through the ingest path: every line gets exactly its expected outcome.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions
use std::collections::BTreeSet;
use std::path::Path;

use truce_ingest::{IngestOptions, Keyring, QuarantineRecord, Reason, Store};
use truce_sim::sample::{Sample, sample};

fn ingest(store_dir: &Path, s: &Sample, opts: &IngestOptions) -> truce_ingest::IngestSummary {
    let keyring = Keyring::new(&s.registry).unwrap();
    let mut store = Store::open_or_create(store_dir, None).unwrap();
    let summary = store
        .ingest(&keyring, "observations.jwsl", &s.jwsl, opts, &mut |_| {})
        .unwrap();
    store.checkpoint().unwrap();
    summary
}

fn records(store_dir: &Path) -> Vec<QuarantineRecord> {
    let store = Store::open(store_dir).unwrap();
    store
        .quarantine_records()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn every_line_gets_its_expected_outcome() {
    let s = sample();
    let dir = tempfile::tempdir().unwrap();
    let summary = ingest(dir.path(), &s, &IngestOptions::default());
    let accepted: Vec<_> = s
        .expected
        .iter()
        .filter(|e| e.outcome == "accepted")
        .collect();
    assert_eq!(summary.accepted as usize, accepted.len());
    let recs = records(dir.path());
    let refused: Vec<_> = s
        .expected
        .iter()
        .filter(|e| e.outcome != "accepted")
        .collect();
    assert_eq!(recs.len(), refused.len());
    for (rec, exp) in recs.iter().zip(&refused) {
        assert_eq!(rec.line, exp.line, "{}", rec.display_line());
        assert_eq!(
            rec.reason.code(),
            exp.outcome,
            "line {}: {} ({})",
            exp.line,
            rec.message,
            exp.note
        );
        assert_eq!(rec.source, "observations.jwsl");
        assert!(!rec.message.is_empty());
    }
    // The evidence log holds the accepted lines, byte for byte, in file order.
    let lines: Vec<&[u8]> = s.jwsl.split(|b| *b == b'\n').collect();
    let store = Store::open(dir.path()).unwrap();
    for (i, exp) in accepted.iter().enumerate() {
        assert_eq!(
            store.evidence().entry(i as u64).unwrap(),
            lines[exp.line as usize - 1]
        );
    }
}

#[test]
fn the_sample_covers_every_reason_code() {
    let s = sample();
    let covered: BTreeSet<&str> = s.expected.iter().map(|e| e.outcome.as_str()).collect();
    // Feed-row reasons concern CSV rows, not observation lines (tested with FIRMS input).
    for r in Reason::ALL.iter().filter(|r| r.is_observation_reason()) {
        assert!(
            covered.contains(r.code()),
            "no sample line for {}",
            r.code()
        );
    }
}

#[test]
fn committed_testdata_is_what_the_generator_writes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample");
    let s = sample();
    let jwsl = std::fs::read(dir.join("observations.jwsl")).unwrap();
    assert!(
        jwsl == s.jwsl,
        "testdata/sample is stale: run `truce sample --out testdata/sample`"
    );
    let reg: truce_model::SensorRegistry =
        serde_json::from_slice(&std::fs::read(dir.join("sensors.json")).unwrap()).unwrap();
    assert_eq!(reg, s.registry);
}

#[test]
fn ingesting_twice_changes_nothing_in_the_log() {
    let s = sample();
    let dir = tempfile::tempdir().unwrap();
    ingest(dir.path(), &s, &IngestOptions::default());
    let root = Store::open(dir.path()).unwrap().evidence().root().unwrap();
    let again = ingest(dir.path(), &s, &IngestOptions::default());
    assert_eq!(again.accepted, 0);
    assert_eq!(again.log_size_before, again.log_size_after);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.evidence().root().unwrap(), root);
    // Lines accepted the first time are now replays.
    let first_ok = s
        .expected
        .iter()
        .filter(|e| e.outcome == "accepted")
        .count() as u64;
    assert!(
        again.by_reason[&Reason::Replay] >= first_ok,
        "{:?}",
        again.by_reason
    );
    assert!(Store::verify(dir.path()).unwrap().ok());
}

#[test]
fn outcome_does_not_depend_on_group_size() {
    let s = sample();
    let mut results = Vec::new();
    // Batches of 3, or of 8 first while the last group's signatures were good (a failed one
    // checked again by threes): the sample has a bad signature among good ones.
    for (group_lines, clean_batch) in [(1, 0), (2, 0), (7, 0), (8192, 0), (7, 8), (8192, 8)] {
        let dir = tempfile::tempdir().unwrap();
        let opts = IngestOptions {
            group_lines,
            verify_batch: 3,
            clean_batch,
        };
        ingest(dir.path(), &s, &opts);
        let store = Store::open(dir.path()).unwrap();
        results.push((
            store.evidence().root().unwrap(),
            store.quarantine().root().unwrap(),
        ));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
}

#[test]
fn a_bulk_stream_is_accepted_whole() {
    let b = truce_sim::bulk::bulk(50, 3000, truce_sim::sample::SAMPLE_START);
    let keyring = Keyring::new(&b.registry).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(dir.path(), None).unwrap();
    let mut acks = Vec::new();
    let opts = IngestOptions {
        group_lines: 1000,
        ..IngestOptions::default()
    };
    let summary = store
        .ingest(&keyring, "bulk.jwsl", &b.jwsl, &opts, &mut |p| {
            acks.push(p.log_size)
        })
        .unwrap();
    assert_eq!((summary.accepted, summary.rejected()), (3000, 0));
    assert_eq!(acks, [1000, 2000, 3000]);
}

#[test]
fn crlf_blank_lines_and_a_missing_final_newline_are_handled() {
    let s = sample();
    let first_ok = s.jwsl.split(|b| *b == b'\n').next().unwrap().to_vec();
    let mut input = b"\r\n   \n".to_vec();
    input.extend_from_slice(&first_ok);
    input.extend_from_slice(b"\r\n\n");
    let keyring = Keyring::new(&s.registry).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(dir.path(), None).unwrap();
    let summary = store
        .ingest(
            &keyring,
            "crlf.jwsl",
            &input,
            &IngestOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        (summary.accepted, summary.blank_lines, summary.rejected()),
        (1, 3, 0)
    );
    // The entry is the line without its CR.
    assert_eq!(store.evidence().entry(0).unwrap(), first_ok);

    // A valid final line without a newline is accepted, not called truncated.
    let second = s.jwsl.split(|b| *b == b'\n').nth(1).unwrap();
    let summary = store
        .ingest(
            &keyring,
            "last.jwsl",
            second,
            &IngestOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.accepted, 1);
}

#[test]
fn a_registry_with_a_weak_key_is_refused() {
    let mut s = sample();
    // The identity point (all zero but the first byte 1) has small order.
    let mut x = [0u8; 32];
    x[0] = 1;
    s.registry.sensors[0].key = truce_model::Jwk::ed25519(&x);
    let err = Keyring::new(&s.registry).unwrap_err();
    assert!(err.to_string().contains("AC-1"), "{err}");
}

/// What `truce process` starts its analysis on before the signatures are checked: with every
/// signature good, exactly the log ingest makes, whatever else is refused (the sample has a
/// line of every other reason); with a bad one, not (process then analyses the log itself).
#[test]
fn expected_envelopes_are_the_log_when_every_signature_verifies() {
    let s = sample();
    let keyring = Keyring::new(&s.registry).unwrap();
    let bad_signature: BTreeSet<u64> = s
        .expected
        .iter()
        .filter(|e| e.outcome == "bad_signature")
        .map(|e| e.line)
        .collect();
    assert!(!bad_signature.is_empty(), "the sample has a bad signature");
    let mut good = Vec::new();
    for (i, line) in s.jwsl.split_inclusive(|b| *b == b'\n').enumerate() {
        if !bad_signature.contains(&(i as u64 + 1)) {
            good.extend_from_slice(line);
        }
    }
    for (input, same) in [(&good, true), (&s.jwsl, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(dir.path(), None).unwrap();
        let summary = store
            .ingest(
                &keyring,
                "in",
                input,
                &IngestOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert!(
            summary.rejected() >= 20,
            "the other refusals are still there: {summary:?}"
        );
        let expected =
            truce_ingest::expected_envelopes(&[truce_ingest::parse_input(&keyring, input)]);
        let envelopes: Vec<&[u8]> = expected.iter().map(|e| e.envelope).collect();
        assert_eq!(store.evidence().holds_exactly(&envelopes), same);
        if same {
            let entries = store
                .evidence()
                .entries(0, store.evidence().size())
                .unwrap();
            assert_eq!(entries, envelopes);
            // With what ingest parsed: the leaf hash and payload the analysis would parse.
            for (e, x) in entries.iter().zip(&expected) {
                assert_eq!(truce_log::record_hash(e), x.leaf);
                let jws = truce_ingest::jws::parse(e).unwrap();
                let observation = truce_model::Observation::from_json(&jws.payload).unwrap();
                assert_eq!(observation, x.observation);
            }
        }
    }
}

/// An input parsed once for `truce process` (`parse_input`) is ingested as if ingest had
/// parsed it: the same summary, log and quarantine, in groups of every size (the parse is
/// handed out a group at a time).
#[test]
fn ingesting_a_parsed_input_is_ingesting_it() {
    let s = sample();
    let keyring = Keyring::new(&s.registry).unwrap();
    for group_lines in [1, 3, 8192] {
        let opts = IngestOptions {
            group_lines,
            ..IngestOptions::default()
        };
        let run = |parsed: bool| {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open_or_create(dir.path(), None).unwrap();
            let mut seen = Vec::new();
            let mut progress = |p: truce_ingest::Progress| seen.push((p.bytes_done, p.log_size));
            let summary = if parsed {
                let input = truce_ingest::parse_input(&keyring, &s.jwsl);
                store.ingest_parsed("in", input, &opts, &mut progress)
            } else {
                store.ingest(&keyring, "in", &s.jwsl, &opts, &mut progress)
            }
            .unwrap();
            let log = store.evidence();
            let entries = log.entries(0, log.size()).unwrap();
            let quarantine = store.quarantine();
            let refused = quarantine.entries(0, quarantine.size()).unwrap();
            (format!("{summary:?}"), seen, entries, refused)
        };
        let (plain, parsed) = (run(false), run(true));
        assert!(
            plain.3.len() >= 20,
            "the sample's refusals: {}",
            plain.3.len()
        );
        assert_eq!(plain, parsed, "groups of {group_lines}");
    }
}

/// What `truce verify` re-checks a bundle's envelopes with: the decision a new store makes of
/// each sample line, signatures and in-order rules included, with nothing written (the last
/// line, cut short by the end of the file, is `truncated` only in a file: here it is a whole
/// envelope and is judged as one).
#[test]
fn recheck_decides_each_line_as_ingest_does() {
    let s = sample();
    let keyring = Keyring::new(&s.registry).unwrap();
    let lines: Vec<&[u8]> = s
        .jwsl
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    let judged: Vec<_> = s
        .expected
        .iter()
        .filter(|e| e.outcome != "truncated")
        .collect();
    let envelopes: Vec<&[u8]> = judged.iter().map(|e| lines[e.line as usize - 1]).collect();
    let decided = truce_ingest::recheck_envelopes(&keyring, &envelopes);
    assert_eq!(decided.len(), judged.len());
    let mut outcomes = BTreeSet::new();
    for (d, e) in decided.iter().zip(&judged) {
        let got = match d {
            truce_ingest::Recheck::Accepted { leaf, .. } => {
                assert_eq!(*leaf, truce_log::record_hash(lines[e.line as usize - 1]));
                "accepted"
            }
            truce_ingest::Recheck::Refused { reason, .. } => reason.code(),
        };
        assert_eq!(got, e.outcome, "line {} ({})", e.line, e.note);
        outcomes.insert(got);
    }
    assert!(
        outcomes.len() >= 10,
        "the sample's lines have many outcomes: {outcomes:?}"
    );
}
