//! Geometry throughput: classify points (party, geodesic distance to the line, buffer,
//! withdrawal and exclusion zones) against the full DeepStateMap 2025-08-03 front, as built by
//! `truce agreement occupation`. Writes the agreement, the points and Truce's answers to
//! `target/geometry/` for the peer (shapely + pyproj, `bench/geometry.sh` runs both).
//!
//! Run: `cargo bench -p truce-cli --bench geometry` (TRUCE_BENCH_POINTS, default 1,000,000).
//! Needs `../shared/data`; says so and stops without it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use truce_assess::Zones;
use truce_geo::LatLon;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("../shared/data");
    if !data.is_dir() {
        println!("skipped: {} not found", data.display());
        return;
    }
    let n: usize = std::env::var("TRUCE_BENCH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let snapshot =
        std::fs::read(data.join(
            "deepstate-frontline/deepstatemaps-history/deepstate_20250803_1754251105.geojson",
        ))
        .expect("snapshot");
    let admin = std::fs::read(
        data.join("ukraine-admin-boundaries/geoBoundaries-UKR-ADM1_simplified.geojson"),
    )
    .expect("admin boundaries");
    let occupied = truce_sim::agreements::occupied_polygons(&snapshot).expect("polygons");
    let text = truce_sim::agreements::occupation(
        occupied,
        &admin,
        "ds-2025-08-03",
        "bench",
        "DeepStateMap",
    )
    .expect("agreement");
    let agreement = truce_model::Agreement::from_json(text.as_bytes()).expect("agreement parses");
    let (line_vertices, area_vertices) =
        agreement
            .features
            .iter()
            .fold((0, 0), |(l, a), f| match &f.geometry {
                truce_model::Geometry::MultiLineString(ls) => {
                    (l + ls.iter().map(Vec::len).sum::<usize>(), a)
                }
                truce_model::Geometry::MultiPolygon(ps) => {
                    (l, a + ps.iter().flatten().map(Vec::len).sum::<usize>())
                }
                _ => (l, a),
            });
    let zones = Zones::new(agreement).expect("zones");
    println!(
        "agreement: DeepStateMap 2025-08-03 front, {line_vertices} line vertices, {area_vertices} area vertices; built and indexed in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    // Seeded points over the east of Ukraine and beyond the front: 30-40.5 E, 46-51 N.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2025);
    let points: Vec<LatLon> = (0..n)
        .map(|_| LatLon::new(rng.random_range(46.0..51.0), rng.random_range(30.0..40.5)))
        .collect();
    let classify = |p: &LatLon| {
        let c = zones.classify(*p);
        (
            c.party.map(|s| s.as_bytes()[0]).unwrap_or(b'-'),
            c.distance_m,
            c.withdrawn.len(),
        )
    };
    let t = Instant::now();
    let one: Vec<_> = points[..n / 4].iter().map(classify).collect();
    let rate1 = one.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let all: Vec<_> = points.par_iter().map(classify).collect();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "Truce: {n} classifications in {secs:.2} s: {:.0}/s on {} threads ({rate1:.0}/s on one)",
        n as f64 / secs,
        rayon::current_num_threads()
    );
    let near = all.iter().filter(|c| c.1 <= 70_000.0).count();
    println!(
        "  {near} points within 70 km of the line; parties: A {}, B {}, none {}",
        all.iter().filter(|c| c.0 == b'A').count(),
        all.iter().filter(|c| c.0 == b'B').count(),
        all.iter().filter(|c| c.0 == b'-').count()
    );
    // For the peer: the agreement, 200,000 of the points and Truce's answers.
    let out = root.join("target/geometry");
    std::fs::create_dir_all(&out).expect("target/geometry");
    std::fs::write(out.join("agreement.geojson"), &text).expect("write agreement");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(out.join("points.csv")).expect("points.csv"));
    writeln!(f, "lat,lon,party,distance_m").expect("write");
    for (p, c) in points.iter().zip(&all).take(200_000) {
        writeln!(
            f,
            "{:.7},{:.7},{},{:.3}",
            p.lat_deg, p.lon_deg, c.0 as char, c.1
        )
        .expect("write");
    }
    println!("wrote {} for the peer", out.display());
}
