//! End-to-end tests of the `truce` binary: exit codes, messages, crash safety, tampering.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn truce() -> Command {
    Command::new(env!("CARGO_BIN_EXE_truce"))
}

fn run(args: &[&str]) -> Output {
    truce().args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sample_into(dir: &Path) -> PathBuf {
    let out = dir.join("sample");
    let o = run(&["sample", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    out
}

fn ingest(store: &Path, sensors: &Path, files: &[&Path]) -> Output {
    let mut args = vec![
        "ingest".to_owned(),
        "--store".into(),
        store.display().to_string(),
        "--sensors".into(),
        sensors.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    truce().args(&args).output().unwrap()
}

#[test]
fn ingest_prints_counts_by_reason_and_one_line_per_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample_into(dir.path());
    let store = dir.path().join("store");
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(s.join("expected.json")).unwrap()).unwrap();
    let line_of = |code: &str| {
        expected.iter().find(|e| e["outcome"] == code).unwrap()["line"]
            .as_u64()
            .unwrap()
    };
    let accepted = expected
        .iter()
        .filter(|e| e["outcome"] == "accepted")
        .count();
    let refused = expected.len() - accepted;
    let o = ingest(
        &store,
        &s.join("sensors.json"),
        &[&s.join("observations.jwsl")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("accepted:          {accepted:>9}")),
        "{out}"
    );
    assert!(out.contains("bad_signature"), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    // file:line: code: message, for every refusal.
    let messages = err.lines().filter(|l| l.contains("observations.jwsl:"));
    assert_eq!(messages.count(), refused, "{err}");
    let too_long = format!(
        "observations.jwsl:{}: line_too_long:",
        line_of("line_too_long")
    );
    assert!(err.contains(&too_long), "{err}");

    let list = run(&["quarantine", "list", "--store", store.to_str().unwrap()]);
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(listed.lines().count(), refused);
    let ghost = format!(
        ":{}: unknown_sensor: kid \"GHOST-9\"",
        line_of("unknown_sensor")
    );
    assert!(listed.contains(&ghost), "{listed}");

    let v = run(&["log", "verify", "--store", store.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));

    let p = run(&[
        "log",
        "prove",
        "--store",
        store.to_str().unwrap(),
        "--index",
        "3",
    ]);
    assert!(p.status.success(), "{}", text(&p));
    let proof: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(proof["size"], accepted);
    assert_eq!(proof["proof"].as_array().unwrap().len(), 4);
    let c = run(&[
        "log",
        "prove",
        "--store",
        store.to_str().unwrap(),
        "--from",
        "4",
    ]);
    assert!(c.status.success(), "{}", text(&c));
}

#[test]
fn input_errors_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample_into(dir.path());
    let store = dir.path().join("store");
    let bad_registry = dir.path().join("bad.json");
    std::fs::write(&bad_registry, "{\"sensors\": [ {\"id\": 3} ]}").unwrap();
    let o = ingest(&store, &bad_registry, &[&s.join("observations.jwsl")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad.json"), "{}", text(&o));
    // The parser's own message says where, once (not repeated as the error's source).
    let why = "invalid type: integer `3`, expected a string";
    assert_eq!(text(&o).matches(why).count(), 1, "{}", text(&o));
    let o = ingest(
        &store,
        &s.join("sensors.json"),
        &[&dir.path().join("nope.jwsl")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("nope.jwsl"), "{}", text(&o));
    assert_eq!(run(&["ingest"]).status.code(), Some(2));
    let o = run(&[
        "log",
        "verify",
        "--store",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Every file of the store, changed at a spread of byte positions, makes `log verify` fail; a
/// change inside an entry is reported naming the entry.
#[test]
fn a_changed_byte_anywhere_in_the_store_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample_into(dir.path());
    let store = dir.path().join("store");
    assert!(
        ingest(
            &store,
            &s.join("sensors.json"),
            &[&s.join("observations.jwsl")]
        )
        .status
        .success()
    );
    let mut files = Vec::new();
    let mut stack = vec![store.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.starts_with(store.join("keys")) {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for f in files {
        let good = std::fs::read(&f).unwrap();
        let step = (good.len() / 6).max(1);
        for pos in (0..good.len()).step_by(step) {
            let mut bad = good.clone();
            bad[pos] ^= 0x04;
            std::fs::write(&f, &bad).unwrap();
            let o = run(&["log", "verify", "--store", store.to_str().unwrap()]);
            assert_ne!(
                o.status.code(),
                Some(0),
                "{} byte {pos}: {}",
                f.display(),
                text(&o)
            );
            if f.ends_with("entries.dat") && pos >= 8 {
                assert!(text(&o).contains("entry "), "{}: {}", f.display(), text(&o));
            }
        }
        std::fs::write(&f, &good).unwrap();
    }
    let o = run(&["log", "verify", "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Kill `truce ingest` with SIGKILL at many points; every observation it acknowledged must be in
/// the log afterwards, the log must verify, and a final run completes the file exactly.
#[test]
fn killing_ingest_never_loses_an_acknowledged_observation() {
    let dir = tempfile::tempdir().unwrap();
    let bulk = truce_sim::bulk::bulk(40, 6000, truce_sim::sample::SAMPLE_START);
    let sensors = dir.path().join("sensors.json");
    std::fs::write(&sensors, serde_json::to_vec(&bulk.registry).unwrap()).unwrap();
    // Every 40th line is garbage, so the quarantine is exercised too.
    let mut valid = Vec::new();
    let mut file = Vec::new();
    for (i, line) in bulk
        .jwsl
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i % 40 == 39 {
            file.extend_from_slice(format!("garbage line {i}\n").as_bytes());
        } else {
            valid.push(line.to_vec());
            file.extend_from_slice(line);
            file.push(b'\n');
        }
    }
    let input = dir.path().join("obs.jwsl");
    std::fs::write(&input, &file).unwrap();
    let store = dir.path().join("store");
    let mut state: u64 = 0x2545_f491;
    let mut killed_mid_way = 0;
    for round in 0..12 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_after_acks = (state >> 33) % 6;
        let mut child = truce()
            .args(["ingest", "--acks", "--group-lines", "250", "--store"])
            .arg(&store)
            .arg("--sensors")
            .arg(&sensors)
            .arg(&input)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut last_ack = 0u64;
        let mut acks = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("ack ") {
                last_ack = rest.split(' ').next().unwrap().parse().unwrap();
                acks += 1;
                if acks > kill_after_acks {
                    std::thread::sleep(std::time::Duration::from_micros((state >> 20) % 3000));
                    child.kill().unwrap();
                    break;
                }
            }
        }
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid_way += 1;
        }
        // Reopen (recovering any torn tail) and check the acknowledged prefix is all there.
        let st = truce_ingest::Store::open(&store).unwrap();
        let size = st.evidence().size();
        assert!(
            size >= last_ack,
            "round {round}: acked {last_ack} but the log holds {size}"
        );
        for i in (0..size).step_by(97) {
            assert_eq!(
                st.evidence().entry(i).unwrap(),
                valid[i as usize],
                "round {round} entry {i}"
            );
        }
        drop(st);
        let v = run(&["log", "verify", "--store", store.to_str().unwrap()]);
        assert_eq!(v.status.code(), Some(0), "round {round}: {}", text(&v));
    }
    assert!(
        killed_mid_way >= 6,
        "only {killed_mid_way} runs were killed mid-ingest"
    );
    let o = ingest(&store, &sensors, &[&input]);
    assert!(o.status.success(), "{}", text(&o));
    let st = truce_ingest::Store::open(&store).unwrap();
    assert_eq!(st.evidence().size(), valid.len() as u64);
    for (i, v) in valid.iter().enumerate() {
        assert_eq!(&st.evidence().entry(i as u64).unwrap(), v);
    }
    let v = run(&["log", "verify", "--store", store.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}

#[test]
fn demo_runs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["demo", "--out", dir.path().join("d").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("evidence: ok: 11 entries, checkpoint at 11"),
        "{out}"
    );
    assert!(
        out.contains("quarantine: ok: 21 entries, checkpoint at 21"),
        "{out}"
    );
    // Every reason code was exercised and listed.
    for code in [
        "line_too_long",
        "truncated",
        "replay",
        "seq_decreasing",
        "bad_signature",
    ] {
        assert!(out.contains(code), "{code} missing from {out}");
    }
    // The demo ends in a verified report; what a party runs gives the same, and exit codes
    // tell tampering (1) from unreadable input (2).
    assert!(
        out.contains("verified (every signature and proof, and the whole analysis re-run"),
        "{out}"
    );
    let report = dir.path().join("d/run/report");
    for f in [
        "report.html",
        "findings.kml",
        "findings.cot",
        "violations.geojson",
    ] {
        assert!(report.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<table>"));
    // The small scenario has two sensor outages; the report lists them.
    assert!(
        html.contains("<h2>Sensors down: 2</h2>"),
        "sensors down missing"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<link"),
        "the report must need no network"
    );
    let bundle = report.join("report.truce-bundle");
    let key = dir.path().join("d/mission.key.pub");
    let verify = |b: &Path| {
        run(&[
            "verify",
            b.to_str().unwrap(),
            "--mission-key",
            key.to_str().unwrap(),
        ])
    };
    // Without --full: the assessment re-run from the published events, and it says so.
    let o = verify(&bundle);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("the assessment re-run from them") && text(&o).contains("--full"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "verify",
        "--full",
        bundle.to_str().unwrap(),
        "--mission-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("whole analysis re-run"), "{}", text(&o));
    let bytes = std::fs::read(&bundle).unwrap();
    let bad = dir.path().join("bad.truce-bundle");
    let mut t = bytes.clone();
    let mid = t.len() / 2;
    t[mid] ^= 1;
    std::fs::write(&bad, &t).unwrap();
    let o = verify(&bad);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("changed after signing"), "{}", text(&o));
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let o = verify(&bad);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("truncated"), "{}", text(&o));
    let o = verify(&dir.path().join("missing.truce-bundle"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn simulate_then_score_perfect_findings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = run(&[
        "simulate",
        root.join("scenarios/small.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "agreement.geojson",
        "sensors.json",
        "keys.json",
        "observations.jwsl",
        "truth.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Findings exactly at the truth: every number perfect.
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let features: Vec<serde_json::Value> = truth["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            serde_json::json!({"type": "Feature",
                "geometry": {"type": "Point", "coordinates": [v["lon"], v["lat"]]},
                "properties": {"type": v["type"], "party": v["party"], "time": v["time"]}})
        })
        .collect();
    let findings = dir.path().join("violations.geojson");
    write_features(&findings, features);
    let truth_path = out.join("truth.json");
    let score = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "score",
            "--truth",
            truth_path.to_str().unwrap(),
            "--findings",
            findings.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let s = score(&[]);
    assert_eq!(s["precision"], 1.0);
    assert_eq!(s["recall"], 1.0);
    assert_eq!(s["attribution_accuracy"], 1.0);
    assert!(s.get("events").is_none(), "events scored without --events");
    // Events exactly at every round's launch and impact: event F1 perfect too.
    let events: Vec<serde_json::Value> = truth["shots"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            [
                ("firing", &r["lon"], &r["lat"], &r["time"]),
                (
                    "impact",
                    &r["impact"]["lon"],
                    &r["impact"]["lat"],
                    &r["impact"]["time"],
                ),
            ]
            .map(|(kind, lon, lat, time)| {
                serde_json::json!({"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"type": kind, "time": time}})
            })
        })
        .collect();
    let n = events.len();
    let events_path = dir.path().join("events.geojson");
    write_features(&events_path, events);
    let s = score(&["--events", events_path.to_str().unwrap()]);
    assert_eq!(s["events"]["matched"], n);
    assert_eq!(s["events"]["precision"], 1.0);
    assert_eq!(s["events"]["f1"], 1.0);
}

/// Write `features` as a GeoJSON FeatureCollection.
fn write_features(path: &Path, features: Vec<serde_json::Value>) {
    let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(path, fc.to_string()).unwrap();
}

#[test]
fn an_invalid_scenario_names_key_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n\n[radar]\ndetect_p = 1.5\n").unwrap();
    let o = run(&[
        "simulate",
        bad.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("radar.detect_p (line 4)"), "{}", text(&o));
}

#[test]
fn process_locates_events_deterministically_and_keeps_the_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sim = dir.path().join("sim");
    let o = run(&[
        "simulate",
        root.join("scenarios/small.toml").to_str().unwrap(),
        "--out",
        sim.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let process = |out: &Path, files: &[&Path]| {
        let mut args = vec![
            "process".to_owned(),
            "--agreement".into(),
            sim.join("agreement.geojson").display().to_string(),
            "--sensors".into(),
            sim.join("sensors.json").display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let o = truce().args(&args).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    process(&a, &[&sim.join("observations.jwsl")]);
    process(&b, &[&sim.join("observations.jwsl")]);
    let events = std::fs::read(a.join("events.geojson")).unwrap();
    assert_eq!(
        events,
        std::fs::read(b.join("events.geojson")).unwrap(),
        "same input, same bytes"
    );
    let fc: serde_json::Value = serde_json::from_slice(&events).unwrap();
    let features = fc["features"].as_array().unwrap();
    assert!(features.len() > 50, "{} events", features.len());
    // Every event has an id of its own (a radar track alone is two events, launch and impact,
    // with the same evidence).
    let ids: std::collections::BTreeSet<&str> = features
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), features.len(), "event ids repeat");
    let radar_only_pair = features.iter().any(|f| {
        let ev = f["properties"]["evidence"].as_array().unwrap();
        f["properties"]["type"] == "impact"
            && ev.len() == 1
            && features.iter().any(|g| {
                g["properties"]["type"] == "firing"
                    && g["properties"]["evidence"].as_array().unwrap() == ev
            })
    });
    assert!(
        radar_only_pair,
        "the small scenario has a track standing alone as two events"
    );
    for f in features {
        let p = &f["properties"];
        assert!(p["type"] == "firing" || p["type"] == "impact");
        let e = &p["ellipse95"];
        assert!(e["semi_major_m"].as_f64().unwrap() >= e["semi_minor_m"].as_f64().unwrap());
        for ev in p["evidence"].as_array().unwrap() {
            assert!(
                ev["kind"] == "acoustic_pick" || ev["kind"] == "radar_track",
                "{ev}"
            );
            assert_eq!(ev["leaf_hash"].as_str().unwrap().len(), 64);
        }
    }
    // A signature that does not verify: the analysis process started beside ingest (on every
    // line that parses) is thrown away, and the log's own entries analysed, as if the line had
    // never been sent.
    let jwsl = std::fs::read_to_string(sim.join("observations.jwsl")).unwrap();
    let lines: Vec<&str> = jwsl.lines().collect();
    let k = (lines.len() / 2..lines.len())
        .find(|&k| lines[k].len() > 200 && lines[k - 1].len() > 200)
        .unwrap();
    let mut forged = lines[k].to_owned().into_bytes();
    let at = forged.len() - 20;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let with = |line: Option<&[u8]>| {
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match (i == k, line) {
                (true, None) => continue,
                (true, Some(l)) => out.extend_from_slice(l),
                _ => out.extend_from_slice(l.as_bytes()),
            }
            out.push(b'\n');
        }
        out
    };
    let (bad, without) = (dir.path().join("bad.jwsl"), dir.path().join("without.jwsl"));
    std::fs::write(&bad, with(Some(&forged))).unwrap();
    std::fs::write(&without, with(None)).unwrap();
    let (d, e) = (dir.path().join("d"), dir.path().join("e"));
    process(&d, &[&bad]);
    process(&e, &[&without]);
    for name in ["events.geojson", "violations.geojson"] {
        assert_eq!(
            std::fs::read(d.join(name)).unwrap(),
            std::fs::read(e.join(name)).unwrap(),
            "{name}: a forged line is as if it had not been sent"
        );
    }
    let q = std::fs::read_to_string(d.join("quarantine.jsonl")).unwrap();
    assert_eq!(q.lines().count(), 1);
    assert!(q.contains("bad_signature"), "{q}");

    // Running again over the same output folder replaces the store, not appends to it.
    process(&a, &[&sim.join("observations.jwsl")]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["observations"]["rejected"], 0);

    // Bad input reaches quarantine.jsonl, one line per refusal.
    let s = sample_into(dir.path());
    let c = dir.path().join("c");
    let o = truce()
        .args(["process", "--agreement"])
        .arg(sim.join("agreement.geojson"))
        .arg("--sensors")
        .arg(s.join("sensors.json"))
        .arg("--out")
        .arg(&c)
        .arg(s.join("observations.jwsl"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let q = std::fs::read_to_string(c.join("quarantine.jsonl")).unwrap();
    assert_eq!(q.lines().count(), 21);
}

#[test]
fn keygen_writes_both_files_or_neither() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("mission.key");
    let keygen = || {
        run(&[
            "keygen",
            "log",
            "--origin",
            "m.example",
            "--out",
            key.to_str().unwrap(),
        ])
    };
    assert!(keygen().status.success());
    let public = std::fs::read_to_string(dir.path().join("mission.key.pub")).unwrap();
    // The private key gone, its .pub left: a new key would not match the old .pub, so none
    // is written.
    std::fs::remove_file(&key).unwrap();
    let o = keygen();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("mission.key.pub exists"), "{}", text(&o));
    assert!(!key.exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mission.key.pub")).unwrap(),
        public
    );
}

/// A fresh gateway key (`truce keygen sensor`) in `dir`.
fn gateway_key(dir: &Path) -> PathBuf {
    let key = dir.join("gw.key");
    assert!(
        run(&["keygen", "sensor", "--out", key.to_str().unwrap()])
            .status
            .success()
    );
    key
}

/// `truce ingest firms --store STORE --gateway KEY FILE`.
fn ingest_firms(store: &Path, key: &Path, file: &Path) -> Output {
    truce()
        .args(["ingest", "firms", "--store"])
        .arg(store)
        .arg("--gateway")
        .arg(key)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn firms_csv_becomes_signed_anomalies_and_bad_rows_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let key = gateway_key(dir.path());
    let csv = dir.path().join("firms.csv");
    std::fs::write(
        &csv,
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_ti5,frp,daynight\n\
         48.1,37.7,331.2,0.39,0.36,2023-08-15,1106,N,VIIRS,n,2.0NRT,290.1,12.4,D\n\
         48.2,37.8,340.0,0.39,0.36,2023-08-15,7,N,VIIRS,h,2.0NRT,291.0,30.1,N\n\
         95.0,37.8,340.0,0.39,0.36,2023-08-15,7,N,VIIRS,h,2.0NRT,291.0,30.1,N\n\
         48.2,37.8,340.0\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let ingest = |file: &Path| ingest_firms(&store, &key, file);
    let o = ingest(&csv);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("firms.csv:4: out_of_range"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("firms.csv:5: bad_feed_row"),
        "{}",
        text(&o)
    );
    let list = run(&["quarantine", "list", "--store", store.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);
    // The accepted rows are signed thermal anomalies in the evidence log, seq 1 and 2.
    let st = truce_ingest::Store::open(&store).unwrap();
    assert_eq!(st.evidence().size(), 2);
    assert_eq!(st.last_seq("GW-FIRMS"), Some(2));
    let e = st.evidence().entry(1).unwrap();
    let jws = truce_ingest::jws::parse(&e).unwrap();
    let obs = truce_model::Observation::from_json(&jws.payload).unwrap();
    assert_eq!(obs.time.to_string(), "2023-08-15T00:07:00Z");
    assert!(matches!(
        obs.body,
        truce_model::ObservationBody::ThermalAnomaly(_)
    ));
    drop(st);
    // A second file continues the gateway's sequence.
    let o = ingest(&csv);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        truce_ingest::Store::open(&store)
            .unwrap()
            .last_seq("GW-FIRMS"),
        Some(4)
    );
    // Not a FIRMS file: exit 2 with a message.
    let not = dir.path().join("not.csv");
    std::fs::write(&not, "a,b,c\n1,2,3\n").unwrap();
    let o = ingest(&not);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not a FIRMS CSV"), "{}", text(&o));
}

#[test]
fn the_real_2023_viirs_file_is_taken_whole() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/firms-ukraine-viirs-2023/fire_nrt_SV-C2_400448.csv");
    if !file.exists() {
        eprintln!(
            "skipping: {} not found (shared data absent)",
            file.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = gateway_key(dir.path());
    let store = dir.path().join("store");
    let o = ingest_firms(&store, &key, &file);
    assert!(o.status.success(), "{}", text(&o));
    let st = truce_ingest::Store::open(&store).unwrap();
    assert_eq!(st.evidence().size(), 42_415);
    assert_eq!(st.quarantine().size(), 0);
}

#[test]
fn process_refuses_an_agreement_with_overlapping_control_areas() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample_into(dir.path());
    let agreement = dir.path().join("overlap.geojson");
    std::fs::write(
        &agreement,
        r#"{"type": "FeatureCollection",
 "agreement": {"id": "t", "parties": ["A", "B"], "effective_from": "2026-01-10T00:00:00Z"},
 "features": [
   {"type": "Feature", "properties": {"role": "ceasefire_line"}, "geometry": {"type": "LineString", "coordinates": [[37.0, 48.0], [38.0, 48.0]]}},
   {"type": "Feature", "properties": {"role": "control_area", "party": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0,47.9],[38.0,47.9],[38.0,48.5],[37.0,48.5],[37.0,47.9]]]}},
   {"type": "Feature", "properties": {"role": "control_area", "party": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0,47.5],[38.0,47.5],[38.0,48.0],[37.0,48.0],[37.0,47.5]]]}}
 ]}"#,
    )
    .unwrap();
    let o = truce()
        .args(["process", "--agreement"])
        .arg(&agreement)
        .arg("--sensors")
        .arg(s.join("sensors.json"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(s.join("observations.jwsl"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("features 1 and 2: control areas of A and B overlap"),
        "{}",
        text(&o)
    );
}

/// `truce fires` end to end: reference years with a steady pattern, an analysis year ingested
/// from FIRMS CSV with a cell that burns on three days weeks apart where it never burned; that
/// cell, and only it, becomes possible impact findings citing the log, attributed by the
/// agreement's areas; weekly activity near the line is written by side.
#[test]
fn fires_flags_recurring_fire_where_there_was_none() {
    let dir = tempfile::tempdir().unwrap();
    let key = gateway_key(dir.path());
    // Reference: 3 years, a 5 x 5 block of cells around Donetsk burning on the 1st of each month.
    let mut reference = String::from("LATITUDE,LONGITUDE,ACQ_DATE\n");
    for year in 2019..2022 {
        for month in 1..=12 {
            for c in 0..25 {
                let date = format!("{year}-{month:02}-01");
                reference.push_str(&format!(
                    "{:.4},{:.4},{date}\n",
                    48.105 + 0.1 * (c / 5) as f64,
                    37.705 + 0.1 * (c % 5) as f64
                ));
            }
        }
    }
    let ref_path = dir.path().join("reference.csv");
    std::fs::write(&ref_path, reference).unwrap();
    // Analysis year: 5 detections on each of three days (June, July, August) in a cell with no
    // history at 48.95 N 37.95 E, and one on one day in another.
    let mut analysis = String::from("LATITUDE,LONGITUDE,ACQ_DATE\n48.7550,37.6050,2023-05-01\n");
    for date in ["2023-06-05", "2023-07-05", "2023-08-05"] {
        for k in 0..5 {
            analysis.push_str(&format!(
                "{:.4},37.9550,{date}\n",
                48.951 + 0.001 * k as f64
            ));
        }
    }
    let an_path = dir.path().join("analysis.csv");
    std::fs::write(&an_path, analysis).unwrap();
    let store = dir.path().join("store");
    let o = ingest_firms(&store, &key, &an_path);
    assert!(o.status.success(), "{}", text(&o));
    let agreement =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/agreements/minsk-2022.geojson");
    let out = dir.path().join("out");
    let o = truce()
        .args(["fires", "--store"])
        .arg(&store)
        .arg("--agreement")
        .arg(&agreement)
        .arg("--out")
        .arg(&out)
        .arg("--reference")
        .arg(&ref_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("fire_findings.geojson")).unwrap()).unwrap();
    let f = findings["features"].as_array().unwrap();
    assert_eq!(f.len(), 3, "{}", text(&o));
    for x in f {
        let p = &x["properties"];
        assert_eq!(p["type"], "impact");
        assert_eq!(p["grade"], "possible");
        assert_eq!(p["evidence"].as_array().unwrap().len(), 5);
        let c = &x["geometry"]["coordinates"];
        assert!(
            (c[1].as_f64().unwrap() - 48.95).abs() < 0.01
                && (c[0].as_f64().unwrap() - 37.95).abs() < 0.01
        );
        // 48.95 N 37.95 E lies in government-held Donetsk oblast in the Minsk-era agreement.
        assert_eq!(p["party"], "A");
    }
    let weekly = std::fs::read_to_string(out.join("fires_weekly.csv")).unwrap();
    assert!(weekly.starts_with("week_start,party,within_10km,within_25km,within_50km\n"));
    assert!(out.join("report.html").is_file());
}
