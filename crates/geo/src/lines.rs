//! Geodesic distance from many points to one (multi-)polyline, fast: an R-tree (`rstar`) of
//! the segments as chords in Earth-centred coordinates finds the few candidates in about
//! log(segments), and only those are measured on the ellipsoid.
//!
//! The measure: the closest point of the chord, lifted to the surface, is the foot on the
//! segment (a geodesic and the chord's surface trace differ by far less than a metre for the
//! segments of a drawn line, and the distance is stationary at the foot, so the error in the
//! distance is second order); the distance to it is the geodesic one, taken from the chord by
//! the arc of the normal section (radius of curvature in that azimuth, Euler) when under
//! 100 km, where that agrees with `geographiclib` to centimetres, else from `geographiclib`.
//! [`crate::distance_to_polyline_m`] (golden-section search on each geodesic) is the reference
//! the tests hold this to.

use rstar::{AABB, PointDistance, RTree, RTreeObject};

use crate::enu::{from_ecef, to_ecef};
use crate::{LatLon, distance_m};

const E2: f64 = crate::enu::F * (2.0 - crate::enu::F);

/// Below this chord the normal-section arc is used (see [`Local::near_distance`]).
const NEAR_M: f64 = 300_000.0;

#[derive(Debug, Clone)]
struct Seg {
    a: [f64; 3],
    b: [f64; 3],
    /// Its index in [`LineIndex::segs`].
    k: u32,
}

impl RTreeObject for Seg {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

fn sub(x: [f64; 3], y: [f64; 3]) -> [f64; 3] {
    [x[0] - y[0], x[1] - y[1], x[2] - y[2]]
}

fn dot(x: [f64; 3], y: [f64; 3]) -> f64 {
    x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
}

impl Seg {
    /// The closest point of the chord to `p`.
    fn foot(&self, p: [f64; 3]) -> [f64; 3] {
        let ab = sub(self.b, self.a);
        let len2 = dot(ab, ab);
        let t = if len2 > 0.0 {
            (dot(sub(p, self.a), ab) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        [
            self.a[0] + t * ab[0],
            self.a[1] + t * ab[1],
            self.a[2] + t * ab[2],
        ]
    }
}

impl PointDistance for Seg {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        let d = sub(*p, self.foot(*p));
        dot(d, d)
    }
}

/// One or more polylines, indexed for distance queries.
#[derive(Debug, Clone)]
pub struct LineIndex {
    tree: RTree<Seg>,
    segs: Vec<Seg>,
    /// The chord lies below the surface by at most this much (the longest segment's sagitta),
    /// metres: candidates within the best distance plus this are measured.
    sag_m: f64,
    grid: Option<Grid>,
}

/// Near the line, a grid of 0.025-degree cells, each with the only segments that can be nearest
/// to a point in it: a query then costs a handful of chord distances, not a tree search.
#[derive(Debug, Clone)]
struct Grid {
    lat0: f64,
    lon0: f64,
    nlat: usize,
    nlon: usize,
    /// Candidate segment indexes of cell `c` are `cand[start[c]..start[c + 1]]`, cells
    /// row-major by latitude (one flat array: a query touches one contiguous run).
    start: Vec<u32>,
    cand: Vec<u32>,
}

impl Grid {
    const STEP: f64 = 0.025;
    /// How far beyond the line's extent the grid reaches, degrees (beyond every withdrawal
    /// distance in use).
    const MARGIN: f64 = 1.5;
    /// Past this many cells (a line spanning a continent) the tree alone answers.
    const MAX_CELLS: usize = 4_000_000;

    fn new(tree: &RTree<Seg>, lines: &[Vec<LatLon>], sag_m: f64) -> Option<Grid> {
        let pts = lines.iter().flatten();
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in pts {
            lo = [lo[0].min(p.lat_deg), lo[1].min(p.lon_deg)];
            hi = [hi[0].max(p.lat_deg), hi[1].max(p.lon_deg)];
        }
        if tree.size() == 0 || lo[0] > hi[0] || hi[1] - lo[1] > 60.0 {
            return None;
        }
        let lat0 = (lo[0] - Self::MARGIN).max(-89.0);
        let lat1 = (hi[0] + Self::MARGIN).min(89.0);
        let lon0 = lo[1] - Self::MARGIN;
        let nlat = ((lat1 - lat0) / Self::STEP).ceil() as usize;
        let nlon = ((hi[1] + Self::MARGIN - lon0) / Self::STEP).ceil() as usize;
        if nlat.saturating_mul(nlon) > Self::MAX_CELLS {
            return None;
        }
        // Each cell's candidates from the tree: the nearest segment to the centre, then every
        // segment within that distance plus the cell's reach (rows in parallel; the result does
        // not depend on the split).
        use rayon::prelude::*;
        let rows: Vec<Vec<Vec<u32>>> = (0..nlat)
            .into_par_iter()
            .map(|i| {
                (0..nlon)
                    .map(|j| {
                        let (la, lb) = (
                            lat0 + i as f64 * Self::STEP,
                            lat0 + (i + 1) as f64 * Self::STEP,
                        );
                        let (oa, ob) = (
                            lon0 + j as f64 * Self::STEP,
                            lon0 + (j + 1) as f64 * Self::STEP,
                        );
                        let centre = to_ecef(LatLon::new(0.5 * (la + lb), 0.5 * (oa + ob)), 0.0);
                        // Every point of the cell is within r of its centre (chord), so a
                        // segment can be nearest to one of them only if its distance from the
                        // centre is within 2r of the best segment's.
                        let r = [(la, oa), (la, ob), (lb, oa), (lb, ob)]
                            .iter()
                            .map(|&(a, o)| {
                                let c = sub(to_ecef(LatLon::new(a, o), 0.0), centre);
                                dot(c, c).sqrt()
                            })
                            .fold(0.0, f64::max);
                        let best = tree
                            .nearest_neighbor_iter_with_distance_2(&centre)
                            .next()
                            .map_or(0.0, |(_, d2)| d2.sqrt());
                        let reach = best + 2.0 * r + sag_m;
                        let mut ks: Vec<u32> = tree
                            .locate_within_distance(centre, reach * reach)
                            .map(|s| s.k)
                            .collect();
                        ks.sort_unstable();
                        ks
                    })
                    .collect()
            })
            .collect();
        let mut start = Vec::with_capacity(nlat * nlon + 1);
        let mut cand = Vec::new();
        start.push(0);
        for cell in rows.into_iter().flatten() {
            cand.extend_from_slice(&cell);
            start.push(u32::try_from(cand.len()).ok()?);
        }
        Some(Grid {
            lat0,
            lon0,
            nlat,
            nlon,
            start,
            cand,
        })
    }

    fn candidates(&self, p: LatLon) -> Option<&[u32]> {
        let i = ((p.lat_deg - self.lat0) / Self::STEP).floor();
        let j = ((p.lon_deg - self.lon0) / Self::STEP).floor();
        if !(i >= 0.0 && j >= 0.0 && (i as usize) < self.nlat && (j as usize) < self.nlon) {
            return None;
        }
        let c = i as usize * self.nlon + j as usize;
        let (a, b) = (self.start[c] as usize, self.start[c + 1] as usize);
        self.cand.get(a..b)
    }
}

impl LineIndex {
    /// Index `lines` (each a polyline of at least one vertex; single vertices are points).
    pub fn new(lines: &[Vec<LatLon>]) -> LineIndex {
        let mut segs = Vec::new();
        let mut longest: f64 = 0.0;
        for l in lines {
            let pts: Vec<[f64; 3]> = l.iter().map(|p| to_ecef(*p, 0.0)).collect();
            if pts.len() == 1 {
                segs.push(Seg {
                    a: pts[0],
                    b: pts[0],
                    k: segs.len() as u32,
                });
            }
            for w in pts.windows(2) {
                let d = sub(w[1], w[0]);
                longest = longest.max(dot(d, d).sqrt());
                segs.push(Seg {
                    a: w[0],
                    b: w[1],
                    k: segs.len() as u32,
                });
            }
        }
        let sag_m = longest * longest / (8.0 * 6_356_752.0) + 1.0;
        let tree = RTree::bulk_load(segs.clone());
        let grid = Grid::new(&tree, lines, sag_m);
        LineIndex {
            tree,
            segs,
            sag_m,
            grid,
        }
    }

    /// Whether there is nothing to measure against.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Geodesic distance from `p` to the nearest line, metres (infinity when empty).
    pub fn distance_m(&self, p: LatLon) -> f64 {
        let local = Local::new(p);
        let q = local.q;
        if let Some(cands) = self.grid.as_ref().and_then(|g| g.candidates(p)) {
            // Chord distances first (squared, each once when the cell holds at most 64
            // candidates); only the candidates that can still win are measured.
            let mut d2 = [0.0f64; 64];
            let chord2 = |k: u32| self.segs[k as usize].distance_2(&q);
            let mut best2 = f64::INFINITY;
            for (n, &k) in cands.iter().enumerate() {
                let d = chord2(k);
                if let Some(slot) = d2.get_mut(n) {
                    *slot = d;
                }
                best2 = best2.min(d);
            }
            let limit = best2.sqrt() + 2.0 * self.sag_m;
            let limit2 = limit * limit;
            let mut best = f64::INFINITY;
            for (n, &k) in cands.iter().enumerate() {
                let d = d2.get(n).copied().unwrap_or_else(|| chord2(k));
                if d <= limit2 {
                    let foot = self.segs[k as usize].foot(q);
                    best = best.min(match local.near_distance(q, foot) {
                        Some(d) => d,
                        None => surface_distance(p, q, from_ecef(foot).0),
                    });
                }
            }
            return best;
        }
        let mut best = f64::INFINITY;
        for (seg, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&q) {
            let chord = d2.sqrt();
            if chord > best + self.sag_m {
                break;
            }
            let (foot, _) = from_ecef(seg.foot(q));
            best = best.min(surface_distance(p, q, foot));
        }
        best
    }
}

/// The east and north unit vectors and the principal radii of curvature at a point: what the
/// near-distance formula needs, computed once per query.
struct Local {
    /// The point in ECEF.
    q: [f64; 3],
    east: [f64; 3],
    north: [f64; 3],
    m: f64,
    n: f64,
}

impl Local {
    fn new(p: LatLon) -> Local {
        let (sl, cl) = p.lat_deg.to_radians().sin_cos();
        let (so, co) = p.lon_deg.to_radians().sin_cos();
        let w = (1.0 - E2 * sl * sl).sqrt();
        let n = crate::enu::A_M / w;
        Local {
            q: [n * cl * co, n * cl * so, n * (1.0 - E2) * sl],
            east: [-so, co, 0.0],
            north: [-sl * co, -sl * so, cl],
            n,
            m: crate::enu::A_M * (1.0 - E2) / (w * w * w),
        }
    }

    /// Geodesic distance from `q` (on the surface) to the surface point under `foot` (a point of
    /// a chord, at most a few metres below the surface), when under 100 km: the foot is lifted
    /// onto the ellipsoid by one Newton step along the gradient, and the chord becomes the arc
    /// of the normal section of radius 1/R = cos²α/M + sin²α/N. `None` beyond 100 km.
    fn near_distance(&self, q: [f64; 3], foot: [f64; 3]) -> Option<f64> {
        let a2 = crate::enu::A_M * crate::enu::A_M;
        let b2 = a2 * (1.0 - E2);
        let f = (foot[0] * foot[0] + foot[1] * foot[1]) / a2 + foot[2] * foot[2] / b2 - 1.0;
        let g = [2.0 * foot[0] / a2, 2.0 * foot[1] / a2, 2.0 * foot[2] / b2];
        let k = f / dot(g, g);
        let lifted = [foot[0] - k * g[0], foot[1] - k * g[1], foot[2] - k * g[2]];
        let d = sub(lifted, q);
        let c = dot(d, d).sqrt();
        if c >= NEAR_M {
            return None;
        }
        if c == 0.0 {
            return Some(0.0);
        }
        let (de, dn) = (dot(d, self.east), dot(d, self.north));
        let h2 = (de * de + dn * dn).max(1e-300);
        let r = 1.0 / (dn * dn / h2 / self.m + de * de / h2 / self.n);
        Some(2.0 * r * (c / (2.0 * r)).asin())
    }
}

/// Geodesic distance from `p` (ECEF `q`) to `f` on the surface: from the chord by the arc of
/// the normal section under 100 km, else by geographiclib.
fn surface_distance(p: LatLon, q: [f64; 3], f: LatLon) -> f64 {
    let fq = to_ecef(f, 0.0);
    let c = dot(sub(fq, q), sub(fq, q)).sqrt();
    if c >= 100_000.0 || c == 0.0 {
        return if c == 0.0 { 0.0 } else { distance_m(p, f) };
    }
    // Radius of curvature of the normal section at the midpoint's latitude in the chord's
    // azimuth: 1/R = cos²α / M + sin²α / N.
    let lat = (0.5 * (p.lat_deg + f.lat_deg)).to_radians();
    let s2 = lat.sin().powi(2);
    let w = (1.0 - E2 * s2).sqrt();
    let n = crate::enu::A_M / w;
    let m = crate::enu::A_M * (1.0 - E2) / (w * w * w);
    let dn = (f.lat_deg - p.lat_deg).to_radians() * m;
    let de = (f.lon_deg - p.lon_deg).to_radians() * n * lat.cos();
    let h2 = (dn * dn + de * de).max(1e-300);
    let r = 1.0 / (dn * dn / h2 / m + de * de / h2 / n);
    2.0 * r * (c / (2.0 * r)).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{direct, distance_to_polyline_m};
    use proptest::prelude::*;

    fn zigzag() -> Vec<LatLon> {
        // 40 segments of 2-9 km wandering east from (48.0, 37.0), like a drawn front line.
        let mut p = LatLon::new(48.0, 37.0);
        let mut out = vec![p];
        for k in 0..40 {
            p = direct(
                p,
                60.0 + 50.0 * ((k * 7 % 5) as f64 - 2.0),
                2_000.0 + 170.0 * (k % 41) as f64,
            );
            out.push(p);
        }
        out
    }

    proptest! {
        #[test]
        fn agrees_with_the_golden_section_reference(
            lat in 45.0f64..51.0, lon in 33.0f64..43.0,
        ) {
            let line = zigzag();
            let idx = LineIndex::new(std::slice::from_ref(&line));
            let p = LatLon::new(lat, lon);
            let want = distance_to_polyline_m(p, &line).map(|c| c.distance_m).unwrap_or(f64::INFINITY);
            let got = idx.distance_m(p);
            // Within 0.5 m, or 1e-5 relative far away.
            prop_assert!((got - want).abs() <= 0.5f64.max(want * 1e-5), "{got} vs {want}");
        }
    }

    /// The error budget on a grid of points out to several hundred km: under 0.1 m within
    /// 100 km, under 2e-6 of the distance beyond.
    #[test]
    fn error_budget_on_a_grid() {
        let line = zigzag();
        let idx = LineIndex::new(std::slice::from_ref(&line));
        let (mut near, mut far) = (0.0f64, 0.0f64);
        for i in 0..25 {
            for j in 0..57 {
                let p = LatLon::new(45.0 + 0.25 * i as f64, 30.0 + 0.25 * j as f64);
                let want = distance_to_polyline_m(p, &line)
                    .map(|c| c.distance_m)
                    .unwrap_or(0.0);
                let err = (idx.distance_m(p) - want).abs();
                if want < 100_000.0 {
                    near = near.max(err);
                } else {
                    far = far.max(err / want);
                }
            }
        }
        assert!(near < 0.1, "{near} m within 100 km");
        assert!(far < 2e-6, "{far} relative beyond 100 km");
    }

    #[test]
    fn on_the_line_is_zero_and_empty_is_infinite() {
        let line = zigzag();
        let idx = LineIndex::new(std::slice::from_ref(&line));
        assert!(idx.distance_m(line[7]) < 1e-3);
        assert!(LineIndex::new(&[]).distance_m(line[0]).is_infinite());
    }
}
