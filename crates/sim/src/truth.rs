//! Ground truth (FORMATS section 5, plus everything the simulator knows), and the Cramér-Rao
//! bound of a source's location given the picks generated for it.

use serde::{Deserialize, Serialize};
use truce_geo::{Enu, LatLon};
use truce_model::{UtcNanos, WeaponClass};

/// An impact point of a firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthImpact {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// When it hit.
    pub time: UtcNanos,
}

/// One violation (FORMATS section 5), with optional extras the scorer may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthViolation {
    /// `firing`, `weapon_in_withdrawal_zone`, `buffer_zone_presence`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The party that committed it.
    pub party: String,
    /// When (origin time for a firing; the start of the UTC day for a sighting).
    pub time: UtcNanos,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Weapon class.
    pub weapon_class: WeaponClass,
    /// For firings, where the round landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<TruthImpact>,
    /// Whether the network could have detected it (see `docs/scenarios.md`).
    #[serde(default = "yes")]
    pub detectable: bool,
    /// For firings: the Cramér-Rao bound of the launch location from the picks generated,
    /// metres (RMS horizontal), when at least three picks exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crb_m: Option<f64>,
    /// For firings: the bound for the impact location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_crb_m: Option<f64>,
    /// Identifier of the round or object in the detail lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

fn yes() -> bool {
    true
}

/// One round fired (every one, in effect or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    /// Identifier, `R000123`.
    pub id: String,
    /// Battery identifier.
    pub battery: String,
    /// Party.
    pub party: String,
    /// Weapon class.
    pub weapon_class: WeaponClass,
    /// Launch time.
    pub time: UtcNanos,
    /// Launch latitude.
    pub lat: f64,
    /// Launch longitude.
    pub lon: f64,
    /// Impact.
    pub impact: TruthImpact,
    /// Whether the agreement was in effect.
    pub in_effect: bool,
    /// Blast picks generated (not merged away).
    pub blast_picks: usize,
    /// Detonation picks generated.
    pub detonation_picks: usize,
    /// Radars that reported the launch.
    pub radar_launch: usize,
    /// Radars that reported the impact.
    pub radar_impact: usize,
    /// Whether the launch could have been located (>= 4 blast picks or a radar launch).
    pub launch_detectable: bool,
    /// Whether the impact could have been located.
    pub impact_detectable: bool,
    /// Cramér-Rao bound of the launch location, m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crb_m: Option<f64>,
    /// Cramér-Rao bound of the impact location, m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_crb_m: Option<f64>,
}

/// One weapon on the ground.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Identifier, `<battery>-<gun>`.
    pub id: String,
    /// Party.
    pub party: String,
    /// Weapon class.
    pub weapon_class: WeaponClass,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Geodesic distance to the ceasefire line, km.
    pub distance_km: f64,
    /// Inside the withdrawal zone of its class.
    pub in_withdrawal_zone: bool,
    /// Inside the buffer zone.
    pub in_buffer_zone: bool,
    /// Inside the footprint of at least one drone sortie.
    pub covered: bool,
    /// Drone detections generated.
    pub sightings: usize,
}

/// One fire seen or missed by satellites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fire {
    /// Identifier.
    pub id: String,
    /// `impact` or `background`.
    pub cause: String,
    /// The round that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Start.
    pub start: UtcNanos,
    /// End.
    pub end: UtcNanos,
    /// Thermal anomalies generated for it.
    pub anomalies: usize,
}

/// Counts over the scenario.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Observations in the file.
    pub observations: usize,
    /// Acoustic picks (true and false).
    pub picks: usize,
    /// False picks.
    pub false_picks: usize,
    /// Late outlier picks.
    pub late_picks: usize,
    /// Arrivals merged into an earlier pick.
    pub merged_arrivals: usize,
    /// Rounds fired.
    pub rounds: usize,
    /// Acoustic sensors.
    pub acoustic_sensors: usize,
}

/// `truth.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Truth {
    /// Scenario name.
    #[serde(default)]
    pub scenario: String,
    /// Violations (FORMATS section 5).
    pub violations: Vec<TruthViolation>,
    /// Every round.
    #[serde(default)]
    pub shots: Vec<Shot>,
    /// Every weapon on the ground.
    #[serde(default)]
    pub objects: Vec<Object>,
    /// Every fire.
    #[serde(default)]
    pub fires: Vec<Fire>,
    /// Counts.
    #[serde(default)]
    pub stats: Stats,
}

/// A pick as the bound sees it: the sensor, the effective sound speed on its path, the stated
/// time sigma, and a back azimuth sigma (degrees) for arrays.
#[derive(Debug, Clone, Copy)]
pub struct PickGeometry {
    /// Sensor position.
    pub sensor: LatLon,
    /// Effective sound speed, m/s.
    pub c_mps: f64,
    /// One-sigma arrival-time error, s.
    pub sigma_s: f64,
    /// One-sigma back-azimuth error, degrees, for array picks.
    pub back_azimuth_sigma_deg: Option<f64>,
}

/// The Cramér-Rao bound of the horizontal location of a source at `source`, for unknowns
/// (east, north, origin time) and Gaussian pick errors: `sqrt(C_ee + C_nn)` metres, where
/// `C = F^-1` and `F` is the Fisher information of the arrival times (and back azimuths).
/// `None` when the information is singular (fewer than three independent picks).
pub fn cramer_rao_m(source: LatLon, picks: &[PickGeometry]) -> Option<f64> {
    let frame = Enu::new(source, 0.0);
    let mut f = [[0.0f64; 3]; 3];
    let mut add = |g: [f64; 3], w: f64| {
        for i in 0..3 {
            for j in 0..3 {
                f[i][j] += w * g[i] * g[j];
            }
        }
    };
    for p in picks {
        let s = frame.to_enu(p.sensor, 0.0);
        let (de, dn) = (-s[0], -s[1]); // source minus sensor
        let d = (de * de + dn * dn).sqrt().max(1.0);
        // t = t0 + |x - s| / c: dt/dx = (x - s) / (c d).
        add(
            [de / (p.c_mps * d), dn / (p.c_mps * d), 1.0],
            1.0 / (p.sigma_s * p.sigma_s),
        );
        if let Some(sb) = p.back_azimuth_sigma_deg {
            // theta = atan2(de, dn): dtheta/de = dn / d^2, dtheta/dn = -de / d^2.
            let sb = sb.to_radians();
            add([dn / (d * d), -de / (d * d), 0.0], 1.0 / (sb * sb));
        }
    }
    let inv = invert3(f)?;
    let v = inv[0][0] + inv[1][1];
    (v.is_finite() && v > 0.0).then(|| v.sqrt())
}

/// Invert a symmetric positive semi-definite 3x3 matrix after Jacobi scaling (the unknowns have
/// different units, so conditioning is judged on the unit-diagonal matrix).
fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    if (0..3).any(|i| m[i][i].is_nan() || m[i][i] <= 0.0 || !m[i][i].is_finite()) {
        return None;
    }
    let d: Vec<f64> = (0..3).map(|i| 1.0 / m[i][i].sqrt()).collect();
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            r[i][j] = m[i][j] * d[i] * d[j];
        }
    }
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| r[r0][c0] * r[r1][c1] - r[r0][c1] * r[r1][c0];
    let cof = [
        [c(1, 1, 2, 2), -c(1, 0, 2, 2), c(1, 0, 2, 1)],
        [-c(0, 1, 2, 2), c(0, 0, 2, 2), -c(0, 0, 2, 1)],
        [c(0, 1, 1, 2), -c(0, 0, 1, 2), c(0, 0, 1, 1)],
    ];
    let det = r[0][0] * cof[0][0] + r[0][1] * cof[0][1] + r[0][2] * cof[0][2];
    // The determinant of a correlation matrix is in [0, 1]; below 1e-10 it is singular in
    // practice (collinear or too few picks).
    if det.is_nan() || det <= 1e-10 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            inv[i][j] = cof[j][i] / det * d[i] * d[j];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_geo::direct;

    #[test]
    fn bound_shrinks_as_one_over_sqrt_n_and_needs_three_picks() {
        let src = LatLon::new(48.0, 37.8);
        let ring = |n: usize| -> Vec<PickGeometry> {
            (0..n)
                .map(|k| PickGeometry {
                    sensor: direct(src, 360.0 * k as f64 / n as f64, 10_000.0),
                    c_mps: 330.0,
                    sigma_s: 0.01,
                    back_azimuth_sigma_deg: None,
                })
                .collect()
        };
        assert!(cramer_rao_m(src, &ring(2)).is_none());
        let b4 = cramer_rao_m(src, &ring(4)).unwrap();
        let b16 = cramer_rao_m(src, &ring(16)).unwrap();
        // Symmetric ring: variance per axis = 2 (c sigma)^2 / n, so the RMS is 2 c sigma/sqrt(n).
        assert!((b4 - 2.0 * 330.0 * 0.01 / 2.0).abs() < 0.01, "{b4}");
        assert!((b4 / b16 - 2.0).abs() < 1e-3, "{b4} {b16}");
    }

    #[test]
    fn back_azimuths_add_information() {
        let src = LatLon::new(48.0, 37.8);
        let mk = |baz| -> Vec<PickGeometry> {
            (0..4)
                .map(|k| PickGeometry {
                    sensor: direct(src, 90.0 * k as f64 + 10.0, 5_000.0),
                    c_mps: 330.0,
                    sigma_s: 0.01,
                    back_azimuth_sigma_deg: baz,
                })
                .collect()
        };
        assert!(cramer_rao_m(src, &mk(Some(2.0))).unwrap() < cramer_rao_m(src, &mk(None)).unwrap());
    }
}
