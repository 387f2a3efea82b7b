//! WGS84 geodesy for Truce.
//!
//! Geodesics on the ellipsoid come from `geographiclib-rs` (Karney 2013, "Algorithms for
//! geodesics", J. Geodesy 87:43-55), accurate to about 15 nm. On top of them: local
//! east-north-up frames ([`Enu`]), the geodesic distance from a point to a polyline
//! ([`distance_to_polyline_m`]), and point-in-polygon ([`Area`]). Nothing here knows about
//! ceasefires.
//!
//! ```
//! use truce_geo::{LatLon, distance_m, direct};
//! let a = LatLon::new(48.0, 37.0);
//! let b = direct(a, 90.0, 10_000.0);
//! assert!((distance_m(a, b) - 10_000.0).abs() < 1e-6);
//! ```

mod area;
mod enu;
mod lines;

use std::sync::OnceLock;

use geographiclib_rs::{DirectGeodesic, Geodesic, InverseGeodesic};

pub use area::Area;
pub use enu::{A_M as WGS84_A_M, Enu, F as WGS84_F, from_ecef, to_ecef};
pub use lines::LineIndex;

/// A point on the WGS84 ellipsoid, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    /// Latitude north, degrees.
    pub lat_deg: f64,
    /// Longitude east, degrees.
    pub lon_deg: f64,
}

impl LatLon {
    /// A point from latitude and longitude in degrees.
    pub const fn new(lat_deg: f64, lon_deg: f64) -> Self {
        LatLon { lat_deg, lon_deg }
    }
}

/// The WGS84 geodesic solver, built once.
pub fn wgs84() -> &'static Geodesic {
    static G: OnceLock<Geodesic> = OnceLock::new();
    G.get_or_init(Geodesic::wgs84)
}

/// Result of the inverse geodesic problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inverse {
    /// Geodesic distance, metres.
    pub distance_m: f64,
    /// Azimuth at the first point towards the second, degrees clockwise from north (-180..180].
    pub azimuth1_deg: f64,
    /// Azimuth at the second point, continuing the geodesic, degrees.
    pub azimuth2_deg: f64,
}

/// Distance and azimuths between two points on WGS84.
pub fn inverse(a: LatLon, b: LatLon) -> Inverse {
    let (s12, azi1, azi2, _a12): (f64, f64, f64, f64) =
        wgs84().inverse(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    Inverse {
        distance_m: s12,
        azimuth1_deg: azi1,
        azimuth2_deg: azi2,
    }
}

/// Geodesic distance in metres on WGS84.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    let s12: f64 = wgs84().inverse(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    s12
}

/// The point `distance_m` metres from `a` along azimuth `azimuth_deg`.
pub fn direct(a: LatLon, azimuth_deg: f64, distance_m: f64) -> LatLon {
    let (lat, lon): (f64, f64) = wgs84().direct(a.lat_deg, a.lon_deg, azimuth_deg, distance_m);
    LatLon::new(lat, lon)
}

/// The closest point of a polyline to `p`, by geodesic distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Closest {
    /// Geodesic distance from `p`, metres.
    pub distance_m: f64,
    /// The closest point.
    pub point: LatLon,
    /// Index of the segment it lies on (vertex `segment` to `segment + 1`).
    pub segment: usize,
}

/// Geodesic distance from `p` to a polyline whose segments are geodesics between successive
/// vertices. Candidate segments are chosen in a local frame, then the closest point on each is
/// found by golden-section search along the geodesic, so the answer is the ellipsoidal distance
/// (to well under a metre) whatever the segment length. Returns `None` for an empty line.
pub fn distance_to_polyline_m(p: LatLon, line: &[LatLon]) -> Option<Closest> {
    match line {
        [] => None,
        [only] => Some(Closest {
            distance_m: distance_m(p, *only),
            point: *only,
            segment: 0,
        }),
        _ => {
            // Planar distances in a frame at p rank the segments; the few nearest are refined on
            // the ellipsoid (the frame's distortion is far below the gap that would reorder them).
            let frame = Enu::new(p, 0.0);
            let mut ranked: Vec<(f64, usize)> = line
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let a = frame.to_enu(w[0], 0.0);
                    let b = frame.to_enu(w[1], 0.0);
                    (planar_distance_to_segment([a[0], a[1]], [b[0], b[1]]), i)
                })
                .collect();
            ranked.sort_by(|x, y| x.0.total_cmp(&y.0));
            let best_planar = ranked[0].0;
            ranked
                .iter()
                .take_while(|(d, _)| *d <= best_planar * 1.01 + 50.0)
                .take(8)
                .map(|&(_, i)| closest_on_geodesic(p, line[i], line[i + 1], i))
                .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m))
        }
    }
}

fn planar_distance_to_segment(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(a[0] * dx + a[1] * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a[0] + t * dx, a[1] + t * dy);
    (x * x + y * y).sqrt()
}

/// Golden-section search for the point of the geodesic a-b closest to p. The distance along a
/// geodesic segment to a point is unimodal for segments much shorter than the Earth's radius.
fn closest_on_geodesic(p: LatLon, a: LatLon, b: LatLon, segment: usize) -> Closest {
    let ab = inverse(a, b);
    let at = |s: f64| direct(a, ab.azimuth1_deg, s);
    let f = |s: f64| distance_m(p, at(s));
    let (mut lo, mut hi) = (0.0, ab.distance_m);
    const PHI: f64 = 0.618_033_988_749_894_8;
    let mut x1 = hi - PHI * (hi - lo);
    let mut x2 = lo + PHI * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    while hi - lo > 0.01 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - PHI * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + PHI * (hi - lo);
            f2 = f(x2);
        }
    }
    let s = 0.5 * (lo + hi);
    let candidates = [(0.0, a), (ab.distance_m, b), (s, at(s))];
    let (_, point) = candidates
        .into_iter()
        .min_by(|x, y| distance_m(p, x.1).total_cmp(&distance_m(p, y.1)))
        .unwrap_or((0.0, a));
    Closest {
        distance_m: distance_m(p, point),
        point,
        segment,
    }
}

/// Length of a polyline along its geodesic segments, metres.
pub fn polyline_length_m(line: &[LatLon]) -> f64 {
    line.windows(2).map(|w| distance_m(w[0], w[1])).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_and_inverse_agree() {
        let a = LatLon::new(48.0, 37.5);
        for az in [0.0, 45.0, 90.0, 180.0, -135.0] {
            let b = direct(a, az, 25_000.0);
            let inv = inverse(a, b);
            assert!((inv.distance_m - 25_000.0).abs() < 1e-6);
            assert!((inv.azimuth1_deg - az).abs() < 1e-9 || (inv.azimuth1_deg - az).abs() > 359.0);
        }
    }

    #[test]
    fn one_degree_of_latitude_is_ellipsoidal() {
        // On WGS84 a degree of latitude at 48N is 111,190 m (M = a(1-e2)/(1-e2 sin2 phi)^1.5; a sphere of mean radius would say
        // 111,195 m; near the equator the ellipsoid gives 110,574 m).
        let d = distance_m(LatLon::new(47.5, 37.0), LatLon::new(48.5, 37.0));
        assert!((d - 111_190.3).abs() < 1.0, "{d}");
        let eq = distance_m(LatLon::new(-0.5, 0.0), LatLon::new(0.5, 0.0));
        assert!((eq - 110_574.0).abs() < 5.0, "{eq}");
    }

    #[test]
    fn distance_to_a_long_segment_is_geodesic() {
        // A 200 km east-west segment at 48N; a point 5 km north of its middle.
        let a = LatLon::new(48.0, 36.0);
        let b = direct(a, 90.0, 200_000.0);
        let mid = direct(a, inverse(a, b).azimuth1_deg, 100_000.0);
        let mid_az = inverse(mid, b).azimuth1_deg;
        let p = direct(mid, mid_az - 90.0, 5_000.0);
        let c = distance_to_polyline_m(p, &[a, b]).unwrap();
        assert!((c.distance_m - 5_000.0).abs() < 0.5, "{c:?}");
        // Beyond the end, the distance is to the end vertex.
        let q = direct(b, 90.0, 3_000.0);
        let c = distance_to_polyline_m(q, &[a, b]).unwrap();
        assert!((c.distance_m - distance_m(q, b)).abs() < 0.01);
    }
}
