//! The simulator's physics, determinism and outputs, and the scorer on hand-made findings.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value, json};
use truce_geo::{LatLon, direct, distance_m, inverse};
use truce_ingest::{IngestOptions, Keyring, Store};
use truce_sim::generate::simulate;
use truce_sim::physics;
use truce_sim::scenario::Scenario;
use truce_sim::score::{read_findings, score};
use truce_sim::truth::Truth;

const SMALL: &str = include_str!("../../../scenarios/small.toml");

fn payloads(jwsl: &[u8]) -> Vec<Value> {
    jwsl.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let p = l.split(|b| *b == b'.').nth(1).unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .unwrap(),
            )
            .unwrap()
        })
        .collect()
}

/// The small scenario with every source of noise but the pick sigma turned off.
fn quiet() -> Scenario {
    let mut s = Scenario::from_toml(SMALL).unwrap();
    s.weather.diurnal_amplitude_c = 0.0;
    s.weather.temperature_c = -4.0;
    s.weather.wind_speed_mps = 6.0;
    s.weather.wind_from_deg = 300.0;
    let a = &mut s.acoustic;
    a.pick_sigma_base_s = 1e-7;
    a.pick_sigma_per_km_s = 0.0;
    a.late_pick_share = 0.0;
    a.false_picks_per_hour = 0.0;
    a.label_confusion = 0.0;
    a.merge_window_s = 1e-6;
    a.outage_share = 0.0;
    s
}

#[test]
fn arrival_times_of_known_shots_match_the_physics_to_the_microsecond() {
    let s = quiet();
    let sim = simulate(&s, None).unwrap();
    let sensors: BTreeMap<String, LatLon> = sim
        .registry
        .sensors
        .iter()
        .filter_map(|x| {
            x.position
                .map(|p| (x.id.clone(), LatLon::new(p.lat_deg, p.lon_deg)))
        })
        .collect();
    let picks: Vec<(String, f64)> = payloads(&sim.jwsl)
        .into_iter()
        .filter(|p| p["kind"] == "acoustic_pick" && p["signal"] == "blast")
        .map(|p| {
            let t = truce_model::UtcNanos::parse(p["time"].as_str().unwrap()).unwrap();
            (p["sensor"].as_str().unwrap().to_owned(), t.0 as f64 * 1e-9)
        })
        .collect();
    // Independent formula: c(T) = 331.3 sqrt(1 + T/273.15) plus the wind along the path.
    let c0 = 331.3 * (1.0f64 - 4.0 / 273.15).sqrt();
    let mut checked = 0;
    for shot in sim.truth.shots.iter().take(40) {
        let src = LatLon::new(shot.lat, shot.lon);
        let t0 = shot.time.0 as f64 * 1e-9;
        let mut found = 0;
        for (id, pos) in &sensors {
            let inv = inverse(src, *pos);
            let toward = 300.0 + 180.0;
            let c = c0 + 6.0 * (inv.azimuth1_deg - toward).to_radians().cos();
            let expected = t0 + inv.distance_m / c;
            if picks
                .iter()
                .any(|(pid, t)| pid == id && (t - expected).abs() < 1e-6)
            {
                found += 1;
            }
        }
        assert_eq!(
            found, shot.blast_picks,
            "shot {}: picks at the predicted microsecond",
            shot.id
        );
        checked += found;
    }
    assert!(checked > 100, "only {checked} picks checked");
}

#[test]
fn detection_rates_are_within_binomial_tolerance() {
    let mut s = quiet();
    s.duration_s = 3600.0;
    let sim = simulate(&s, None).unwrap();
    let sensors: Vec<LatLon> = sim
        .registry
        .sensors
        .iter()
        .filter(|x| x.kind == truce_model::SensorKind::Acoustic)
        .map(|x| {
            let p = x.position.unwrap();
            LatLon::new(p.lat_deg, p.lon_deg)
        })
        .collect();
    let (mut expected, mut var, mut observed) = (0.0, 0.0, 0.0);
    for shot in &sim.truth.shots {
        let r50 = physics::class_params(shot.weapon_class)
            .unwrap()
            .blast_r50_km;
        for pos in &sensors {
            let p = physics::detection_probability(
                distance_m(LatLon::new(shot.lat, shot.lon), *pos) / 1000.0,
                r50,
            );
            expected += p;
            var += p * (1.0 - p);
        }
        observed += shot.blast_picks as f64;
    }
    let z = (observed - expected) / var.sqrt();
    assert!(expected > 1000.0, "{expected}");
    assert!(
        z.abs() < 4.0,
        "observed {observed}, expected {expected:.0} ± {:.0} (z = {z:.2})",
        var.sqrt()
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let s = Scenario::from_toml(SMALL).unwrap();
    let a = simulate(&s, None).unwrap();
    let b = simulate(&s, None).unwrap();
    assert!(a.jwsl == b.jwsl);
    assert_eq!(
        serde_json::to_string(&a.truth).unwrap(),
        serde_json::to_string(&b.truth).unwrap()
    );
    let mut other = s.clone();
    other.seed += 1;
    let c = simulate(&other, None).unwrap();
    assert!(a.jwsl != c.jwsl);
}

#[test]
fn every_observation_verifies_through_ingest_and_is_time_ordered() {
    let s = Scenario::from_toml(SMALL).unwrap();
    let sim = simulate(&s, None).unwrap();
    let keyring = Keyring::new(&sim.registry).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(dir.path(), None).unwrap();
    let summary = store
        .ingest(
            &keyring,
            "observations.jwsl",
            &sim.jwsl,
            &IngestOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.rejected(), 0, "{:?}", summary.messages);
    assert_eq!(summary.accepted as usize, sim.truth.stats.observations);
    let times: Vec<String> = payloads(&sim.jwsl)
        .iter()
        .map(|p| p["time"].as_str().unwrap().to_owned())
        .collect();
    let parsed: Vec<i64> = times
        .iter()
        .map(|t| truce_model::UtcNanos::parse(t).unwrap().0)
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] <= w[1]),
        "observations are not time-ordered"
    );
    let kinds: std::collections::BTreeSet<String> = payloads(&sim.jwsl)
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect();
    for k in [
        "acoustic_pick",
        "radar_track",
        "met",
        "sensor_status",
        "drone_coverage",
    ] {
        assert!(kinds.contains(k), "no {k} in the small scenario");
    }
}

fn feature(kind: &str, party: &str, time: &str, p: LatLon, ellipse_m: f64) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.lon_deg, p.lat_deg]},
        "properties": {"id": "x", "type": kind, "party": party, "time": time,
            "ellipse95": {"semi_major_m": ellipse_m, "semi_minor_m": ellipse_m, "azimuth_deg": 0.0}}})
}

fn findings_from(truth: &Truth, shift_m: f64, party_of: impl Fn(&str) -> String) -> Vec<Value> {
    truth
        .violations
        .iter()
        .filter(|v| v.kind == "firing")
        .map(|v| {
            let p = direct(LatLon::new(v.lat, v.lon), 45.0, shift_m);
            feature("firing", &party_of(&v.party), &v.time.to_string(), p, 250.0)
        })
        .collect()
}

fn run_score(truth: &Truth, features: Vec<Value>) -> truce_sim::score::Score {
    let fc = json!({"type": "FeatureCollection", "features": features});
    score(truth, &read_findings(fc.to_string().as_bytes()).unwrap())
}

#[test]
fn score_on_hand_made_findings() {
    let s = Scenario::from_toml(SMALL).unwrap();
    let mut truth = simulate(&s, None).unwrap().truth;
    truth.violations.retain(|v| v.kind == "firing");
    let n = truth.violations.len();
    assert!(n > 50);
    let same = |p: &str| p.to_owned();

    let perfect = run_score(&truth, findings_from(&truth, 0.0, same));
    assert_eq!(
        (
            perfect.precision,
            perfect.recall,
            perfect.attribution_accuracy
        ),
        (1.0, 1.0, 1.0)
    );
    assert!(perfect.median_error_m < 1e-6 && perfect.ellipse_coverage == 1.0);

    let shifted = run_score(&truth, findings_from(&truth, 300.0, same));
    assert_eq!(shifted.recall, 1.0);
    assert!(
        (shifted.median_error_m - 300.0).abs() < 1.0,
        "{}",
        shifted.median_error_m
    );
    assert_eq!(shifted.ellipse_coverage, 0.0, "300 m off, 250 m ellipse");

    let far = run_score(&truth, findings_from(&truth, 2000.0, same));
    assert_eq!(
        (far.matched_findings, far.precision, far.recall),
        (0, 0.0, 0.0)
    );

    let mut half = findings_from(&truth, 0.0, same);
    half.truncate(n / 2);
    let missing = run_score(&truth, half);
    assert_eq!(missing.precision, 1.0);
    assert!((missing.recall - (n / 2) as f64 / n as f64).abs() < 1e-9);

    let mut extra = findings_from(&truth, 0.0, same);
    for k in 0..n {
        let far_away = LatLon::new(46.0, 30.0 + k as f64 * 0.01);
        extra.push(feature(
            "firing",
            "A",
            "2026-01-12T09:10:00Z",
            far_away,
            100.0,
        ));
    }
    let extra = run_score(&truth, extra);
    assert_eq!(extra.recall, 1.0);
    assert!((extra.precision - 0.5).abs() < 1e-9, "{}", extra.precision);

    let swap = |p: &str| if p == "A" { "B".into() } else { "A".into() };
    let wrong = run_score(&truth, findings_from(&truth, 0.0, swap));
    assert_eq!((wrong.recall, wrong.attribution_accuracy), (1.0, 0.0));

    // Impacts found instead of launches still count as found.
    let impacts: Vec<Value> = truth
        .violations
        .iter()
        .map(|v| {
            let im = v.impact.as_ref().unwrap();
            feature(
                "impact",
                "A",
                &im.time.to_string(),
                LatLon::new(im.lat, im.lon),
                50.0,
            )
        })
        .collect();
    let by_impact = run_score(&truth, impacts.clone());
    assert_eq!((by_impact.precision, by_impact.recall), (1.0, 1.0));

    // A round reported twice, as its firing and as a separate impact, is one violation found
    // and one finding too many.
    let mut twice = findings_from(&truth, 0.0, same);
    twice.extend(impacts);
    let twice = run_score(&truth, twice);
    assert_eq!(twice.recall, 1.0);
    assert!((twice.precision - 0.5).abs() < 1e-9, "{}", twice.precision);
}
