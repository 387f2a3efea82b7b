//! Radar fixes, and their fusion with acoustic events.
//!
//! A weapon-locating radar reports a launch or impact point with a one-sigma radius: an event
//! of its own with a circular error. When an acoustic event of the matching kind lies within
//! the 99 % gate of the two combined errors and its origin time within `time_gate_s`, the two
//! are one firing: the fused position is the inverse-covariance weighted mean (information
//! filter), which is better located than either.

use truce_geo::{Enu, LatLon};

use crate::linalg::{ellipse, inverse_spd};
use crate::locator::CHI2_2_95;

/// A located point with a 2x2 covariance (east, north metres²) and a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Position.
    pub pos: LatLon,
    /// Covariance: [ee, en, nn].
    pub cov: [f64; 3],
    /// Time, seconds since the reference epoch.
    pub time_s: f64,
}

impl Fix {
    /// A circular fix from a one-sigma radius.
    pub fn circular(pos: LatLon, sigma_m: f64, time_s: f64) -> Self {
        let v = sigma_m * sigma_m;
        Fix {
            pos,
            cov: [v, 0.0, v],
            time_s,
        }
    }

    /// The 95 % ellipse (semi-major, semi-minor, azimuth).
    pub fn ellipse95(&self) -> (f64, f64, f64) {
        ellipse(self.cov[0], self.cov[1], self.cov[2], CHI2_2_95)
    }
}

/// chi-square(2) 0.99 quantile: the gate for "same source".
pub const CHI2_2_99: f64 = 9.210_340_371_976_184;

/// Mahalanobis distance² between two fixes under their combined covariance.
pub fn gate(a: &Fix, b: &Fix) -> f64 {
    let f = Enu::new(a.pos, 0.0);
    let v = f.to_enu(b.pos, 0.0);
    let s = [
        [a.cov[0] + b.cov[0], a.cov[1] + b.cov[1]],
        [a.cov[1] + b.cov[1], a.cov[2] + b.cov[2]],
    ];
    match inverse_spd(&s) {
        Some(i) => {
            v[0] * (i[0][0] * v[0] + i[0][1] * v[1]) + v[1] * (i[1][0] * v[0] + i[1][1] * v[1])
        }
        None => f64::INFINITY,
    }
}

/// Fuse two fixes of one source (information-weighted mean). Times are averaged likewise
/// weighted by the positional information, a proxy for callers that know no time errors (the
/// engine, which knows them, weights the times by their own variances).
pub fn fuse(a: &Fix, b: &Fix) -> Option<Fix> {
    let f = Enu::new(a.pos, 0.0);
    let vb = f.to_enu(b.pos, 0.0);
    let ia = inverse_spd(&[[a.cov[0], a.cov[1]], [a.cov[1], a.cov[2]]])?;
    let ib = inverse_spd(&[[b.cov[0], b.cov[1]], [b.cov[1], b.cov[2]]])?;
    let info = [
        [ia[0][0] + ib[0][0], ia[0][1] + ib[0][1]],
        [ia[1][0] + ib[1][0], ia[1][1] + ib[1][1]],
    ];
    let cov = inverse_spd(&info)?;
    // x = cov (Ia * 0 + Ib * vb)
    let rhs = [
        ib[0][0] * vb[0] + ib[0][1] * vb[1],
        ib[1][0] * vb[0] + ib[1][1] * vb[1],
    ];
    let e = cov[0][0] * rhs[0] + cov[0][1] * rhs[1];
    let n = cov[1][0] * rhs[0] + cov[1][1] * rhs[1];
    let (pos, _) = f.from_enu([e, n, 0.0]);
    let wa = ia[0][0] + ia[1][1];
    let wb = ib[0][0] + ib[1][1];
    Some(Fix {
        pos,
        cov: [cov[0][0], cov[0][1], cov[1][1]],
        time_s: (a.time_s * wa + b.time_s * wb) / (wa + wb),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_geo::{direct, distance_m};

    #[test]
    fn fusion_pulls_toward_the_better_fix_and_shrinks_the_error() {
        let p = LatLon::new(48.0, 37.8);
        let good = Fix::circular(p, 10.0, 0.0);
        let rough = Fix::circular(direct(p, 90.0, 100.0), 50.0, 0.2);
        assert!(gate(&good, &rough) < CHI2_2_99);
        let f = fuse(&good, &rough).unwrap();
        // Weight 1/100 vs 1/2500: the fused point is 100 * 100/2600 = 3.8 m east.
        assert!((distance_m(p, f.pos) - 100.0 * 100.0 / 2600.0).abs() < 0.1);
        assert!(f.cov[0] < good.cov[0]);
        let far = Fix::circular(direct(p, 90.0, 2000.0), 50.0, 0.0);
        assert!(gate(&good, &far) > CHI2_2_99);
    }
}
