//! Conformance with GeographicLib's GeodTest-short (10,000 geodesics on WGS84), read from
//! `../shared/data/geodesy-geodtest`. Skips with a message where the shared data is absent.

use std::io::Read;
use std::path::Path;

use truce_geo::{LatLon, direct, inverse};

#[test]
fn geodtest_short_direct_and_inverse() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/geodesy-geodtest/GeodTest-short.dat.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!(
            "skipping: {} not found (shared data absent)",
            path.display()
        );
        return;
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("GeodTest-short.dat.gz decompresses");
    let mut n = 0;
    let (mut worst_pos_deg, mut worst_s_m) = (0.0f64, 0.0f64);
    for line in text.lines() {
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|x| x.parse().expect("number"))
            .collect();
        let (lat1, lon1, azi1, lat2, lon2, _azi2, s12) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
        let p2 = direct(LatLon::new(lat1, lon1), azi1, s12);
        let dlon = ((p2.lon_deg - lon2 + 540.0) % 360.0 - 180.0).abs();
        worst_pos_deg = worst_pos_deg
            .max((p2.lat_deg - lat2).abs())
            .max(dlon * lat2.to_radians().cos());
        let inv = inverse(LatLon::new(lat1, lon1), LatLon::new(lat2, lon2));
        worst_s_m = worst_s_m.max((inv.distance_m - s12).abs());
        n += 1;
    }
    assert_eq!(n, 10_000);
    // Karney's algorithm: direct within 1e-8 degrees, inverse distance within 1 micrometre here.
    assert!(
        worst_pos_deg < 1e-8,
        "direct: worst position error {worst_pos_deg} deg"
    );
    assert!(
        worst_s_m < 1e-6,
        "inverse: worst distance error {worst_s_m} m"
    );
}
