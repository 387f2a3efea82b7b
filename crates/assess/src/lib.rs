//! Assessment: located events and weapon sightings checked against the agreement's geometry,
//! attributed to a party with a probability, graded.
//!
//! - [`Zones`]: the agreement on the ellipsoid: control areas, geodesic distance to the
//!   ceasefire line, buffer zone (explicit polygon or `buffer_km`), withdrawal zones per class
//!   (`withdrawal_km`), exclusion zones; the effective period.
//! - [`p_party`]: the probability mass of a Gaussian location error inside each party's area,
//!   from a fixed, deterministic set of 400 sample points (standard error at most 0.025).
//! - [`grade`]: FORMATS section 4.
//!
//! Knows nothing of files or of the log.

pub mod fires;

use std::collections::BTreeMap;

use truce_geo::{Area, Enu, LatLon};
use truce_model::{Agreement, Geometry, Role, UtcNanos, WeaponClass};

/// Why an agreement cannot be assessed against.
#[derive(Debug, thiserror::Error)]
#[error("agreement: {0}")]
pub struct ZonesError(pub String);

fn rings(p: &[Vec<truce_model::LonLat>]) -> Vec<Vec<[f64; 2]>> {
    p.iter()
        .map(|r| r.iter().map(|c| [c.lon_deg, c.lat_deg]).collect())
        .collect()
}

fn area_of(g: &Geometry) -> Option<Vec<Vec<Vec<[f64; 2]>>>> {
    match g {
        Geometry::Polygon(p) => Some(vec![rings(p)]),
        Geometry::MultiPolygon(ps) => Some(ps.iter().map(|p| rings(p)).collect()),
        _ => None,
    }
}

/// The agreement's geometry, ready for queries.
#[derive(Debug, Clone)]
pub struct Zones {
    /// The agreement.
    pub agreement: Agreement,
    lines: truce_geo::LineIndex,
    areas: BTreeMap<String, Area>,
    buffer: Option<Area>,
    exclusion: Vec<(String, Area)>,
}

impl Zones {
    /// Build from a checked agreement.
    pub fn new(agreement: Agreement) -> Result<Zones, ZonesError> {
        let mut lines = Vec::new();
        let mut polys: BTreeMap<String, Vec<Vec<Vec<[f64; 2]>>>> = BTreeMap::new();
        let mut buffer = Vec::new();
        let mut exclusion = Vec::new();
        for f in &agreement.features {
            let ll = |l: &[truce_model::LonLat]| {
                l.iter()
                    .map(|c| LatLon::new(c.lat_deg, c.lon_deg))
                    .collect::<Vec<_>>()
            };
            match (f.role, &f.geometry) {
                (Role::CeasefireLine, Geometry::LineString(l)) => lines.push(ll(l)),
                (Role::CeasefireLine, Geometry::MultiLineString(ls)) => {
                    lines.extend(ls.iter().map(|l| ll(l)))
                }
                (Role::ControlArea, g) => {
                    let party = f.party.clone().unwrap_or_default();
                    polys
                        .entry(party)
                        .or_default()
                        .extend(area_of(g).unwrap_or_default());
                }
                (Role::BufferZone, g) => buffer.extend(area_of(g).unwrap_or_default()),
                (Role::ExclusionZone, g) => exclusion.push((
                    f.name.clone().unwrap_or_else(|| "exclusion zone".into()),
                    Area::from_rings(&area_of(g).unwrap_or_default()),
                )),
                _ => {}
            }
        }
        if lines.is_empty() {
            return Err(ZonesError("no ceasefire line".into()));
        }
        let areas = polys
            .into_iter()
            .map(|(p, rs)| (p, Area::from_rings(&rs)))
            .collect();
        Ok(Zones {
            agreement,
            lines: truce_geo::LineIndex::new(&lines),
            areas,
            buffer: (!buffer.is_empty()).then(|| Area::from_rings(&buffer)),
            exclusion,
        })
    }

    /// The party whose control area holds `p`.
    pub fn party_at(&self, p: LatLon) -> Option<&str> {
        self.areas
            .iter()
            .find(|(_, a)| a.contains(p))
            .map(|(k, _)| k.as_str())
    }

    /// The party whose control area holds every point within `radius_m` of `p` (`Some(None)`:
    /// no party's), or `None` when a control area's edge may pass that close. Conservative: the
    /// disk is bounded by a box in degrees drawn with the smallest radius of curvature of the
    /// ellipsoid, one percent wider.
    pub fn party_throughout(&self, p: LatLon, radius_m: f64) -> Option<Option<&str>> {
        // The meridian radius of curvature at the equator, a (1 - e²), the smallest on WGS84.
        let e2 = truce_geo::WGS84_F * (2.0 - truce_geo::WGS84_F);
        let min_radius_m = truce_geo::WGS84_A_M * (1.0 - e2);
        let dlat = (radius_m * 1.01 / min_radius_m).to_degrees() + 1e-9;
        let cos = (p.lat_deg.abs() + dlat).min(89.0).to_radians().cos();
        let dlon = dlat / cos;
        let (lon0, lon1) = (p.lon_deg - dlon, p.lon_deg + dlon);
        let (lat0, lat1) = (p.lat_deg - dlat, p.lat_deg + dlat);
        if self
            .areas
            .values()
            .any(|a| a.may_cross_box(lon0, lat0, lon1, lat1))
        {
            return None;
        }
        Some(self.party_at(p))
    }

    /// The parties, in agreement order.
    pub fn parties(&self) -> &[String] {
        &self.agreement.meta.parties
    }

    /// Geodesic distance from `p` to the ceasefire line, metres.
    pub fn distance_to_line_m(&self, p: LatLon) -> f64 {
        self.lines.distance_m(p)
    }

    /// Whether `p` is in the buffer zone: the explicit polygon, else within `buffer_km`.
    pub fn in_buffer(&self, p: LatLon) -> bool {
        match &self.buffer {
            Some(a) => a.contains(p),
            None => self.distance_to_line_m(p) <= self.agreement.meta.buffer_km * 1000.0,
        }
    }

    /// The withdrawal distance for a class, metres, if the agreement sets one.
    pub fn withdrawal_m(&self, class: WeaponClass) -> Option<f64> {
        self.agreement
            .meta
            .withdrawal_km
            .get(&class)
            .map(|km| km * 1000.0)
    }

    /// The exclusion zone holding `p`, by name.
    pub fn exclusion_at(&self, p: LatLon) -> Option<&str> {
        self.exclusion
            .iter()
            .find(|(_, a)| a.contains(p))
            .map(|(n, _)| n.as_str())
    }

    /// Whether the agreement is in effect at `t`.
    pub fn in_effect(&self, t: UtcNanos) -> bool {
        self.agreement.in_effect_at(t)
    }

    /// Everything the agreement says about a place: the party holding it, the geodesic
    /// distance to the line, whether it is in the buffer zone, the weapon classes that may not
    /// be there (withdrawal zones), and the exclusion zone holding it.
    pub fn classify(&self, p: LatLon) -> Place<'_> {
        let distance_m = self.distance_to_line_m(p);
        let party = self.party_at(p);
        let in_buffer = match &self.buffer {
            Some(a) => a.contains(p),
            None => distance_m <= self.agreement.meta.buffer_km * 1000.0,
        };
        let mut withdrawn = ClassSet::default();
        if party.is_some() {
            for (c, km) in &self.agreement.meta.withdrawal_km {
                if distance_m <= km * 1000.0 {
                    withdrawn.insert(*c);
                }
            }
        }
        Place {
            party,
            distance_m,
            in_buffer,
            withdrawn,
            exclusion: self.exclusion_at(p),
        }
    }
}

/// A set of weapon classes (a bit per class: classifying a point allocates nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassSet(u32);

impl ClassSet {
    /// Add a class.
    pub fn insert(&mut self, c: WeaponClass) {
        self.0 |= 1 << (c as u32);
    }

    /// Whether the set holds `c`.
    pub fn contains(&self, c: WeaponClass) -> bool {
        self.0 & (1 << (c as u32)) != 0
    }

    /// How many classes.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// What [`Zones::classify`] says of a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Place<'a> {
    /// The party whose control area holds it.
    pub party: Option<&'a str>,
    /// Geodesic distance to the ceasefire line, metres.
    pub distance_m: f64,
    /// In the buffer zone.
    pub in_buffer: bool,
    /// Weapon classes whose withdrawal zone holds it (on a party's side).
    pub withdrawn: ClassSet,
    /// The exclusion zone holding it.
    pub exclusion: Option<&'a str>,
}

/// Check an agreement's geometry beyond what parsing checks: each control area is a valid
/// polygon (no self-intersection), control areas of different parties do not overlap (beyond
/// 0.01 km² of drawing slack), and every feature lies near the ceasefire line (a feature far
/// from it, or with latitude and longitude swapped, is named). Returns the problems found,
/// each naming the feature by its index; empty means the geometry is usable.
pub fn check_agreement(agreement: &Agreement) -> Vec<String> {
    use geo::{Area as _, BooleanOps, BoundingRect, MultiPolygon, Validation};
    let mut problems = Vec::new();
    let mut areas: Vec<(usize, String, MultiPolygon<f64>)> = Vec::new();
    let mut line_box: Option<geo::Rect<f64>> = None;
    let mut line_at = 0;
    for (i, f) in agreement.features.iter().enumerate() {
        let Some(rings) = area_of(&f.geometry) else {
            let pts: Vec<geo::Coord<f64>> = match &f.geometry {
                Geometry::LineString(l) => l
                    .iter()
                    .map(|c| geo::Coord {
                        x: c.lon_deg,
                        y: c.lat_deg,
                    })
                    .collect(),
                Geometry::MultiLineString(ls) => ls
                    .iter()
                    .flatten()
                    .map(|c| geo::Coord {
                        x: c.lon_deg,
                        y: c.lat_deg,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(r) = geo::LineString::from(pts).bounding_rect() {
                line_box = Some(r);
                line_at = i;
            }
            continue;
        };
        let mp = Area::from_rings(&rings).polygons().clone();
        // geo's full validation compares every pair of segments; a sweep clears the usual,
        // valid case in O(n log n) and the full check runs only on suspects (for its message).
        if !plainly_valid(&mp)
            && let Err(e) = mp.check_validation()
        {
            problems.push(format!("feature {i}: invalid polygon: {e}"));
        }
        if f.role == Role::ControlArea {
            areas.push((i, f.party.clone().unwrap_or_default(), mp));
        } else {
            areas.push((i, String::new(), mp));
        }
    }
    // Overlaps between different parties' control areas: a place cannot be held by two.
    let controls: Vec<&(usize, String, MultiPolygon<f64>)> =
        areas.iter().filter(|a| !a.1.is_empty()).collect();
    for (k, a) in controls.iter().enumerate() {
        for b in &controls[k + 1..] {
            if a.1 == b.1 {
                continue;
            }
            let overlap_deg2 = a.2.intersection(&b.2).unsigned_area();
            // 0.01 km² at mid latitudes is about 1.3e-6 square degrees.
            if overlap_deg2 > 1.3e-6 {
                problems.push(format!(
                    "features {} and {}: control areas of {} and {} overlap (about {:.2} km²)",
                    a.0,
                    b.0,
                    a.1,
                    b.1,
                    overlap_deg2 * 7_700.0
                ));
            }
        }
    }
    // Every area should touch the neighbourhood of the line; one far away is most likely drawn
    // with latitude and longitude swapped.
    if let Some(lb) = line_box {
        let grow = 5.0; // degrees around the line's box
        // (feature, whether it would be near the line with its coordinates swapped)
        let mut far: Vec<(usize, bool)> = Vec::new();
        for (i, _, mp) in &areas {
            if let Some(r) = mp.bounding_rect() {
                let apart = r.max().x < lb.min().x - grow
                    || r.min().x > lb.max().x + grow
                    || r.max().y < lb.min().y - grow
                    || r.min().y > lb.max().y + grow;
                if apart {
                    let swapped = r.min().x > lb.min().y - grow
                        && r.max().x < lb.max().y + grow
                        && r.min().y > lb.min().x - grow
                        && r.max().y < lb.max().x + grow;
                    far.push((*i, swapped));
                }
            }
        }
        let swapped_note = |swapped: bool| {
            if swapped {
                " (latitude and longitude look swapped)"
            } else {
                ""
            }
        };
        if far.len() >= 2 && far.len() == areas.len() {
            // Every area far from the line: the line is the odd one out.
            problems.push(format!(
                "feature {line_at}: the ceasefire line lies far from every area{}",
                swapped_note(far.iter().all(|f| f.1))
            ));
        } else {
            for (i, swapped) in far {
                problems.push(format!(
                    "feature {i}: lies far from the ceasefire line{}",
                    swapped_note(swapped)
                ));
            }
        }
    }
    problems
}

/// Sample points of a standard bivariate normal: 400 points, deterministic (a Fibonacci
/// lattice pushed through the inverse normal CDF of the radius), so `p_party` is the same on
/// every machine. Binomial standard error at most 0.5 / sqrt(400) = 0.025.
fn unit_samples() -> &'static [(f64, f64)] {
    static S: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        const N: usize = 400;
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        (0..N)
            .map(|i| {
                // The radius of a standard 2-D normal has CDF 1 - exp(-r²/2).
                let u = (i as f64 + 0.5) / N as f64;
                let r = (-2.0 * (1.0 - u).ln()).sqrt();
                let a = golden * i as f64;
                (r * a.cos(), r * a.sin())
            })
            .collect()
    })
}

/// The largest radius of the `unit_samples`.
fn max_unit_radius() -> f64 {
    static R: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *R.get_or_init(|| {
        unit_samples()
            .iter()
            .map(|(a, b)| a.hypot(*b))
            .fold(0.0, f64::max)
    })
}

/// One segment of a ring, for the sweep in [`plainly_valid`].
#[derive(Debug, Clone)]
struct Seg {
    ring: usize,
    idx: usize,
    n: usize,
    line: geo::Line<f64>,
}

impl geo::algorithm::sweep::Cross for Seg {
    type Scalar = f64;
    fn line(&self) -> geo::Line<f64> {
        self.line
    }
}

/// Whether a multipolygon is valid by a fast test: no two segments meet except consecutive
/// segments of one ring at their shared vertex (a Bentley-Ottmann-style sweep, `geo`'s), every
/// hole starts inside its polygon and no polygon starts inside another. `false` means "not
/// shown valid": the caller runs the full check.
fn plainly_valid(mp: &geo::MultiPolygon<f64>) -> bool {
    use geo::{Contains, LineIntersection};
    let mut segs = Vec::new();
    let mut ring_id = 0;
    for p in &mp.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            let n = r.0.len().saturating_sub(1);
            for (idx, w) in r.0.windows(2).enumerate() {
                if w[0] == w[1] {
                    return false;
                }
                segs.push(Seg {
                    ring: ring_id,
                    idx,
                    n,
                    line: geo::Line::new(w[0], w[1]),
                });
            }
            ring_id += 1;
        }
    }
    // Different rings may touch at points (OGC: a hole touching its shell, parts of a
    // multipolygon touching), as geo's full validation also accepts; they may not cross.
    for (a, b, x) in geo::algorithm::sweep::Intersections::from_iter(segs) {
        let at_vertex = matches!(
            x,
            LineIntersection::SinglePoint {
                is_proper: false,
                ..
            }
        );
        let adjacent = a.ring != b.ring
            || (a.idx + 1) % a.n.max(1) == b.idx
            || (b.idx + 1) % b.n.max(1) == a.idx;
        if !(adjacent && at_vertex) {
            return false;
        }
    }
    for (k, p) in mp.0.iter().enumerate() {
        let shell = geo::Polygon::new(p.exterior().clone(), vec![]);
        for h in p.interiors() {
            if h.0.first().is_none_or(|c| !shell.contains(c)) {
                return false;
            }
        }
        for (j, q) in mp.0.iter().enumerate() {
            if j != k && p.exterior().0.first().is_some_and(|c| q.contains(c)) {
                return false;
            }
        }
    }
    true
}

/// The probability that a location with covariance `cov` (east-north m²: [ee, en, nn]) around
/// `pos` lies in each party's control area (the rest is in no party's area).
pub fn p_party(zones: &Zones, pos: LatLon, cov: [f64; 3]) -> BTreeMap<String, f64> {
    let l = cholesky2(cov);
    // Where no control area's edge comes within reach of any sample (|L z| is at most the
    // Frobenius norm of L times the largest |z|), every sample falls where `pos` does: the
    // counts are known without placing them (most findings, kilometres from the line). Exact:
    // a test holds it to the sampling.
    let reach_m = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt() * max_unit_radius() + 1.0;
    match zones.party_throughout(pos, reach_m) {
        Some(party) => {
            let mut counts: BTreeMap<String, f64> =
                zones.parties().iter().map(|p| (p.clone(), 0.0)).collect();
            if let Some(c) = party.and_then(|p| counts.get_mut(p)) {
                // Every sample of n: n / n, exactly one.
                *c = 1.0;
            }
            counts
        }
        None => p_party_sampled(zones, pos, l),
    }
}

/// The Cholesky factor [l11, l21, l22] of a 2x2 covariance [ee, en, nn].
fn cholesky2(cov: [f64; 3]) -> [f64; 3] {
    let l11 = cov[0].max(0.0).sqrt();
    let l21 = if l11 > 0.0 { cov[1] / l11 } else { 0.0 };
    let l22 = (cov[2] - l21 * l21).max(0.0).sqrt();
    [l11, l21, l22]
}

/// [`p_party`] by placing every sample.
fn p_party_sampled(zones: &Zones, pos: LatLon, [l11, l21, l22]: [f64; 3]) -> BTreeMap<String, f64> {
    let frame = Enu::new(pos, 0.0);
    let samples = unit_samples();
    let mut counts: BTreeMap<String, f64> =
        zones.parties().iter().map(|p| (p.clone(), 0.0)).collect();
    for &(z1, z2) in samples {
        let (e, n) = (l11 * z1, l21 * z1 + l22 * z2);
        let (q, _) = frame.from_enu([e, n, 0.0]);
        if let Some(c) = zones.party_at(q).and_then(|p| counts.get_mut(p)) {
            *c += 1.0;
        }
    }
    for v in counts.values_mut() {
        *v /= samples.len() as f64;
    }
    counts
}

/// The most likely party and its probability; the party is `None` when none reaches 0.5.
pub fn attribute(p: &BTreeMap<String, f64>) -> (Option<String>, f64) {
    match p
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
    {
        Some((party, &prob)) if prob >= 0.5 => (Some(party.clone()), prob),
        Some((_, &prob)) => (None, prob),
        None => (None, 0.0),
    }
}

/// FORMATS section 4 grades: `confirmed` when two or more independent owners or sensor kinds
/// agree and `p_party` >= 0.95; `probable` when either holds (independent corroboration, or
/// `p_party` >= 0.95 from several sensors of one owner); else `possible`.
pub fn grade(owners: usize, kinds: usize, sensors: usize, p_party: f64) -> &'static str {
    let independent = owners >= 2 || kinds >= 2;
    if independent && p_party >= 0.95 {
        "confirmed"
    } else if independent || (sensors >= 2 && p_party >= 0.95) {
        "probable"
    } else {
        "possible"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fast_validity_test_agrees_with_geo_on_plain_cases() {
        use geo::{Validation, polygon};
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)];
        let bowtie =
            polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 4.0), (x: 4.0, y: 0.0), (x: 0.0, y: 4.0)];
        let holed = geo::Polygon::new(
            square.exterior().clone(),
            vec![geo::LineString::from(vec![
                (1.0, 1.0),
                (2.0, 1.0),
                (2.0, 2.0),
                (1.0, 2.0),
                (1.0, 1.0),
            ])],
        );
        let hole_across = geo::Polygon::new(
            square.exterior().clone(),
            vec![geo::LineString::from(vec![
                (1.0, 1.0),
                (6.0, 1.0),
                (6.0, 2.0),
                (1.0, 2.0),
                (1.0, 1.0),
            ])],
        );
        let hole_outside = geo::Polygon::new(
            square.exterior().clone(),
            vec![geo::LineString::from(vec![
                (5.0, 5.0),
                (6.0, 5.0),
                (6.0, 6.0),
                (5.0, 6.0),
                (5.0, 5.0),
            ])],
        );
        let nested = geo::MultiPolygon(vec![
            square.clone(),
            polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0)],
        ]);
        for (name, mp, valid) in [
            ("square", geo::MultiPolygon(vec![square.clone()]), true),
            ("holed", geo::MultiPolygon(vec![holed]), true),
            ("bowtie", geo::MultiPolygon(vec![bowtie]), false),
            ("hole across", geo::MultiPolygon(vec![hole_across]), false),
            ("hole outside", geo::MultiPolygon(vec![hole_outside]), false),
            ("nested", nested, false),
        ] {
            assert_eq!(mp.is_valid(), valid, "{name}: geo");
            assert_eq!(plainly_valid(&mp), valid, "{name}: fast test");
        }
    }

    use super::*;

    const DEMO: &str = r#"{"type": "FeatureCollection",
 "agreement": {"id": "t", "parties": ["A", "B"], "effective_from": "2026-01-10T00:00:00Z",
   "buffer_km": 2.0, "withdrawal_km": {"artillery_ge100": 25}},
 "features": [
   {"type": "Feature", "properties": {"role": "ceasefire_line"}, "geometry": {"type": "LineString", "coordinates": [[37.0, 48.0], [38.0, 48.0]]}},
   {"type": "Feature", "properties": {"role": "control_area", "party": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0,48.0],[38.0,48.0],[38.0,48.5],[37.0,48.5],[37.0,48.0]]]}},
   {"type": "Feature", "properties": {"role": "control_area", "party": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0,47.5],[38.0,47.5],[38.0,48.0],[37.0,48.0],[37.0,47.5]]]}},
   {"type": "Feature", "properties": {"role": "exclusion_zone", "name": "plant"}, "geometry": {"type": "Polygon", "coordinates": [[[37.4,48.2],[37.5,48.2],[37.5,48.3],[37.4,48.3],[37.4,48.2]]]}}
 ]}"#;

    fn zones() -> Zones {
        Zones::new(Agreement::from_json(DEMO.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn distances_and_zones() {
        let z = zones();
        let p = truce_geo::direct(LatLon::new(48.0, 37.5), 0.0, 1500.0);
        // Segments are geodesics (which bow north of the parallel by about 120 m here): check
        // against a brute-force walk along the geodesic.
        let (a, b) = (LatLon::new(48.0, 37.0), LatLon::new(48.0, 38.0));
        let inv = truce_geo::inverse(a, b);
        let brute = (0..=20_000)
            .map(|k| {
                truce_geo::distance_m(
                    p,
                    truce_geo::direct(a, inv.azimuth1_deg, inv.distance_m * k as f64 / 20_000.0),
                )
            })
            .fold(f64::INFINITY, f64::min);
        assert!(
            (z.distance_to_line_m(p) - brute).abs() < 0.5,
            "{} vs {brute}",
            z.distance_to_line_m(p)
        );
        assert!((brute - 1380.0).abs() < 30.0, "{brute}");
        assert!(z.in_buffer(p));
        assert_eq!(z.party_at(p), Some("A"));
        assert!(!z.in_buffer(truce_geo::direct(p, 0.0, 1000.0)));
        assert_eq!(z.exclusion_at(LatLon::new(48.25, 37.45)), Some("plant"));
        assert_eq!(z.withdrawal_m(WeaponClass::ArtilleryGe100), Some(25_000.0));
        // classify says the same in one call.
        let c = z.classify(p);
        assert_eq!(c.party, Some("A"));
        assert!(c.in_buffer && (c.distance_m - z.distance_to_line_m(p)).abs() < 1e-9);
        assert!(c.withdrawn.contains(WeaponClass::ArtilleryGe100) && c.withdrawn.len() == 1);
        assert!(!c.withdrawn.contains(WeaponClass::Mortar));
        let far = z.classify(truce_geo::direct(p, 0.0, 30_000.0));
        assert!(far.withdrawn.is_empty() && !far.in_buffer);
    }

    #[test]
    fn p_party_is_the_mass_on_each_side() {
        let z = zones();
        let on_line = LatLon::new(48.0, 37.5);
        let p = p_party(&z, on_line, [100.0 * 100.0, 0.0, 100.0 * 100.0]);
        assert!(
            (p["A"] - 0.5).abs() < 0.05 && (p["B"] - 0.5).abs() < 0.05,
            "{p:?}"
        );
        // 2 sigma north of the line: P(A) = Phi(2) = 0.977.
        let north = truce_geo::direct(on_line, 0.0, 200.0);
        let p = p_party(&z, north, [100.0 * 100.0, 0.0, 100.0 * 100.0]);
        assert!((p["A"] - 0.977).abs() < 0.025, "{p:?}");
        assert_eq!(attribute(&p).0.as_deref(), Some("A"));
        // Deterministic.
        assert_eq!(p, p_party(&z, north, [100.0 * 100.0, 0.0, 100.0 * 100.0]));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// The shortcut far from every edge gives the sampling's counts, bit for bit: near
        /// the line, near an outer edge or a corner, and outside every area.
        #[test]
        fn p_party_is_the_sampling_wherever_it_is_shortened(
            which in 0usize..4,
            dist_m in 0.0f64..6000.0,
            azimuth in 0.0f64..360.0,
            s_e in 1.0f64..800.0,
            s_n in 1.0f64..800.0,
            rho in -0.95f64..0.95,
        ) {
            let z = zones();
            let anchor = [
                LatLon::new(48.0, 37.5),
                LatLon::new(48.5, 37.7),
                LatLon::new(47.5, 38.0),
                LatLon::new(48.25, 36.99),
            ][which];
            let pos = truce_geo::direct(anchor, azimuth, dist_m);
            let cov = [s_e * s_e, rho * s_e * s_n, s_n * s_n];
            let sampled = p_party_sampled(&z, pos, cholesky2(cov));
            let p = p_party(&z, pos, cov);
            proptest::prop_assert_eq!(
                p.iter().map(|(k, v)| (k.clone(), v.to_bits())).collect::<Vec<_>>(),
                sampled.iter().map(|(k, v)| (k.clone(), v.to_bits())).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn p_party_is_shortened_only_clear_of_every_edge() {
        let z = zones();
        let centre = LatLon::new(48.25, 37.5);
        assert_eq!(z.party_throughout(centre, 1000.0), Some(Some("A")));
        assert_eq!(
            z.party_throughout(LatLon::new(47.75, 37.5), 1000.0),
            Some(Some("B"))
        );
        assert_eq!(
            z.party_throughout(LatLon::new(49.0, 37.5), 1000.0),
            Some(None)
        );
        // The line is 27.8 km south of the centre.
        assert_eq!(z.party_throughout(centre, 28_500.0), None);
        assert_eq!(z.party_throughout(LatLon::new(48.001, 37.5), 200.0), None);
    }

    #[test]
    fn bad_geometry_is_named_by_feature() {
        assert!(
            check_agreement(&zones().agreement).is_empty(),
            "{:?}",
            check_agreement(&zones().agreement)
        );
        let overlap = DEMO.replace(
            "[[[37.0,47.5],[38.0,47.5],[38.0,48.0],[37.0,48.0],[37.0,47.5]]]",
            "[[[37.0,47.5],[38.0,47.5],[38.0,48.2],[37.0,48.2],[37.0,47.5]]]",
        );
        let p = check_agreement(&Agreement::from_json(overlap.as_bytes()).unwrap());
        assert!(
            p.iter()
                .any(|m| m.contains("features 1 and 2") && m.contains("overlap")),
            "{p:?}"
        );
        let bowtie = DEMO.replace(
            "[[[37.4,48.2],[37.5,48.2],[37.5,48.3],[37.4,48.3],[37.4,48.2]]]",
            "[[[37.4,48.2],[37.5,48.3],[37.5,48.2],[37.4,48.3],[37.4,48.2]]]",
        );
        let p = check_agreement(&Agreement::from_json(bowtie.as_bytes()).unwrap());
        assert!(
            p.iter()
                .any(|m| m.starts_with("feature 3: invalid polygon")),
            "{p:?}"
        );
        let swapped = DEMO.replace(
            "[[[37.4,48.2],[37.5,48.2],[37.5,48.3],[37.4,48.3],[37.4,48.2]]]",
            "[[[48.2,37.4],[48.2,37.5],[48.3,37.5],[48.3,37.4],[48.2,37.4]]]",
        );
        let p = check_agreement(&Agreement::from_json(swapped.as_bytes()).unwrap());
        assert!(
            p.iter()
                .any(|m| m.starts_with("feature 3") && m.contains("swapped")),
            "{p:?}"
        );
        // The line swapped, the areas right: the line is named, not every area.
        let mut a = Agreement::from_json(DEMO.as_bytes()).unwrap();
        let line = a
            .features
            .iter()
            .position(|f| f.role == Role::CeasefireLine)
            .unwrap();
        if let Geometry::LineString(l) = &mut a.features[line].geometry {
            for c in l.iter_mut() {
                std::mem::swap(&mut c.lat_deg, &mut c.lon_deg);
            }
        } else {
            panic!("the demo's line is a LineString");
        }
        let p = check_agreement(&a);
        assert_eq!(
            p,
            vec![format!(
                "feature {line}: the ceasefire line lies far from every area (latitude and longitude look swapped)"
            )]
        );
    }

    #[test]
    fn grades_follow_formats() {
        assert_eq!(grade(2, 1, 5, 0.97), "confirmed");
        assert_eq!(grade(1, 2, 2, 0.96), "confirmed");
        assert_eq!(grade(2, 1, 5, 0.9), "probable");
        assert_eq!(grade(1, 1, 5, 0.99), "probable");
        assert_eq!(grade(1, 1, 1, 0.99), "possible");
    }
}
