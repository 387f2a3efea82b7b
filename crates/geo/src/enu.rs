//! Local east-north-up frames through Earth-centred, Earth-fixed coordinates.
//!
//! Written by hand (about 60 lines): the crates that offer it either pull a second nalgebra or
//! are unmaintained (see shared/notes/rust-crates.md). ECEF to geodetic uses Bowring's iteration,
//! converged to well below a millimetre in three steps for points near the surface.

use crate::LatLon;

/// WGS84 semi-major axis, metres.
pub const A_M: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const F: f64 = 1.0 / 298.257_223_563;
const E2: f64 = F * (2.0 - F);

/// Geodetic (degrees, metres above the ellipsoid) to ECEF metres.
pub fn to_ecef(p: LatLon, alt_m: f64) -> [f64; 3] {
    let (lat, lon) = (p.lat_deg.to_radians(), p.lon_deg.to_radians());
    let n = A_M / (1.0 - E2 * lat.sin().powi(2)).sqrt();
    [
        (n + alt_m) * lat.cos() * lon.cos(),
        (n + alt_m) * lat.cos() * lon.sin(),
        (n * (1.0 - E2) + alt_m) * lat.sin(),
    ]
}

/// ECEF metres to geodetic (degrees, metres above the ellipsoid).
pub fn from_ecef(x: [f64; 3]) -> (LatLon, f64) {
    let lon = x[1].atan2(x[0]);
    let p = (x[0] * x[0] + x[1] * x[1]).sqrt();
    let mut lat = x[2].atan2(p * (1.0 - E2));
    let mut alt = 0.0;
    for _ in 0..4 {
        let n = A_M / (1.0 - E2 * lat.sin().powi(2)).sqrt();
        alt = p / lat.cos() - n;
        lat = x[2].atan2(p * (1.0 - E2 * n / (n + alt)));
    }
    (LatLon::new(lat.to_degrees(), lon.to_degrees()), alt)
}

/// A local tangent frame: x east, y north, z up, metres, at an origin on the ellipsoid.
#[derive(Debug, Clone, Copy)]
pub struct Enu {
    origin_ecef: [f64; 3],
    // Rows: east, north, up unit vectors in ECEF.
    rot: [[f64; 3]; 3],
}

impl Enu {
    /// The frame at `origin` (altitude `alt_m`).
    pub fn new(origin: LatLon, alt_m: f64) -> Self {
        let (lat, lon) = (origin.lat_deg.to_radians(), origin.lon_deg.to_radians());
        let (sl, cl, so, co) = (lat.sin(), lat.cos(), lon.sin(), lon.cos());
        Enu {
            origin_ecef: to_ecef(origin, alt_m),
            rot: [
                [-so, co, 0.0],
                [-sl * co, -sl * so, cl],
                [cl * co, cl * so, sl],
            ],
        }
    }

    /// Geodetic point to local east, north, up metres.
    pub fn to_enu(&self, p: LatLon, alt_m: f64) -> [f64; 3] {
        self.ecef_to_enu(to_ecef(p, alt_m))
    }

    /// ECEF metres to local east, north, up metres: `to_enu` without the trigonometry, for
    /// points whose ECEF coordinates are kept.
    pub fn ecef_to_enu(&self, x: [f64; 3]) -> [f64; 3] {
        let d = [
            x[0] - self.origin_ecef[0],
            x[1] - self.origin_ecef[1],
            x[2] - self.origin_ecef[2],
        ];
        let r = &self.rot;
        [
            r[0][0] * d[0] + r[0][1] * d[1] + r[0][2] * d[2],
            r[1][0] * d[0] + r[1][1] * d[1] + r[1][2] * d[2],
            r[2][0] * d[0] + r[2][1] * d[1] + r[2][2] * d[2],
        ]
    }

    /// Local east, north, up metres to a geodetic point and altitude.
    pub fn from_enu(&self, v: [f64; 3]) -> (LatLon, f64) {
        let r = &self.rot;
        let x = [
            self.origin_ecef[0] + r[0][0] * v[0] + r[1][0] * v[1] + r[2][0] * v[2],
            self.origin_ecef[1] + r[0][1] * v[0] + r[1][1] * v[1] + r[2][1] * v[2],
            self.origin_ecef[2] + r[0][2] * v[0] + r[1][2] * v[1] + r[2][2] * v[2],
        ];
        from_ecef(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecef_round_trip_and_a_known_value() {
        // On the equator at the prime meridian, ECEF x is the semi-major axis.
        let x = to_ecef(LatLon::new(0.0, 0.0), 0.0);
        assert!((x[0] - A_M).abs() < 1e-6 && x[1].abs() < 1e-6 && x[2].abs() < 1e-6);
        for (lat, lon, alt) in [
            (48.1, 37.7, 180.0),
            (-33.9, 151.2, 5.0),
            (89.9, -120.0, 3000.0),
        ] {
            let (p, h) = from_ecef(to_ecef(LatLon::new(lat, lon), alt));
            assert!((p.lat_deg - lat).abs() < 1e-10 && (p.lon_deg - lon).abs() < 1e-10);
            assert!((h - alt).abs() < 1e-4);
        }
    }

    #[test]
    fn enu_axes_point_the_right_way() {
        let o = LatLon::new(48.0, 37.0);
        let f = Enu::new(o, 0.0);
        let north = f.to_enu(crate::direct(o, 0.0, 1000.0), 0.0);
        assert!(
            (north[1] - 1000.0).abs() < 0.1 && north[0].abs() < 0.01,
            "{north:?}"
        );
        let east = f.to_enu(crate::direct(o, 90.0, 1000.0), 0.0);
        assert!((east[0] - 1000.0).abs() < 0.1, "{east:?}");
        let (back, _) = f.from_enu(east);
        assert!(crate::distance_m(back, crate::direct(o, 90.0, 1000.0)) < 0.2);
    }
}
