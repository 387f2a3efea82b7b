//! Agreements built from real snapshots of the front (DeepStateMap 2023-02-24, 2023-08-15,
//! 2025-08-03; ISW spring 2023): places fall on the side that held them on that date, and the
//! line runs where the front was. Needs `../shared/data`; skips with a message without it.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use truce_assess::Zones;
use truce_geo::LatLon;
use truce_model::Agreement;
use truce_sim::agreements::{occupation, occupied_polygons};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} not found (real data lives in ../shared/data)",
            p.display()
        );
        None
    }
}

fn build(snapshot: &str) -> Option<Zones> {
    let data = shared()?;
    let occupied = occupied_polygons(&std::fs::read(data.join(snapshot)).unwrap()).unwrap();
    let admin = std::fs::read(
        data.join("ukraine-admin-boundaries/geoBoundaries-UKR-ADM1_simplified.geojson"),
    )
    .unwrap();
    let text = occupation(occupied, &admin, "test", snapshot, "test").unwrap();
    if let Ok(d) = std::env::var("TRUCE_DUMP") {
        std::fs::write(d, &text).unwrap();
    }
    let agreement = Agreement::from_json(text.as_bytes()).unwrap();
    assert!(
        truce_assess::check_agreement(&agreement).is_empty(),
        "{:?}",
        truce_assess::check_agreement(&agreement)
    );
    Some(Zones::new(agreement).unwrap())
}

/// (place, lat, lon, party, distance to the line at least / at most km).
type Place = (&'static str, f64, f64, &'static str, f64, f64);

fn check(zones: &Zones, places: &[Place]) {
    for &(name, lat, lon, party, near_km, far_km) in places {
        let p = LatLon::new(lat, lon);
        assert_eq!(zones.party_at(p), Some(party), "{name}");
        let d = zones.distance_to_line_m(p) / 1000.0;
        assert!(
            (near_km..=far_km).contains(&d),
            "{name}: {d:.1} km from the line, expected {near_km}-{far_km}"
        );
    }
}

/// Held by the same side on every date here. Distances are bounded only inland: where the
/// snapshot's coastline and geoBoundaries' differ by more than 2 km the derived line also runs
/// along the coast (a known limit of `occupation`), so coastal cities get no distance bound.
const STEADY: [Place; 6] = [
    ("Kyiv", 50.4501, 30.5234, "A", 300.0, 2000.0),
    ("Kramatorsk", 48.7230, 37.5560, "A", 10.0, 40.0),
    ("Zaporizhzhia", 47.8388, 35.1396, "A", 20.0, 60.0),
    ("Mariupol", 47.0971, 37.5434, "B", 0.0, 2000.0),
    ("Sevastopol", 44.6166, 33.5254, "B", 0.0, 2000.0),
    ("Donetsk", 48.0159, 37.8028, "B", 2.0, 30.0),
];

#[test]
fn deepstate_2023_02_24() {
    let Some(z) =
        build("deepstate-frontline/deepstatemaps-history/deepstate_20230224_1677279285.geojson")
    else {
        return;
    };
    check(&z, &STEADY);
    check(
        &z,
        &[
            // Bakhmut held until May 2023; Soledar fell in January 2023.
            ("Bakhmut", 48.5953, 38.0003, "A", 0.0, 8.0),
            ("Soledar", 48.6833, 38.0900, "B", 0.0, 10.0),
            ("Kharkiv", 49.9935, 36.2304, "A", 60.0, 140.0),
            ("Kherson", 46.6354, 32.6169, "A", 0.0, 10.0),
            ("Avdiivka", 48.1394, 37.7497, "A", 0.0, 10.0),
            ("Melitopol", 46.8489, 35.3653, "B", 0.0, 2000.0),
        ],
    );
}

#[test]
fn deepstate_2023_08_15() {
    let Some(z) =
        build("deepstate-frontline/deepstatemaps-history/deepstate_20230815_1692131190.geojson")
    else {
        return;
    };
    check(&z, &STEADY);
    check(
        &z,
        &[
            ("Bakhmut", 48.5953, 38.0003, "B", 0.0, 10.0),
            ("Avdiivka", 48.1394, 37.7497, "A", 0.0, 10.0),
            ("Vuhledar", 47.7797, 37.2486, "A", 0.0, 10.0),
            ("Kherson", 46.6354, 32.6169, "A", 0.0, 10.0),
        ],
    );
}

#[test]
fn deepstate_2025_08_03() {
    let Some(z) =
        build("deepstate-frontline/deepstatemaps-history/deepstate_20250803_1754251105.geojson")
    else {
        return;
    };
    check(&z, &STEADY[..5]);
    check(
        &z,
        &[
            // Avdiivka fell in February 2024, Vuhledar in October 2024.
            ("Avdiivka", 48.1394, 37.7497, "B", 10.0, 80.0),
            ("Donetsk", 48.0159, 37.8028, "B", 20.0, 60.0),
            // The 2024 offensive north of Kharkiv brought the front to about 30 km.
            ("Kharkiv", 49.9935, 36.2304, "A", 20.0, 50.0),
            ("Vuhledar", 47.7797, 37.2486, "B", 2.0, 60.0),
            ("Bakhmut", 48.5953, 38.0003, "B", 5.0, 40.0),
            ("Kherson", 46.6354, 32.6169, "A", 0.0, 10.0),
        ],
    );
}

#[test]
fn isw_spring_2023() {
    let Some(z) = build("isw-russian-control-2023/rus_control_2023_wgs84.geojson") else {
        return;
    };
    check(&z, &STEADY);
    check(
        &z,
        &[
            ("Soledar", 48.6833, 38.0900, "B", 0.0, 10.0),
            ("Avdiivka", 48.1394, 37.7497, "A", 0.0, 10.0),
            ("Vuhledar", 47.7797, 37.2486, "A", 0.0, 10.0),
            ("Kherson", 46.6354, 32.6169, "A", 0.0, 10.0),
        ],
    );
}
