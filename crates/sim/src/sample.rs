//! The sample data set (`testdata/sample`): a registry, and an observation file with a valid
//! observation of every kind and an invalid line for every reason code, with the expected outcome
//! of each line. Regenerate with `truce sample --out testdata/sample`.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};
use truce_ingest::{Reason, jws};
use truce_model::{Position, SensorKind, SensorRegistry, UtcNanos};

use crate::{test_key, test_sensor};

/// The expected outcome of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expect {
    /// 1-based line number.
    pub line: u64,
    /// `accepted`, or the reason code.
    pub outcome: String,
    /// What the line is.
    pub note: String,
}

/// The sample set.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `sensors.json`.
    pub registry: SensorRegistry,
    /// `observations.jwsl`.
    pub jwsl: Vec<u8>,
    /// Expected outcome of every line.
    pub expected: Vec<Expect>,
}

/// The start time of the sample: 2026-01-10T06:00:00Z.
pub const SAMPLE_START: UtcNanos = UtcNanos::from_unix_secs(1_768_024_800);

struct Builder {
    jwsl: Vec<u8>,
    expected: Vec<Expect>,
}

impl Builder {
    fn line(&mut self, bytes: &[u8], outcome: &str, note: &str) {
        self.jwsl.extend_from_slice(bytes);
        self.jwsl.push(b'\n');
        self.expected.push(Expect {
            line: self.expected.len() as u64 + 1,
            outcome: outcome.into(),
            note: note.into(),
        });
    }

    fn signed(&mut self, signer: &str, kid: &str, payload: &Value, outcome: &str, note: &str) {
        let text = jws::sign(payload.to_string().as_bytes(), kid, &test_key(signer));
        self.line(text.as_bytes(), outcome, note);
    }

    fn ok(&mut self, sensor: &str, payload: Value, note: &str) {
        self.signed(sensor, sensor, &payload, "accepted", note);
    }

    fn bad(&mut self, sensor: &str, payload: Value, reason: Reason, note: &str) {
        self.signed(sensor, sensor, &payload, reason.code(), note);
    }
}

fn at(secs: i64) -> String {
    UtcNanos(SAMPLE_START.0 + secs * 1_000_000_000).to_string()
}

fn obs(sensor: &str, seq: u64, secs: i64, kind: &str, body: Value) -> Value {
    let mut v = json!({"v": 1, "sensor": sensor, "seq": seq, "time": at(secs), "kind": kind});
    if let (Some(o), Value::Object(b)) = (v.as_object_mut(), body) {
        o.extend(b);
    }
    v
}

/// Build the sample set.
pub fn sample() -> Sample {
    let p = |lat_deg, lon_deg| {
        Some(Position {
            lat_deg,
            lon_deg,
            alt_m: 200.0,
        })
    };
    let mut old = test_sensor("AC-OLD", SensorKind::Acoustic, "FI", p(48.05, 37.60));
    old.active_until = Some(SAMPLE_START);
    let registry = SensorRegistry {
        sensors: vec![
            test_sensor("AC-1", SensorKind::Acoustic, "NO", p(48.10, 37.70)),
            test_sensor("AC-2", SensorKind::Acoustic, "FI", p(48.20, 37.80)),
            test_sensor("RAD-1", SensorKind::Radar, "SE", p(48.00, 37.50)),
            test_sensor("DR-1", SensorKind::Drone, "NO", None),
            test_sensor("SAT-1", SensorKind::Satellite, "EU", None),
            test_sensor("GW-FIRMS", SensorKind::Gateway, "EU", None),
            test_sensor("MET-1", SensorKind::Met, "FI", p(48.15, 37.75)),
            old,
        ],
    };
    let mut b = Builder {
        jwsl: Vec::new(),
        expected: Vec::new(),
    };
    let pick = |seq, secs| {
        obs(
            "AC-1",
            seq,
            secs,
            "acoustic_pick",
            json!({"time_sigma_s": 0.002, "signal": "blast",
            "signal_p": 0.9, "snr_db": 14.0, "back_azimuth_deg": [231.5], "back_azimuth_sigma_deg": [3.0]}),
        )
    };

    // Valid observations, one of every kind.
    b.ok(
        "MET-1",
        obs(
            "MET-1",
            1,
            0,
            "met",
            json!({"temperature_c": -3.5, "wind_speed_mps": 4.2,
        "wind_from_deg": 250.0, "pressure_hpa": 1012.0}),
        ),
        "met",
    );
    b.ok("AC-1", pick(1, 10), "acoustic_pick with back azimuth");
    b.ok(
        "AC-2",
        obs(
            "AC-2",
            1,
            11,
            "acoustic_pick",
            json!({"time_sigma_s": 0.003,
        "signal": "detonation", "signal_p": 0.7, "snr_db": 9.5}),
        ),
        "acoustic_pick",
    );
    b.ok(
        "RAD-1",
        obs(
            "RAD-1",
            1,
            12,
            "radar_track",
            json!({
        "launch": {"lat": 48.02, "lon": 37.41, "sigma_m": 60.0, "time": at(9)},
        "impact": {"lat": 48.21, "lon": 37.83, "sigma_m": 25.0, "time": at(35)},
        "projectile": "artillery"}),
        ),
        "radar_track",
    );
    b.ok("DR-1", obs("DR-1", 1, 20, "drone_coverage", json!({"until": at(1800),
        "footprint": {"type": "Polygon", "coordinates": [[[37.6, 48.0], [37.7, 48.0], [37.7, 48.1], [37.6, 48.1], [37.6, 48.0]]]},
        "classes": ["tank", "artillery_ge100", "mlrs"]})), "drone_coverage");
    b.ok(
        "DR-1",
        obs(
            "DR-1",
            2,
            600,
            "drone_detection",
            json!({
        "target": {"lat": 48.05, "lon": 37.65, "sigma_m": 15.0}, "class": "artillery_ge100",
        "class_p": 0.8, "platform": {"lat": 48.04, "lon": 37.64, "alt_m": 450.0},
        "media_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
        ),
        "drone_detection",
    );
    b.ok(
        "GW-FIRMS",
        obs(
            "GW-FIRMS",
            1,
            3600,
            "thermal_anomaly",
            json!({"lat": 48.21, "lon": 37.83,
        "frp_mw": 12.4, "brightness_k": 331.2, "scan_km": 0.39, "track_km": 0.36,
        "satellite": "N20", "instrument": "VIIRS", "confidence": "n", "daynight": "D"}),
        ),
        "thermal_anomaly",
    );
    b.ok("SAT-1", obs("SAT-1", 1, 7200, "sar_change", json!({"pre_time": at(-86400),
        "geometry": {"type": "Point", "coordinates": [37.83, 48.21]}, "score": 0.91, "method": "coherence"})), "sar_change");
    b.ok(
        "AC-2",
        obs(
            "AC-2",
            2,
            60,
            "sensor_status",
            json!({"ok": true, "clock_offset_s": 0.0004}),
        ),
        "sensor_status",
    );
    b.ok(
        "AC-2",
        obs("AC-2", 5, 70, "sensor_status", json!({"ok": true})),
        "sensor_status, seq jumps to 5",
    );

    // Invalid lines, one for every reason code, in the order of checking.
    let huge = obs(
        "AC-2",
        6,
        61,
        "sensor_status",
        json!({"ok": true, "note": "x".repeat(70_000)}),
    );
    b.bad("AC-2", huge, Reason::LineTooLong, "a 93 KB line");
    let mut non_utf8 = jws::sign(
        pick(90, 90).to_string().as_bytes(),
        "AC-1",
        &test_key("AC-1"),
    )
    .into_bytes();
    non_utf8.insert(10, 0xff);
    b.line(
        &non_utf8,
        Reason::NotUtf8.code(),
        "a 0xff byte inside the header",
    );
    b.line(
        b"this is not a JWS",
        Reason::MalformedJws.code(),
        "plain text",
    );
    b.line(
        b"eyJhbGciOiJFZERTQSJ9*.e30.AAAA",
        Reason::BadBase64.code(),
        "'*' in the header",
    );
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    b.line(
        format!("{}.{}.AAAA", b64("[1,2]"), b64("{}")).as_bytes(),
        Reason::BadHeader.code(),
        "header is an array",
    );
    b.line(
        format!(
            "{}.{}.AAAA",
            b64(r#"{"alg":"HS256","kid":"AC-1"}"#),
            b64("{}")
        )
        .as_bytes(),
        Reason::UnsupportedAlg.code(),
        "alg HS256",
    );
    b.signed(
        "AC-1",
        "GHOST-9",
        &pick(91, 91),
        Reason::UnknownSensor.code(),
        "kid not registered",
    );
    b.signed(
        "AC-2",
        "AC-1",
        &pick(92, 92),
        Reason::BadSignature.code(),
        "signed with another sensor's key",
    );
    let not_object = jws::sign(b"[1,2,3]", "AC-1", &test_key("AC-1"));
    b.line(
        not_object.as_bytes(),
        Reason::BadPayload.code(),
        "payload is a JSON array",
    );
    let mut v2 = pick(93, 93);
    v2["v"] = json!(2);
    b.bad("AC-1", v2, Reason::UnsupportedVersion, "v 2");
    b.bad(
        "AC-1",
        obs("AC-1", 94, 94, "teleport", json!({})),
        Reason::UnknownKind,
        "kind teleport",
    );
    let mut no_snr = pick(95, 95);
    no_snr.as_object_mut().map(|o| o.remove("snr_db"));
    b.bad(
        "AC-1",
        no_snr,
        Reason::MissingField,
        "acoustic_pick without snr_db",
    );
    let mut bad_time = pick(96, 96);
    bad_time["time"] = json!("yesterday");
    b.bad(
        "AC-1",
        bad_time,
        Reason::InvalidField,
        "time is not RFC 3339",
    );
    b.bad(
        "GW-FIRMS",
        obs(
            "GW-FIRMS",
            2,
            3700,
            "thermal_anomaly",
            json!({"lat": 91.0, "lon": 37.8}),
        ),
        Reason::OutOfRange,
        "latitude 91",
    );
    let mut neg_sigma = pick(97, 97);
    neg_sigma["time_sigma_s"] = json!(-0.5);
    b.bad("AC-1", neg_sigma, Reason::OutOfRange, "negative sigma");
    let mut other = pick(98, 98);
    other["sensor"] = json!("AC-2");
    b.signed(
        "AC-1",
        "AC-1",
        &other,
        Reason::KidMismatch.code(),
        "payload sensor AC-2 under kid AC-1",
    );
    b.bad(
        "AC-OLD",
        obs("AC-OLD", 1, 30, "sensor_status", json!({"ok": true})),
        Reason::InactiveSensor,
        "sensor retired before this time",
    );
    let first_pick = b
        .jwsl
        .split(|c| *c == b'\n')
        .nth(1)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    b.line(&first_pick, Reason::Replay.code(), "line 2 again");
    b.bad(
        "MET-1",
        obs(
            "MET-1",
            1,
            900,
            "met",
            json!({"temperature_c": -2.0, "wind_speed_mps": 3.0,
        "wind_from_deg": 240.0}),
        ),
        Reason::Replay,
        "seq 1 again, new content",
    );
    b.bad(
        "AC-2",
        obs("AC-2", 4, 75, "sensor_status", json!({"ok": false})),
        Reason::SeqDecreasing,
        "seq 4 after seq 5",
    );
    b.ok("AC-1", pick(2, 120), "accepted after all the refusals");

    // Truncated: the file ends in the middle of a line (no newline).
    let cut = jws::sign(
        pick(3, 130).to_string().as_bytes(),
        "AC-1",
        &test_key("AC-1"),
    );
    b.jwsl.extend_from_slice(&cut.as_bytes()[..cut.len() / 2]);
    b.expected.push(Expect {
        line: b.expected.len() as u64 + 1,
        outcome: Reason::Truncated.code().into(),
        note: "the file ends half-way through this line".into(),
    });
    Sample {
        registry,
        jwsl: b.jwsl,
        expected: b.expected,
    }
}
