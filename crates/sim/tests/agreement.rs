//! The committed demo agreement: classification at known places, and regeneration from shared
//! data gives the same bytes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use truce_geo::{Area, LatLon};
use truce_model::{Agreement, Geometry, Role};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn area(a: &Agreement, party: &str) -> Area {
    let f = a
        .features
        .iter()
        .find(|f| f.role == Role::ControlArea && f.party.as_deref() == Some(party))
        .unwrap();
    let rings = |p: &Vec<Vec<truce_model::LonLat>>| -> Vec<Vec<[f64; 2]>> {
        p.iter()
            .map(|r| r.iter().map(|c| [c.lon_deg, c.lat_deg]).collect())
            .collect()
    };
    match &f.geometry {
        Geometry::Polygon(p) => Area::from_rings(&[rings(p)]),
        Geometry::MultiPolygon(ps) => Area::from_rings(&ps.iter().map(rings).collect::<Vec<_>>()),
        other => panic!("control area is a {}", other.type_name()),
    }
}

#[test]
fn known_places_fall_on_the_right_side() {
    let text = std::fs::read(root().join("scenarios/agreements/minsk-2022.geojson")).unwrap();
    let a = Agreement::from_json(&text).unwrap();
    assert_eq!(a.meta.parties, ["A", "B"]);
    let (side_a, side_b) = (area(&a, "A"), area(&a, "B"));
    // City centres; sides as of the Minsk era (before 24 February 2022).
    let places = [
        ("Donetsk", 48.0159, 37.8028, "B"),
        ("Luhansk", 48.5740, 39.3070, "B"),
        ("Horlivka", 48.3000, 38.0500, "B"),
        ("Makiivka", 48.0478, 37.9258, "B"),
        ("Kramatorsk", 48.7233, 37.5561, "A"),
        ("Mariupol", 47.0971, 37.5434, "A"),
        ("Avdiivka", 48.1390, 37.7420, "A"),
        ("Sievierodonetsk", 48.9480, 38.4900, "A"),
        ("Shchastia", 48.7390, 39.2310, "A"),
    ];
    for (name, lat, lon, want) in places {
        let p = LatLon::new(lat, lon);
        let got = match (side_a.contains(p), side_b.contains(p)) {
            (true, false) => "A",
            (false, true) => "B",
            other => panic!("{name}: inside A/B = {other:?}"),
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn regenerating_from_shared_data_gives_the_committed_file() {
    let shared = root().join("../shared/data");
    let cl = shared.join("deepstate-frontline/derived_minsk_era_contact_line_20220403.geojson");
    let adm = shared.join("ukraine-admin-boundaries/geoBoundaries-UKR-ADM1_simplified.geojson");
    let (Ok(cl), Ok(adm)) = (std::fs::read(&cl), std::fs::read(&adm)) else {
        eprintln!("skipping: shared data not found at {}", shared.display());
        return;
    };
    let built = truce_sim::agreements::minsk(&cl, &adm).unwrap();
    let committed =
        std::fs::read_to_string(root().join("scenarios/agreements/minsk-2022.geojson")).unwrap();
    assert!(
        built == committed,
        "scenarios/agreements/minsk-2022.geojson is stale: run `truce agreement minsk`"
    );
}

#[test]
fn the_indexed_point_in_polygon_agrees_with_geo_on_the_real_areas() {
    use geo::Contains;
    let text = std::fs::read(root().join("scenarios/agreements/minsk-2022.geojson")).unwrap();
    let a = Agreement::from_json(&text).unwrap();
    let mut s: u64 = 12345;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for party in ["A", "B"] {
        let area = area(&a, party);
        let mut inside = 0;
        for _ in 0..20_000 {
            let (lat, lon) = (46.8 + 3.0 * next(), 36.5 + 4.0 * next());
            let ours = area.contains(LatLon::new(lat, lon));
            assert_eq!(
                ours,
                area.polygons().contains(&geo::Coord { x: lon, y: lat }),
                "{party} at {lat},{lon}"
            );
            inside += usize::from(ours);
        }
        assert!(inside > 1000, "{party}: {inside}");
    }
}
