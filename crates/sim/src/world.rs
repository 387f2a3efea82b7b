//! The agreement's geometry as the simulator needs it: walking along the line, stepping off it
//! to a party's side, and which side a point is on.

use std::collections::BTreeMap;

use truce_geo::{Area, LatLon, direct, distance_m, distance_to_polyline_m, inverse};
use truce_model::{Agreement, Geometry, Role};

/// The demo agreement, built into the binary so that simulations need no files.
pub const MINSK_AGREEMENT: &str = include_str!("../../../scenarios/agreements/minsk-2022.geojson");

/// Geometry for placing things.
#[derive(Debug, Clone)]
pub struct World {
    /// The agreement.
    pub agreement: Agreement,
    /// The ceasefire line (the first `ceasefire_line` feature; a MultiLineString's longest part).
    pub line: Vec<LatLon>,
    /// Cumulative geodesic length at each vertex, metres.
    pub cum_m: Vec<f64>,
    /// Control areas by party.
    pub areas: BTreeMap<String, Area>,
}

/// Why a world cannot be built from an agreement.
#[derive(Debug, thiserror::Error)]
#[error("agreement unusable for simulation: {0}")]
pub struct WorldError(pub String);

fn rings(p: &[Vec<truce_model::LonLat>]) -> Vec<Vec<[f64; 2]>> {
    p.iter()
        .map(|r| r.iter().map(|c| [c.lon_deg, c.lat_deg]).collect())
        .collect()
}

impl World {
    /// Build from a checked agreement.
    pub fn new(agreement: Agreement) -> Result<World, WorldError> {
        let line: Vec<LatLon> = agreement
            .features
            .iter()
            .find(|f| f.role == Role::CeasefireLine)
            .and_then(|f| match &f.geometry {
                Geometry::LineString(l) => Some(l.clone()),
                Geometry::MultiLineString(ls) => ls.iter().max_by_key(|l| l.len()).cloned(),
                _ => None,
            })
            .ok_or_else(|| WorldError("no ceasefire line".into()))?
            .iter()
            .map(|c| LatLon::new(c.lat_deg, c.lon_deg))
            .collect();
        let mut cum_m = vec![0.0];
        for w in line.windows(2) {
            let last = cum_m.last().copied().unwrap_or(0.0);
            cum_m.push(last + distance_m(w[0], w[1]));
        }
        let mut areas = BTreeMap::new();
        for party in &agreement.meta.parties {
            let polys: Vec<Vec<Vec<[f64; 2]>>> = agreement
                .features
                .iter()
                .filter(|f| f.role == Role::ControlArea && f.party.as_deref() == Some(party))
                .flat_map(|f| match &f.geometry {
                    Geometry::Polygon(p) => vec![rings(p)],
                    Geometry::MultiPolygon(ps) => ps.iter().map(|p| rings(p)).collect(),
                    _ => vec![],
                })
                .collect();
            if polys.is_empty() {
                return Err(WorldError(format!("party {party} has no control area")));
            }
            areas.insert(party.clone(), Area::from_rings(&polys));
        }
        Ok(World {
            agreement,
            line,
            cum_m,
            areas,
        })
    }

    /// Length of the line, metres.
    pub fn length_m(&self) -> f64 {
        self.cum_m.last().copied().unwrap_or(0.0)
    }

    /// The point `s_m` metres along the line and the line's azimuth there.
    pub fn at(&self, s_m: f64) -> (LatLon, f64) {
        let s = s_m.clamp(0.0, self.length_m());
        let i = match self.cum_m.binary_search_by(|c| c.total_cmp(&s)) {
            Ok(i) => i.min(self.line.len().saturating_sub(2)),
            Err(i) => i.saturating_sub(1).min(self.line.len().saturating_sub(2)),
        };
        let inv = inverse(self.line[i], self.line[i + 1]);
        let p = direct(self.line[i], inv.azimuth1_deg, s - self.cum_m[i]);
        (p, inv.azimuth1_deg)
    }

    /// The party whose control area holds `p`, if any.
    pub fn party_at(&self, p: LatLon) -> Option<&str> {
        self.areas
            .iter()
            .find(|(_, a)| a.contains(p))
            .map(|(k, _)| k.as_str())
    }

    /// A point about `offset_m` from the line (its true distance within -10 %/+15 %), off the line
    /// at `s_m` along it, on `party`'s side; `None` when no such point is found (line ends,
    /// coast). The real line winds, so the walk goes out along the perpendicular (smoothed over
    /// ±1 km) until the distance to the whole line reaches the offset.
    pub fn off_line(&self, s_m: f64, offset_m: f64, party: &str) -> Option<LatLon> {
        let (p, _) = self.at(s_m);
        let (a, _) = self.at(s_m - 1000.0);
        let (b, _) = self.at(s_m + 1000.0);
        let az = inverse(a, b).azimuth1_deg;
        let area = self.areas.get(party)?;
        for side in [az - 90.0, az + 90.0] {
            let mut x = offset_m;
            while x <= 3.0 * offset_m {
                let q = direct(p, side, x);
                let d = self.distance_to_line_m(q);
                if d > 1.15 * offset_m {
                    break;
                }
                if d >= 0.9 * offset_m && area.contains(q) {
                    return Some(q);
                }
                x += 0.2 * offset_m;
            }
        }
        None
    }

    /// Like [`World::off_line`], also trying spots up to 2 km either way along the line.
    pub fn off_line_near(&self, s_m: f64, offset_m: f64, party: &str) -> Option<LatLon> {
        [0.0, 500.0, -500.0, 1000.0, -1000.0, 2000.0, -2000.0]
            .into_iter()
            .find_map(|ds| self.off_line(s_m + ds, offset_m, party))
    }

    /// Geodesic distance from `p` to the ceasefire line, metres.
    pub fn distance_to_line_m(&self, p: LatLon) -> f64 {
        distance_to_polyline_m(p, &self.line).map_or(f64::INFINITY, |c| c.distance_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(Agreement::from_json(MINSK_AGREEMENT.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn the_built_in_line_is_about_430_km() {
        let w = world();
        assert!(
            (w.length_m() / 1000.0 - 430.7).abs() < 1.0,
            "{}",
            w.length_m()
        );
    }

    #[test]
    fn stepping_off_the_line_lands_on_the_asked_side() {
        let w = world();
        let mut placed = 0;
        for k in 1..40 {
            let s = k as f64 * 10_000.0;
            for party in ["A", "B"] {
                if let Some(q) = w.off_line_near(s, 6000.0, party) {
                    placed += 1;
                    assert_eq!(w.party_at(q), Some(party));
                    let d = w.distance_to_line_m(q);
                    assert!((5400.0..=6900.0).contains(&d), "{d}");
                }
            }
        }
        assert!(placed > 74, "{placed}");
    }
}
