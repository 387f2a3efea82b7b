//! Events as GeoJSON (FORMATS section 4 shape).

use std::borrow::Borrow;
use std::collections::BTreeSet;

use rayon::prelude::*;
use truce_geo::LatLon;
use truce_model::{Projectile, SensorRegistry, UtcNanos, WeaponClass};

use crate::{Event, EventKind, EvidenceRef, corroboration};

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// A GeoJSON Feature with a Point geometry, as Truce writes them. Members of every struct here
/// are in alphabetical order, the order a `serde_json::Value` object prints in: the texts are
/// those the `json!` values they replaced printed, byte for byte, without building the values
/// (a day's events and findings are 80 MB of text).
#[derive(serde::Serialize)]
struct Feature<P> {
    geometry: Point,
    properties: P,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(serde::Serialize)]
struct Point {
    coordinates: [f64; 2],
    #[serde(rename = "type")]
    kind: &'static str,
}

impl<P> Feature<P> {
    fn at(pos: LatLon, properties: P) -> Self {
        Feature {
            geometry: Point {
                coordinates: [round(pos.lon_deg, 6), round(pos.lat_deg, 6)],
                kind: "Point",
            },
            properties,
            kind: "Feature",
        }
    }
}

/// `ellipse95`: the 95 % ellipse of an east-north covariance, rounded to a decimetre and a
/// tenth of a degree.
#[derive(serde::Serialize)]
struct Ellipse {
    azimuth_deg: f64,
    semi_major_m: f64,
    semi_minor_m: f64,
}

impl Ellipse {
    fn of(c: &[f64; 3]) -> Self {
        let (a, b, az) = truce_locate::linalg::ellipse(c[0], c[1], c[2], truce_locate::CHI2_2_95);
        Ellipse {
            azimuth_deg: round(az, 1),
            semi_major_m: round(a, 1),
            semi_minor_m: round(b, 1),
        }
    }
}

#[derive(serde::Serialize)]
struct Corroboration<O, K> {
    kinds: K,
    owners: O,
    sensors: usize,
}

/// An evidence reference as written.
#[derive(serde::Serialize)]
struct Cited<'a> {
    kind: &'a str,
    leaf_hash: &'a str,
    leaf_index: u64,
    sensor: &'a str,
}

fn cited(evidence: &[EvidenceRef]) -> Vec<Cited<'_>> {
    evidence
        .iter()
        .map(|r| Cited {
            kind: &r.kind,
            leaf_hash: &r.leaf_hash,
            leaf_index: r.leaf_index,
            sensor: &r.sensor,
        })
        .collect()
}

/// `position_exact`: what the assessment reads, to the bit.
#[derive(serde::Serialize)]
struct Exact {
    cov_m2: [f64; 3],
    lat_deg: f64,
    lon_deg: f64,
}

/// An event's properties. `party`, `p_party` and `grade` are filled by the assessment stage;
/// in events they are `null`, as `impact` is.
#[derive(serde::Serialize)]
struct EventProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    chi2_dof: Option<f64>,
    corroboration: Corroboration<Vec<String>, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crb_m: Option<f64>,
    ellipse95: Ellipse,
    evidence: Vec<Cited<'a>>,
    grade: Option<&'static str>,
    id: &'a str,
    impact: Option<()>,
    method: &'a str,
    p_party: Option<f64>,
    party: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picks: Option<usize>,
    /// What the assessment reads, to the bit (the geometry and `ellipse95` are rounded for
    /// reading): `truce verify` re-runs the assessment from the published events.
    position_exact: Exact,
    #[serde(skip_serializing_if = "Option::is_none")]
    projectile: Option<Projectile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rms_s: Option<f64>,
    time: String,
    time_end: String,
    #[serde(rename = "type")]
    kind: &'static str,
    weapon_class: Option<WeaponClass>,
}

/// One event as a GeoJSON Feature.
fn feature<'a>(e: &'a Event, registry: &SensorRegistry) -> Feature<EventProperties<'a>> {
    let (n, owners, kinds) = corroboration(e, registry);
    Feature::at(
        e.pos,
        EventProperties {
            chi2_dof: e.fit.map(|(_, _, chi)| round(chi, 2)),
            corroboration: Corroboration {
                kinds,
                owners,
                sensors: n,
            },
            crb_m: e.crb_m.map(|c| round(c, 1)),
            ellipse95: Ellipse::of(&e.cov),
            evidence: cited(&e.evidence),
            grade: None,
            id: &e.id,
            impact: None,
            method: &e.method,
            p_party: None,
            party: None,
            picks: e.fit.map(|(picks, _, _)| picks),
            position_exact: Exact {
                cov_m2: e.cov,
                lat_deg: e.pos.lat_deg,
                lon_deg: e.pos.lon_deg,
            },
            projectile: e.projectile,
            rms_s: e.fit.map(|(_, rms, _)| round(rms, 4)),
            time: e.time.to_string(),
            time_end: e.time_end.to_string(),
            kind: match e.kind {
                EventKind::Firing => "firing",
                EventKind::Impact => "impact",
            },
            weapon_class: e.weapon_class,
        },
    )
}

/// A GeoJSON FeatureCollection read for its features' `properties` only, as `P` (members of
/// `P` it does not name are skipped): how published events and findings are read back.
#[derive(Debug, serde::Deserialize)]
pub struct FeatureProperties<P> {
    /// The features, each its properties.
    pub features: Vec<PropertiesOf<P>>,
}

/// One feature of a [`FeatureProperties`].
#[derive(Debug, serde::Deserialize)]
pub struct PropertiesOf<P> {
    /// Its properties.
    pub properties: P,
}

/// Why a published `events.geojson` could not be read back into events.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// Not a FeatureCollection of events as [`feature`] writes them.
    #[error("the events do not read as Truce events: {0}")]
    Json(#[from] serde_json::Error),
    /// One event is not as [`feature`] writes it.
    #[error("event {id}: {problem}")]
    Event {
        /// The event's id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// The events of an `events.geojson` text, as [`feature`] wrote them: each event's place and
/// covariance from `position_exact` (to the bit), the fit and the Cramér-Rao bound as rounded
/// for publishing ([`feature`] prints them the same again). `truce verify` re-runs the
/// assessment from these.
pub fn parse_events(text: &str) -> Result<Vec<Event>, EventsError> {
    #[derive(serde::Deserialize)]
    struct Properties {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        time: UtcNanos,
        time_end: UtcNanos,
        weapon_class: Option<WeaponClass>,
        #[serde(default)]
        projectile: Option<Projectile>,
        evidence: Vec<Cited>,
        method: String,
        position_exact: Option<Exact>,
        crb_m: Option<f64>,
        picks: Option<usize>,
        rms_s: Option<f64>,
        chi2_dof: Option<f64>,
    }
    #[derive(serde::Deserialize)]
    struct Cited {
        leaf_index: u64,
        leaf_hash: String,
        sensor: String,
        kind: String,
    }
    #[derive(serde::Deserialize)]
    struct Exact {
        lat_deg: f64,
        lon_deg: f64,
        cov_m2: [f64; 3],
    }
    let c: FeatureProperties<Properties> = serde_json::from_str(text)?;
    c.features
        .into_iter()
        .map(|f| {
            let p = f.properties;
            let bad = |problem: &str| EventsError::Event {
                id: p.id.clone(),
                problem: problem.to_string(),
            };
            let kind = match p.kind.as_str() {
                "firing" => EventKind::Firing,
                "impact" => EventKind::Impact,
                _ => return Err(bad("its type is neither firing nor impact")),
            };
            let exact = p.position_exact.as_ref().ok_or_else(|| {
                bad("no position_exact (events published before Truce wrote it cannot be re-assessed; verify with --full)")
            })?;
            let fit = match (p.picks, p.rms_s, p.chi2_dof) {
                (Some(n), Some(r), Some(c)) => Some((n, r, c)),
                (None, None, None) => None,
                _ => return Err(bad("picks, rms_s and chi2_dof go together")),
            };
            Ok(Event {
                kind,
                pos: LatLon::new(exact.lat_deg, exact.lon_deg),
                time: p.time,
                time_end: p.time_end,
                cov: exact.cov_m2,
                weapon_class: p.weapon_class,
                projectile: p.projectile,
                evidence: p
                    .evidence
                    .into_iter()
                    .map(|r| EvidenceRef {
                        leaf_index: r.leaf_index,
                        leaf_hash: r.leaf_hash,
                        sensor: r.sensor,
                        kind: r.kind,
                    })
                    .collect(),
                method: p.method,
                crb_m: p.crb_m,
                fit,
                id: p.id,
            })
        })
        .collect()
}

/// A finding's linked impact as written.
#[derive(serde::Serialize)]
struct ImpactOut {
    ellipse95: Ellipse,
    lat: f64,
    lon: f64,
    time: String,
}

/// A finding's properties (FORMATS section 4).
#[derive(serde::Serialize)]
struct FindingProperties<'a> {
    corroboration: Corroboration<BTreeSet<String>, BTreeSet<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_to_line_km: Option<f64>,
    ellipse95: Ellipse,
    evidence: Vec<Cited<'a>>,
    grade: &'static str,
    id: &'a str,
    impact: Option<ImpactOut>,
    method: &'a str,
    p_party: Option<f64>,
    party: Option<&'a str>,
    time: String,
    time_end: String,
    #[serde(rename = "type")]
    kind: &'static str,
    weapon_class: Option<WeaponClass>,
}

/// One finding as a GeoJSON Feature (FORMATS section 4).
fn finding_feature<'a>(
    f: &'a crate::Finding,
    registry: &SensorRegistry,
) -> Feature<FindingProperties<'a>> {
    let sensors: BTreeSet<&str> = f.evidence.iter().map(|r| r.sensor.as_str()).collect();
    let owners: BTreeSet<String> = sensors
        .iter()
        .filter_map(|s| registry.get(s).map(|x| x.owner.clone()))
        .collect();
    let kinds: BTreeSet<&str> = f.evidence.iter().map(|r| r.kind.as_str()).collect();
    Feature::at(
        f.pos,
        FindingProperties {
            corroboration: Corroboration {
                kinds,
                owners,
                sensors: sensors.len(),
            },
            distance_to_line_km: f.distance_to_line_m.map(|d| round(d / 1000.0, 3)),
            ellipse95: Ellipse::of(&f.cov),
            evidence: cited(&f.evidence),
            grade: f.grade,
            id: &f.id,
            impact: f.impact.as_ref().map(|im| ImpactOut {
                ellipse95: Ellipse::of(&im.cov),
                lat: round(im.pos.lat_deg, 6),
                lon: round(im.pos.lon_deg, 6),
                time: im.time.to_string(),
            }),
            method: &f.method,
            p_party: f.p_party.map(|p| round(p, 3)),
            party: f.party.as_deref(),
            time: f.time.to_string(),
            time_end: f.time_end.to_string(),
            kind: f.kind,
            weapon_class: f.weapon_class,
        },
    )
}

/// The text of `events.geojson`: a FeatureCollection as `serde_json::to_string_pretty` prints
/// one, with the features printed on all cores (`collection_text`).
pub fn events_geojson_text<E: Borrow<Event> + Sync>(
    events: &[E],
    registry: &SensorRegistry,
) -> Result<String, serde_json::Error> {
    collection_text(events.par_iter().map(|e| feature(e.borrow(), registry)))
}

/// The text of `violations.geojson`, as `events_geojson_text`.
pub fn violations_geojson_text<F: Borrow<crate::Finding> + Sync>(
    findings: &[F],
    registry: &SensorRegistry,
) -> Result<String, serde_json::Error> {
    collection_text(
        findings
            .par_iter()
            .map(|f| finding_feature(f.borrow(), registry)),
    )
}

/// A FeatureCollection of `features` as `serde_json::to_string_pretty` prints it (members in
/// key order, two spaces a level), each feature printed on its own on all cores and indented
/// two levels, line by line: JSON strings escape their newlines, so every line break in a
/// feature's text is one the printer made. By hand because serde_json prints a value on one
/// thread, and a day's two collections (75 MB) took a second to print and free that way.
fn collection_text<T: serde::Serialize + Send>(
    features: impl IndexedParallelIterator<Item = T>,
) -> Result<String, serde_json::Error> {
    let parts: Vec<String> = features
        .map(|f| {
            let text = serde_json::to_string_pretty(&f)?;
            let mut out = String::with_capacity(text.len() + text.len() / 8);
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str("    ");
                out.push_str(line);
            }
            Ok(out)
        })
        .collect::<Result<_, serde_json::Error>>()?;
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 2).sum::<usize>() + 64);
    out.push_str("{\n  \"features\": [");
    if !parts.is_empty() {
        for (i, p) in parts.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(p);
        }
        out.push_str("\n  ");
    }
    out.push_str("],\n  \"type\": \"FeatureCollection\"\n}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn odd_events() -> Vec<Event> {
        let r = |i: u64, kind: &str| EvidenceRef {
            leaf_index: i,
            leaf_hash: format!("{i:064x}"),
            sensor: format!("S-{i}"),
            kind: kind.into(),
        };
        let e = |k: u64| Event {
            id: format!("ev-{k:016x}"),
            kind: if k.is_multiple_of(2) {
                EventKind::Firing
            } else {
                EventKind::Impact
            },
            // Digits past what the geometry shows, tiny and huge variances, a negative term.
            pos: LatLon::new(
                48.123_456_789_012_34 + k as f64 * 1e-9,
                -0.1 / 3.0 + k as f64,
            ),
            time: UtcNanos(1_700_000_000_123_456_789 + k as i64),
            time_end: UtcNanos(1_700_000_060_000_000_001 + k as i64),
            cov: [
                1e-300 + k as f64,
                -12.345_678_901_234_5,
                6.02e23 / (k + 1) as f64,
            ],
            weapon_class: [None, Some(WeaponClass::Mortar), Some(WeaponClass::Mlrs)]
                [k as usize % 3],
            projectile: [None, Some(Projectile::Mortar), Some(Projectile::Rocket)][k as usize % 3],
            evidence: vec![r(k, "acoustic_pick"), r(k + 7, "radar_track")],
            method: ["acoustic", "radar", "acoustic+radar"][k as usize % 3].into(),
            crb_m: k.is_multiple_of(2).then_some(12.345_678),
            fit: (k % 3 != 1).then_some((9 + k as usize, 0.012_345_678, 1.234_567)),
        };
        (0..6).map(e).collect()
    }

    /// Published events read back: what the assessment reads to the bit (place, covariance,
    /// times, kind, class, projectile, evidence, method, id), and written again to the same text.
    #[test]
    fn published_events_read_back_to_the_bit() {
        let events = odd_events();
        let registry = SensorRegistry::default();
        let text = events_geojson_text(&events, &registry).unwrap();
        let back = parse_events(&text).unwrap();
        assert_eq!(back.len(), events.len());
        for (a, b) in events.iter().zip(&back) {
            assert_eq!(a.pos.lat_deg.to_bits(), b.pos.lat_deg.to_bits());
            assert_eq!(a.pos.lon_deg.to_bits(), b.pos.lon_deg.to_bits());
            assert_eq!(a.cov.map(f64::to_bits), b.cov.map(f64::to_bits));
            assert_eq!(
                (
                    &a.id,
                    a.kind,
                    a.time,
                    a.time_end,
                    a.weapon_class,
                    a.projectile
                ),
                (
                    &b.id,
                    b.kind,
                    b.time,
                    b.time_end,
                    b.weapon_class,
                    b.projectile
                )
            );
            assert_eq!((&a.evidence, &a.method), (&b.evidence, &b.method));
            assert_eq!(a.fit.is_some(), b.fit.is_some());
        }
        assert_eq!(events_geojson_text(&back, &registry).unwrap(), text);
        assert!(
            parse_events(&events_geojson_text::<Event>(&[], &registry).unwrap())
                .unwrap()
                .is_empty()
        );
    }

    /// Events that are not as Truce writes them: each refused, naming the event and what is
    /// wrong.
    #[test]
    fn malformed_events_are_named() {
        let registry = SensorRegistry::default();
        let text = events_geojson_text(&odd_events()[..1], &registry).unwrap();
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            f(&mut v["features"][0]["properties"]);
            parse_events(&v.to_string()).unwrap_err().to_string()
        };
        let e = edit(&|p| p["type"] = "explosion".into());
        assert!(
            e.contains("ev-0000000000000000") && e.contains("neither firing nor impact"),
            "{e}"
        );
        let e = edit(&|p| {
            p.as_object_mut().unwrap().remove("position_exact");
        });
        assert!(
            e.contains("no position_exact") && e.contains("--full"),
            "{e}"
        );
        let e = edit(&|p| {
            p.as_object_mut().unwrap().remove("rms_s");
        });
        assert!(e.contains("go together"), "{e}");
        let e = edit(&|p| p["time"] = "yesterday".into());
        assert!(e.contains("do not read as Truce events"), "{e}");
        let e = edit(&|p| p["position_exact"]["cov_m2"] = json!([1.0, 2.0]));
        assert!(e.contains("do not read as Truce events"), "{e}");
        for bad in ["", "{", "[]", "{\"features\": 3}", "null"] {
            assert!(parse_events(bad).is_err(), "{bad:?}");
        }
    }

    /// The collection's text is serde_json's pretty print of the same value, empty or not,
    /// with nested objects, arrays, empty ones and escaped newlines in strings.
    #[test]
    fn collection_text_is_the_pretty_print() {
        let feature = |i: usize| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.5, 48.25]},
                "properties": {"id": format!("e{i}"), "note": "two\nlines \"quoted\"", "empty": [],
                "none": {}, "n": i, "x": null, "list": [{"a": 1}, [2, 3]]}})
        };
        for n in [0, 1, 3] {
            let features: Vec<Value> = (0..n).map(feature).collect();
            let want = serde_json::to_string_pretty(
                &json!({"type": "FeatureCollection", "features": features.clone()}),
            )
            .unwrap();
            assert_eq!(
                collection_text(features.into_par_iter()).unwrap(),
                want,
                "{n} features"
            );
        }
    }
}
