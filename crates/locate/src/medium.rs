//! Stations, picks, and the media that carry signals from a source to a station.

use truce_geo::{Enu, LatLon, distance_m};

/// Mean Earth radius used for the curvature terms of local frames, metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A station: where a sensor is.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    /// Sensor id.
    pub id: String,
    /// Owner (independence of evidence).
    pub owner: String,
    /// Position.
    pub pos: LatLon,
    /// Height above the ellipsoid, metres.
    pub alt_m: f64,
}

/// The phase a pick marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Sound in air.
    Acoustic,
    /// Seismic compressional wave.
    P,
    /// Seismic shear wave.
    S,
}

/// What an acoustic sensor says the impulse was: +p for blast, -p for detonation, 0 unknown.
pub type LabelVote = f64;

/// One arrival at one station.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// Index into the station list.
    pub station: usize,
    /// Arrival time, seconds since the caller's reference epoch.
    pub time_s: f64,
    /// Stated one-sigma error, seconds.
    pub sigma_s: f64,
    /// Phase.
    pub phase: Phase,
    /// Back azimuth (degrees) and its sigma, for arrays.
    pub back_azimuth: Option<(f64, f64)>,
    /// Blast (+) or detonation (-) vote weighted by the label's probability.
    pub label: LabelVote,
    /// Caller's reference (e.g. the evidence-log index).
    pub evidence: u64,
}

/// Surface weather for acoustic propagation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weather {
    /// Air temperature, °C.
    pub temperature_c: f64,
    /// Wind speed, m/s.
    pub wind_speed_mps: f64,
    /// Direction the wind blows from, degrees.
    pub wind_from_deg: f64,
}

impl Weather {
    /// FORMATS section 2: with no `met` observation, 15 °C and calm air.
    pub const STANDARD: Weather = Weather {
        temperature_c: 15.0,
        wind_speed_mps: 0.0,
        wind_from_deg: 0.0,
    };

    /// Speed of sound, m/s: 331.3 sqrt(1 + T/273.15).
    pub fn sound_speed_mps(&self) -> f64 {
        331.3 * (1.0 + self.temperature_c / 273.15).max(0.01).sqrt()
    }

    /// The same weather with the wind vector shifted by (east, north) m/s.
    pub fn offset(&self, dwe: f64, dwn: f64) -> Weather {
        let (we, wn) = self.wind_en();
        let (e, n) = (we + dwe, wn + dwn);
        Weather {
            temperature_c: self.temperature_c,
            wind_speed_mps: e.hypot(n),
            wind_from_deg: (e.atan2(n).to_degrees() + 180.0).rem_euclid(360.0),
        }
    }

    /// Wind vector toward which the air moves, (east, north) m/s.
    pub fn wind_en(&self) -> (f64, f64) {
        let toward = (self.wind_from_deg + 180.0).to_radians();
        (
            self.wind_speed_mps * toward.sin(),
            self.wind_speed_mps * toward.cos(),
        )
    }
}

/// A weather report at a place and time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetReport {
    /// Station position.
    pub pos: LatLon,
    /// Time, seconds since the reference epoch.
    pub time_s: f64,
    /// The weather.
    pub weather: Weather,
}

/// Met reports, looked up by place and time: the nearest station's latest report no older than
/// `max_age_s`, else the standard atmosphere.
#[derive(Debug, Clone, Default)]
pub struct MetTable {
    reports: Vec<MetReport>,
    /// Oldest report still used, seconds.
    pub max_age_s: f64,
}

impl MetTable {
    /// Build from reports (any order). Reports older than 3 h are not used by default.
    pub fn new(mut reports: Vec<MetReport>) -> Self {
        reports.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        MetTable {
            reports,
            max_age_s: 3.0 * 3600.0,
        }
    }

    /// The weather for a source at `pos` and time `t`: the nearest station's reports of the
    /// last hour (at most `max_age_s` old), averaged (temperature as a mean, wind as a vector
    /// mean) to beat down the noise of single reports; the standard atmosphere without any.
    pub fn at(&self, pos: LatLon, t: f64) -> Weather {
        self.at_with(pos, t, &[])
    }

    /// Every met station's distance from `pos`, kilometres rounded as `at` uses them: for
    /// `at_with`, where one place asks many times.
    pub fn distances_km(&self, pos: LatLon) -> Vec<(LatLon, i64)> {
        let mut km: Vec<(LatLon, i64)> = Vec::new();
        for r in &self.reports {
            if !km.iter().any(|(q, _)| *q == r.pos) {
                km.push((r.pos, (distance_m(pos, r.pos) / 1000.0).round() as i64));
            }
        }
        km
    }

    /// `at`, with the met stations' distances from `pos` known (`distances_km`, or a part).
    pub fn at_with(&self, pos: LatLon, t: f64, known: &[(LatLon, i64)]) -> Weather {
        let hi = self.reports.partition_point(|r| r.time_s <= t);
        let lo = self
            .reports
            .partition_point(|r| r.time_s < t - self.max_age_s);
        let recent = &self.reports[lo..hi];
        // A few met stations report many times: one geodesic per station, not per report.
        let mut km: Vec<(LatLon, i64)> = Vec::new();
        let mut station_km = |p: LatLon| {
            if let Some(&(_, d)) = known.iter().chain(&km).find(|(q, _)| *q == p) {
                return d;
            }
            let d = (distance_m(pos, p) / 1000.0).round() as i64;
            km.push((p, d));
            d
        };
        let Some(nearest) = recent
            .iter()
            .map(|r| (station_km(r.pos), -r.time_s, r))
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .map(|(_, _, r)| r)
        else {
            return Weather::STANDARD;
        };
        let same: Vec<&MetReport> = recent
            .iter()
            .filter(|r| r.pos == nearest.pos && r.time_s >= nearest.time_s - 3600.0)
            .collect();
        let n = same.len() as f64;
        let temperature_c = same.iter().map(|r| r.weather.temperature_c).sum::<f64>() / n;
        let (we, wn) = same.iter().fold((0.0, 0.0), |(e, nn), r| {
            let (a, b) = r.weather.wind_en();
            (e + a / n, nn + b / n)
        });
        let speed = we.hypot(wn);
        Weather {
            temperature_c,
            wind_speed_mps: speed,
            // Back from "blowing toward" to "blowing from".
            wind_from_deg: (we.atan2(wn).to_degrees() + 180.0).rem_euclid(360.0),
        }
    }

    /// Number of reports.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

/// How signals travel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Medium {
    /// Sound in air along the surface: speed from the weather, plus the wind component along the
    /// path. `celerity_mps` overrides the speed (long-range infrasound travels in ducts at an
    /// apparent 280-310 m/s, not at the surface sound speed).
    Air {
        /// Apparent horizontal speed for long-range propagation, if set.
        celerity_mps: Option<f64>,
    },
    /// A constant-velocity Earth for P and S, sources at depth.
    Solid {
        /// P speed, m/s.
        vp_mps: f64,
        /// S speed, m/s.
        vs_mps: f64,
    },
}

impl Medium {
    /// Whether the source depth is an unknown.
    pub fn free_depth(&self) -> bool {
        matches!(self, Medium::Solid { .. })
    }

    /// The phases this medium carries.
    pub fn phases(&self) -> &'static [Phase] {
        match self {
            Medium::Air { .. } => &[Phase::Acoustic],
            Medium::Solid { .. } => &[Phase::P, Phase::S],
        }
    }

    /// The slowest speed of any phase, m/s (for time windows).
    pub fn slowest_mps(&self) -> f64 {
        match self {
            Medium::Air { celerity_mps } => celerity_mps.unwrap_or(300.0).min(300.0) - 20.0,
            Medium::Solid { vs_mps, .. } => *vs_mps * 0.8,
        }
    }
}

/// A local tangent frame around an event: station coordinates in metres, the source's surface
/// position including the Earth's curvature.
#[derive(Debug, Clone)]
pub struct Frame {
    enu: Enu,
    /// Origin of the frame.
    pub origin: LatLon,
}

impl Frame {
    /// A frame at `origin`.
    pub fn new(origin: LatLon) -> Self {
        Frame {
            enu: Enu::new(origin, 0.0),
            origin,
        }
    }

    /// A station's (east, north, up) in this frame.
    pub fn station(&self, s: &Station) -> [f64; 3] {
        self.enu.to_enu(s.pos, s.alt_m)
    }

    /// A source at (east, north) on the tangent plane, projected to the ellipsoid surface and
    /// `depth_m` below it: its (east, north, up) in this frame. The drop of the surface below the
    /// plane, (e² + n²) / 2R, keeps chord distances equal to geodesic ones to centimetres over
    /// 50 km.
    pub fn source(&self, e: f64, n: f64, depth_m: f64) -> [f64; 3] {
        [e, n, -(e * e + n * n) / (2.0 * EARTH_RADIUS_M) - depth_m]
    }

    /// A point's (east, north, up) in this frame from its ECEF coordinates (`station` for a
    /// station whose ECEF coordinates are kept).
    pub fn ecef(&self, x: [f64; 3]) -> [f64; 3] {
        self.enu.ecef_to_enu(x)
    }

    /// The geodetic position of (east, north).
    pub fn to_latlon(&self, e: f64, n: f64) -> LatLon {
        let (p, _) = self.enu.from_enu(self.source(e, n, 0.0));
        p
    }

    /// (east, north) of a geodetic position.
    pub fn to_en(&self, p: LatLon) -> (f64, f64) {
        let v = self.enu.to_enu(p, 0.0);
        (v[0], v[1])
    }
}

/// Travel time from `src` to `sta` (frame coordinates) and its gradient with respect to the
/// source's (east, north, depth).
pub fn travel_time(
    medium: &Medium,
    weather: &Weather,
    phase: Phase,
    src: [f64; 3],
    sta: [f64; 3],
) -> (f64, [f64; 3]) {
    travel_time_with(medium, &AirSpeed::new(medium, weather), phase, src, sta)
}

/// The speed of sound (or celerity) and the wind vector of a weather, computed once for the
/// many travel times of one search (the trigonometry would otherwise dominate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AirSpeed {
    /// Speed without wind, m/s.
    pub c0: f64,
    /// Wind toward east, m/s.
    pub we: f64,
    /// Wind toward north, m/s.
    pub wn: f64,
}

impl AirSpeed {
    /// For `weather` in `medium`.
    pub fn new(medium: &Medium, weather: &Weather) -> AirSpeed {
        let (we, wn) = weather.wind_en();
        let c0 = match medium {
            Medium::Air {
                celerity_mps: Some(c),
            } => *c,
            _ => weather.sound_speed_mps(),
        };
        AirSpeed { c0, we, wn }
    }

    /// The same air with `(east, north)` m/s added to the wind (a fit's wind offset).
    pub fn with_offset(self, (de, dn): (f64, f64)) -> AirSpeed {
        AirSpeed {
            we: self.we + de,
            wn: self.wn + dn,
            ..self
        }
    }
}

/// [`travel_time`] with the air's speed and wind precomputed.
pub fn travel_time_with(
    medium: &Medium,
    air: &AirSpeed,
    phase: Phase,
    src: [f64; 3],
    sta: [f64; 3],
) -> (f64, [f64; 3]) {
    let (de, dn, du) = (sta[0] - src[0], sta[1] - src[1], sta[2] - src[2]);
    let dh = (de * de + dn * dn).sqrt().max(1e-3);
    match medium {
        Medium::Air { .. } => {
            let d = (dh * dh + du * du).sqrt();
            // Chord to arc: + d³ / 24R² (under 3 cm at 30 km, kept for long infrasound paths).
            let arc = d + d * d * d / (24.0 * EARTH_RADIUS_M * EARTH_RADIUS_M);
            let (we, wn) = (air.we, air.wn);
            let c = air.c0 + (we * de + wn * dn) / dh;
            let t = arc / c;
            // Gradient of d / c with c held fixed (the wind term changes slowly with direction).
            (t, [-de / (d * c), -dn / (d * c), 0.0])
        }
        Medium::Solid { vp_mps, vs_mps } => {
            let v = if phase == Phase::S { *vs_mps } else { *vp_mps };
            let d = (dh * dh + du * du).sqrt().max(1e-3);
            // Depth grows downwards: d(du)/d(depth) = +1.
            (d / v, [-de / (d * v), -dn / (d * v), du / (d * v)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_geo::direct;

    #[test]
    fn frame_distances_are_geodesic_to_centimetres() {
        let o = LatLon::new(48.3, 37.9);
        let f = Frame::new(o);
        for (az, d) in [(0.0, 5_000.0), (77.0, 30_000.0), (200.0, 45_000.0)] {
            let p = direct(o, az, d);
            let st = Station {
                id: "x".into(),
                owner: "o".into(),
                pos: p,
                alt_m: 0.0,
            };
            let (e, n) = (0.0, 0.0);
            let (t, _) = travel_time(
                &Medium::Air {
                    celerity_mps: Some(1.0),
                },
                &Weather::STANDARD,
                Phase::Acoustic,
                f.source(e, n, 0.0),
                f.station(&st),
            );
            assert!(
                (t - distance_m(o, p)).abs() < 0.05,
                "{az} {d}: {t} vs {}",
                distance_m(o, p)
            );
        }
    }

    #[test]
    fn met_lookup_takes_nearest_recent_report() {
        let a = LatLon::new(48.0, 37.0);
        let b = LatLon::new(48.5, 38.0);
        let w = |t| Weather {
            temperature_c: t,
            wind_speed_mps: 0.0,
            wind_from_deg: 0.0,
        };
        let table = MetTable::new(vec![
            MetReport {
                pos: a,
                time_s: 0.0,
                weather: w(1.0),
            },
            MetReport {
                pos: a,
                time_s: 600.0,
                weather: w(2.0),
            },
            MetReport {
                pos: b,
                time_s: 650.0,
                weather: w(9.0),
            },
        ]);
        // The nearest station's reports of the last hour, averaged: (1 + 2) / 2.
        assert_eq!(table.at(LatLon::new(48.01, 37.0), 700.0).temperature_c, 1.5);
        assert_eq!(table.at(LatLon::new(48.49, 38.0), 700.0).temperature_c, 9.0);
        assert_eq!(table.at(a, 300.0).temperature_c, 1.0);
        assert_eq!(table.at(a, -10.0), Weather::STANDARD);
        assert_eq!(table.at(a, 20_000.0), Weather::STANDARD);
        // With the distances given, the same answers; with a station's distance given wrong,
        // the answer follows it (so the given distances are the ones used).
        for (p, t) in [
            (LatLon::new(48.01, 37.0), 700.0),
            (LatLon::new(48.49, 38.0), 700.0),
        ] {
            assert_eq!(table.at_with(p, t, &table.distances_km(p)), table.at(p, t));
        }
        let p = LatLon::new(48.01, 37.0);
        assert_eq!(table.distances_km(p).len(), 2);
        assert_eq!(table.at_with(p, 700.0, &[(a, 500)]).temperature_c, 9.0);
    }
}
