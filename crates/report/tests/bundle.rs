//! Bundles: a published bundle verifies offline; every kind of tampering is caught and named.

#![allow(clippy::unwrap_used)]

use rand::{RngExt, SeedableRng};
use truce_ingest::{IngestOptions, Keyring, Store};
use truce_log::LogSigner;
use truce_model::Agreement;
use truce_report::ReportError;
use truce_report::bundle::{Parts, VerifyOptions, Window, make, open, seal, verify};
use truce_sim::scenario::Scenario;

const SMALL: &str = include_str!("../../../scenarios/small.toml");
const MINSK: &str = include_str!("../../../scenarios/agreements/minsk-2022.geojson");

/// A short simulated world: a few minutes of the small scenario.
fn world() -> truce_sim::generate::Simulation {
    let mut s = Scenario::from_toml(SMALL).unwrap();
    s.duration_s = 150.0;
    truce_sim::generate::simulate(&s, Some(MINSK)).unwrap()
}

struct Mission {
    signer: LogSigner,
    vkey: String,
}

fn mission() -> Mission {
    let k = truce_log::generate_key("test.mission").unwrap();
    Mission {
        signer: LogSigner::from_skey(&k.skey).unwrap(),
        vkey: k.vkey,
    }
}

/// Ingest `lines` (a subset of the world's observation lines) into a fresh store in `dir`, run
/// the analysis and make the bundle.
fn publish(
    dir: &std::path::Path,
    sim: &truce_sim::generate::Simulation,
    lines: &[&[u8]],
    m: &Mission,
    previous: Option<&[u8]>,
) -> Vec<u8> {
    let store = ingested(dir, sim, lines);
    bundle_of(&store, sim, m, previous, &Window::default())
}

/// `lines` ingested into the store in `dir` (created if absent), checkpointed.
fn ingested(
    dir: &std::path::Path,
    sim: &truce_sim::generate::Simulation,
    lines: &[&[u8]],
) -> Store {
    let keyring = Keyring::new(&sim.registry).unwrap();
    let mut store = Store::open_or_create(dir, None).unwrap();
    let mut jwsl = Vec::new();
    for l in lines {
        jwsl.extend_from_slice(l);
        jwsl.push(b'\n');
    }
    store
        .ingest(&keyring, "t", &jwsl, &IngestOptions::default(), &mut |_| {})
        .unwrap();
    store.checkpoint().unwrap();
    store
}

/// The analysis of the whole store (before any window).
fn analysis(store: &Store, sim: &truce_sim::generate::Simulation) -> truce_report::Analysis {
    let log = store.evidence();
    let entries: Vec<Vec<u8>> = (0..log.size()).map(|i| log.entry(i).unwrap()).collect();
    let agreement = Agreement::from_json(sim.agreement_json.as_bytes()).unwrap();
    truce_report::analyse(agreement, &sim.registry, &entries).unwrap()
}

fn bundle_of(
    store: &Store,
    sim: &truce_sim::generate::Simulation,
    m: &Mission,
    previous: Option<&[u8]>,
    window: &Window,
) -> Vec<u8> {
    let a = analysis(store, sim);
    let registry = serde_json::to_vec(&sim.registry).unwrap();
    let windowed = window.is_bounded();
    make(&Parts {
        store,
        agreement: sim.agreement_json.as_bytes(),
        registry: &registry,
        findings_text: &window.apply(&a.findings_text).unwrap(),
        events_text: &window.apply(&a.events_text).unwrap(),
        all_events_text: windowed.then_some(a.events_text.as_str()),
        mission: &m.signer,
        mission_vkey: &m.vkey,
        previous,
        window: window.clone(),
    })
    .unwrap()
}

fn lines(sim: &truce_sim::generate::Simulation) -> Vec<&[u8]> {
    sim.jwsl
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

/// `truce verify` as a party runs it: the assessment re-run from the published events.
fn check(bundle: &[u8], m: &Mission) -> Result<Vec<String>, ReportError> {
    check_in(bundle, m, false)
}

/// `truce verify`, with `--full` (the whole analysis re-run) or without.
fn check_in(bundle: &[u8], m: &Mission, full: bool) -> Result<Vec<String>, ReportError> {
    verify(
        bundle,
        &VerifyOptions {
            mission_key: Some(&m.vkey),
            previous: None,
            agreement: None,
            full,
        },
    )
}

/// The body of a bundle as JSON, edited by `f`, re-signed by the mission (an insider's edit
/// that only the proofs and the re-run can catch).
fn edited(bundle: &[u8], m: &Mission, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut body: serde_json::Value =
        serde_json::from_slice(open(bundle).unwrap().body_bytes).unwrap();
    f(&mut body);
    seal(&serde_json::to_vec_pretty(&body).unwrap(), &m.signer).unwrap()
}

#[test]
fn a_bundle_verifies_and_every_changed_byte_is_caught() {
    let sim = world();
    let m = mission();
    let dir = tempfile::tempdir().unwrap();
    let all = lines(&sim);
    let bundle = publish(dir.path(), &sim, &all, &m, None);
    let problems = check(&bundle, &m).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let body: serde_json::Value =
        serde_json::from_slice(open(&bundle).unwrap().body_bytes).unwrap();
    let findings: serde_json::Value =
        serde_json::from_str(body["findings"].as_str().unwrap()).unwrap();
    assert!(
        !findings["features"].as_array().unwrap().is_empty(),
        "the test world should have findings"
    );
    // Every byte of the header and the signature, and 10,000 random positions of the body.
    let n = bundle.len();
    let note_start = n - open(&bundle).unwrap().note.len();
    let mut positions: Vec<usize> = (0..64).chain(note_start..n).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    positions.extend((0..10_000).map(|_| rng.random_range(0..n)));
    for pos in positions {
        let mut t = bundle.clone();
        t[pos] ^= 0x20;
        match check(&t, &m) {
            Ok(p) => assert!(!p.is_empty(), "byte {pos} changed, yet the bundle verified"),
            Err(ReportError::NotABundle(why)) => assert!(!why.is_empty()),
            Err(e) => panic!("byte {pos}: unexpected error {e}"),
        }
    }
}

#[test]
fn insider_edits_are_caught_by_the_proofs_and_the_rerun() {
    let sim = world();
    let m = mission();
    let dir = tempfile::tempdir().unwrap();
    let all = lines(&sim);
    let bundle = publish(dir.path(), &sim, &all, &m, None);

    // A finding edited (its attribution), re-signed: the re-run disagrees and names it.
    let reattributed = |b: &mut serde_json::Value| {
        let text =
            b["findings"]
                .as_str()
                .unwrap()
                .replacen("\"party\": \"A\"", "\"party\": \"B\"", 1);
        b["findings"] = text.into();
    };
    let t = edited(&bundle, &m, reattributed);
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains("findings: ev-") && x.contains("differs")),
        "{p:?}"
    );

    // The same edit in a bundle another version of Truce made: the difference is told, and that
    // the versions differ.
    let t = edited(&bundle, &m, |b| {
        reattributed(b);
        b["truce_version"] = "0.0.1".into();
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("differs")), "{p:?}");
    assert!(
        p.iter()
            .any(|x| x.contains("made by Truce 0.0.1") && x.contains("re-check it with 0.0.1")),
        "{p:?}"
    );
    // Another version whose analysis is the same bytes verifies.
    let t = edited(&bundle, &m, |b| b["truce_version"] = "0.0.1".into());
    let p = check(&t, &m).unwrap();
    assert!(p.is_empty(), "{p:?}");

    // A node of the proofs changed: every proof through it fails, and names its envelope.
    let t = edited(&bundle, &m, |b| {
        let n = &mut b["inclusion"]["nodes"][0][2];
        let h = n.as_str().unwrap();
        *n = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]).into();
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains("cited envelope") && x.contains("does not check")),
        "{p:?}"
    );
    // A cited envelope's proof left out.
    let t = edited(&bundle, &m, |b| {
        b["inclusion"]["indexes"].as_array_mut().unwrap().remove(0);
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("no inclusion proof")), "{p:?}");

    // An envelope dropped, or one added.
    let t = edited(&bundle, &m, |b| {
        b["entries"].as_array_mut().unwrap().remove(3);
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("dropped or added")), "{p:?}");
    let t = edited(&bundle, &m, |b| {
        let e = b["entries"][0].clone();
        b["entries"].as_array_mut().unwrap().push(e);
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("dropped or added")), "{p:?}");

    // An envelope changed (another one's bytes in its place).
    let t = edited(&bundle, &m, |b| {
        b["entries"][2] = b["entries"][5].clone();
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains("do not hash to the checkpoint")),
        "{p:?}"
    );

    // The checkpoint swapped for one of another log (a prefix of this one).
    let dir2 = tempfile::tempdir().unwrap();
    let other = publish(dir2.path(), &sim, &all[..all.len() / 2], &m, None);
    let other_body: serde_json::Value =
        serde_json::from_slice(open(&other).unwrap().body_bytes).unwrap();
    let t = edited(&bundle, &m, |b| {
        b["checkpoint"] = other_body["checkpoint"].clone();
        b["log_key"] = other_body["log_key"].clone();
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("checkpoint")), "{p:?}");

    // Signed by someone else.
    let impostor = mission();
    let p = check(&bundle, &impostor).unwrap();
    assert!(p.iter().any(|x| x.contains("mission")), "{p:?}");
}

#[test]
fn a_newer_bundle_must_extend_the_older_log() {
    let sim = world();
    let m = mission();
    let all = lines(&sim);
    let half = all.len() / 2;
    let dir = tempfile::tempdir().unwrap();
    let old = publish(dir.path(), &sim, &all[..half], &m, None);
    // The same store, later.
    let new = publish(dir.path(), &sim, &all[half..], &m, Some(&old));
    let opts = |prev| VerifyOptions {
        mission_key: Some(&m.vkey),
        previous: Some(prev),
        agreement: None,
        full: false,
    };
    let p = verify(&new, &opts(&old)).unwrap();
    assert!(p.is_empty(), "{p:?}");
    // What a newer report reads of the older bundle, reading only the members it needs: its
    // checkpoint (size as many envelopes as it holds) and how many findings it published.
    let body: serde_json::Value = serde_json::from_slice(open(&old).unwrap().body_bytes).unwrap();
    let (size, _) = open(&old).unwrap().checkpoint().unwrap();
    assert_eq!(size as usize, body["entries"].as_array().unwrap().len());
    let published: serde_json::Value =
        serde_json::from_str(body["findings"].as_str().unwrap()).unwrap();
    let counts = truce_report::html::counts(&open(&old).unwrap().findings().unwrap()).unwrap();
    assert_eq!(
        counts.values().sum::<usize>(),
        published["features"].as_array().unwrap().len()
    );
    assert_eq!(open(b"truce-bundle/2\n2\n{}sig").unwrap().findings(), None);
    // A log that rewrote history: the same observations but one early line left out.
    let forked_dir = tempfile::tempdir().unwrap();
    let mut forked_lines = all.clone();
    forked_lines.remove(1);
    let forked = publish(forked_dir.path(), &sim, &forked_lines, &m, None);
    let p = verify(&forked, &opts(&old)).unwrap();
    assert!(p.iter().any(|x| x.contains("rewritten history")), "{p:?}");
}

#[test]
fn unreadable_bundles_are_input_errors() {
    let m = mission();
    for (bytes, why) in [
        (&b""[..], "empty"),
        (b"hello\n", "not a Truce bundle"),
        (b"truce-bundle/9\n3\n{}\n", "unknown bundle version"),
        (b"truce-bundle/2\n1000\n{}", "truncated"),
        // A bundle of the first version (each proof in full): named, not misread.
        (b"truce-bundle/1\n3\n{}\n", "unknown bundle version \"1\""),
    ] {
        match check(bytes, &m) {
            Err(ReportError::NotABundle(w)) => assert!(w.contains(why), "{w}"),
            other => panic!("{why}: {other:?}"),
        }
    }
    // A bundle about another agreement.
    let sim = world();
    let dir = tempfile::tempdir().unwrap();
    let all = lines(&sim);
    let bundle = publish(dir.path(), &sim, &all[..50], &m, None);
    let other = MINSK.replacen("minsk-2022-demo", "another-agreement", 1);
    let r = verify(
        &bundle,
        &VerifyOptions {
            mission_key: Some(&m.vkey),
            previous: None,
            agreement: Some(other.as_bytes()),
            full: false,
        },
    );
    assert!(matches!(r, Err(ReportError::NotABundle(w)) if w.contains("another-agreement")));
}

/// The analysis runs the same on a registry and agreement that went through JSON and back
/// (floats must parse to the same bits: serde_json's float_roundtrip).
#[test]
fn the_rerun_is_the_same_after_a_json_round_trip() {
    let sim = world();
    let all = lines(&sim);
    let m = mission();
    let dir = tempfile::tempdir().unwrap();
    let bundle = publish(dir.path(), &sim, &all, &m, None);
    let body: serde_json::Value =
        serde_json::from_slice(open(&bundle).unwrap().body_bytes).unwrap();
    let reg =
        truce_model::SensorRegistry::from_json(&serde_json::to_vec(&body["registry"]).unwrap())
            .unwrap();
    assert_eq!(format!("{:?}", sim.registry), format!("{reg:?}"));
}

/// A report for a time window carries only that window's findings and still verifies (the
/// re-run covers the whole log, then takes the same window); changing the window after signing
/// is caught.
#[test]
fn a_windowed_report_verifies_and_its_window_binds() {
    let sim = world();
    let m = mission();
    let dir = tempfile::tempdir().unwrap();
    let store = ingested(dir.path(), &sim, &lines(&sim));
    let a = analysis(&store, &sim);
    let all_findings: serde_json::Value = serde_json::from_str(&a.findings_text).unwrap();
    let times: Vec<&str> = all_findings["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["time"].as_str().unwrap())
        .collect();
    assert!(times.len() >= 4);
    let from = truce_model::UtcNanos::parse(times[times.len() / 2]).unwrap();
    let window = Window {
        from: Some(from),
        until: None,
    };
    let bundle = bundle_of(&store, &sim, &m, None, &window);
    let findings_text = window.apply(&a.findings_text).unwrap();
    for full in [false, true] {
        let p = check_in(&bundle, &m, full).unwrap();
        assert!(p.is_empty(), "full {full}: {p:?}");
    }
    // The whole log's events, which the assessment is re-run from, left out (and re-signed):
    // said, not misread as the window's.
    let t = edited(&bundle, &m, |b| {
        b.as_object_mut().unwrap().remove("all_events");
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("no all_events")), "{p:?}");
    let kept: serde_json::Value = serde_json::from_str(&findings_text).unwrap();
    let n = kept["features"].as_array().unwrap().len();
    assert!(n > 0 && n < times.len(), "{n} of {}", times.len());
    // Widen the window after signing (and re-sign): the published findings no longer match.
    let t = edited(&bundle, &m, |b| {
        b["window"]["from"] = serde_json::Value::Null;
    });
    let p = check(&t, &m).unwrap();
    assert!(p.iter().any(|x| x.contains("findings")), "{p:?}");
}

/// The events text of a bundle body as JSON, edited by `f`, printed back as `truce process`
/// prints it.
fn edit_events(body: &mut serde_json::Value, member: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_str(body[member].as_str().unwrap()).unwrap();
    f(&mut v);
    body[member] = (serde_json::to_string_pretty(&v).unwrap() + "\n").into();
}

/// The bundle with the events `event` picks and the findings `finding` picks left out.
fn left_out(
    bundle: &[u8],
    m: &Mission,
    event: &dyn Fn(&serde_json::Value) -> bool,
    finding: &dyn Fn(&serde_json::Value) -> bool,
) -> Vec<u8> {
    edited(bundle, m, |b| {
        for (member, pick) in [("events", event), ("findings", finding)] {
            edit_events(b, member, |v| {
                v["features"].as_array_mut().unwrap().retain(|f| !pick(f));
            });
        }
    })
}

/// What `truce verify` checks without `--full` (the events against the envelopes they cite,
/// every radar track's ends against the events, and the assessment re-run from them), each
/// edit re-signed by the mission; and what only the full re-run catches: an event located from
/// picks alone left out together with its finding.
#[test]
fn the_quick_check_reassesses_the_events_and_the_full_one_reruns_them() {
    let sim = world();
    let m = mission();
    let dir = tempfile::tempdir().unwrap();
    let bundle = publish(dir.path(), &sim, &lines(&sim), &m, None);
    for full in [false, true] {
        let p = check_in(&bundle, &m, full).unwrap();
        assert!(p.is_empty(), "full {full}: {p:?}");
    }
    let body: serde_json::Value =
        serde_json::from_slice(open(&bundle).unwrap().body_bytes).unwrap();
    let findings: serde_json::Value =
        serde_json::from_str(body["findings"].as_str().unwrap()).unwrap();
    // The last firing no radar tracked: leaving it out (with the impact it links) changes no
    // other finding, since links are made in time order and a tracked round's link is not its.
    let firing = findings["features"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|f| {
            f["properties"]["type"] == "firing"
                && f["properties"]["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r["kind"] == "acoustic_pick")
        })
        .expect("the test world has a firing no radar tracked");
    let id = firing["properties"]["id"].as_str().unwrap().to_string();
    let is_it = |f: &serde_json::Value| f["properties"]["id"] == id.as_str();
    // Its events: the firing's, and the impact's it links (whose evidence the finding cites).
    let cites: std::collections::BTreeSet<u64> = firing["properties"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["leaf_index"].as_u64().unwrap())
        .collect();
    let its_event = |f: &serde_json::Value| {
        is_it(f)
            || f["properties"]["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| cites.contains(&r["leaf_index"].as_u64().unwrap()))
    };

    // The event moved (where the assessment reads it): its finding no longer follows.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                if is_it(f) {
                    let lat = &mut f["properties"]["position_exact"]["lat_deg"];
                    *lat = (lat.as_f64().unwrap() + 0.05).into();
                }
            }
        })
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter().any(|x| x.contains(&id) && x.contains("differs")),
        "{p:?}"
    );

    // The ellipse shown changed (not what the assessment reads): the events no longer follow.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                if is_it(f) {
                    f["properties"]["ellipse95"]["semi_major_m"] = 1.0.into();
                }
            }
        })
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.starts_with("events: ") && x.contains(&id) && x.contains("differs")),
        "{p:?}"
    );

    // The event cites another envelope's leaf hash; or its id is not its evidence's.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                if is_it(f) {
                    let r = &mut f["properties"]["evidence"][0]["leaf_hash"];
                    let h = r.as_str().unwrap();
                    *r =
                        format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]).into();
                }
            }
        })
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains(&id) && x.contains("which the log does not hold")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| x.contains(&id) && x.contains("not the id of its evidence")),
        "{p:?}"
    );
    // An id another version of Truce would give (made by it, say): told as such too.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                if is_it(f) {
                    f["properties"]["id"] = "ev-0123456789abcdef".into();
                }
            }
        });
        b["truce_version"] = "0.0.1".into();
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter().any(|x| x.contains("not the id of its evidence"))
            && p.iter().any(|x| x.contains("re-check it with 0.0.1")),
        "{p:?}"
    );

    // The event claims a pick more in its fit than it cites: its method and evidence disagree.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                if is_it(f) {
                    let n = &mut f["properties"]["picks"];
                    *n = (n.as_u64().unwrap_or(0) + 1).into();
                    f["properties"]["method"] = "acoustic".into();
                }
            }
        })
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains(&id) && x.contains("says it was located by")),
        "{p:?}"
    );

    // Events without the exact values the assessment reads: named, not misread.
    let t = edited(&bundle, &m, |b| {
        edit_events(b, "events", |v| {
            for f in v["features"].as_array_mut().unwrap() {
                f["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("position_exact");
            }
        })
    });
    let p = check(&t, &m).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains("no position_exact") && x.contains("--full")),
        "{p:?}"
    );

    // The event and its finding both left out: the assessment of what is published still
    // gives what is published, so only the full re-run, which finds the event again, sees it.
    let t = left_out(&bundle, &m, &its_event, &is_it);
    let p = check_in(&t, &m, false).unwrap();
    assert!(p.is_empty(), "{p:?}");
    let p = check_in(&t, &m, true).unwrap();
    assert!(
        p.iter().any(|x| x.starts_with("findings: the bundle has")),
        "{p:?}"
    );

    // A radar track's launch alone (a firing event citing one track and nothing else), left
    // out with its finding: the track's launch is cited by no firing event, which the quick
    // check sees; moved, it is not at the track's point.
    let events: serde_json::Value = serde_json::from_str(body["events"].as_str().unwrap()).unwrap();
    let radar = events["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            let ev = f["properties"]["evidence"].as_array().unwrap();
            f["properties"]["type"] == "firing" && ev.len() == 1 && ev[0]["kind"] == "radar_track"
        })
        .expect("the test world has a round only a radar located");
    let rid = radar["properties"]["id"].as_str().unwrap().to_string();
    let track = radar["properties"]["evidence"][0]["leaf_index"]
        .as_u64()
        .unwrap();
    let is_radar = |f: &serde_json::Value| f["properties"]["id"] == rid.as_str();
    let t = left_out(&bundle, &m, &is_radar, &is_radar);
    let p = check_in(&t, &m, false).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains(&format!("radar track {track} "))
                && x.contains("no firing event cites it")),
        "{p:?}"
    );
    // The bundle with that event's properties edited by `g`.
    let radar_edited = |g: &dyn Fn(&mut serde_json::Value)| {
        edited(&bundle, &m, |b| {
            edit_events(b, "events", |v| {
                for f in v["features"].as_array_mut().unwrap() {
                    if is_radar(f) {
                        g(&mut f["properties"]);
                    }
                }
            })
        })
    };
    let t = radar_edited(&|p| {
        let lon = &mut p["position_exact"]["lon_deg"];
        *lon = (lon.as_f64().unwrap() + 0.001).into();
    });
    let p = check_in(&t, &m, false).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains(&rid) && x.contains("not at its point and time")),
        "{p:?}"
    );
    // Its projectile changed (it bounds the flight when an impact is linked): not what the
    // track it cites says.
    let other = if radar["properties"]["projectile"] == "missile" {
        "rocket"
    } else {
        "missile"
    };
    let t = radar_edited(&|p| p["projectile"] = other.into());
    let p = check_in(&t, &m, false).unwrap();
    assert!(
        p.iter()
            .any(|x| x.contains(&rid) && x.contains(&format!("says its projectile is {other}"))),
        "{p:?}"
    );
}
