//! Building agreements from real geometry.
//!
//! [`minsk`] makes the demo agreement: the Minsk-era line of contact as DeepStateMap drew it on
//! 2022-04-03 (the inner edge of its "ORDLO" polygon, split out in shared data), with control
//! areas from the Donetsk and Luhansk oblasts of geoBoundaries (OpenStreetMap). Party `B` holds
//! the ORDLO polygon; party `A` the rest of the two oblasts. Boolean operations run in
//! longitude-latitude (planar, via `geo`'s `BooleanOps`): they only cut polygons along shared
//! vertices, where the plane and the ellipsoid agree.

use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Value, json};

/// Why an agreement could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An input is not the expected GeoJSON.
    #[error("{input}: {problem}")]
    Input {
        /// Which input.
        input: &'static str,
        /// What is wrong.
        problem: String,
    },
}

fn err(input: &'static str, problem: impl ToString) -> BuildError {
    BuildError::Input {
        input,
        problem: problem.to_string(),
    }
}

/// A GeoJSON ring or line of longitude-latitude positions; `None` for anything else,
/// positions off the globe included (the grids below cover a shape cell by cell).
fn ring(v: &Value) -> Option<LineString<f64>> {
    let pts = v.as_array()?;
    let coords: Option<Vec<Coord<f64>>> = pts
        .iter()
        .map(|p| {
            let a = p.as_array()?;
            let c = Coord {
                x: a.first()?.as_f64()?,
                y: a.get(1)?.as_f64()?,
            };
            ((-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)).then_some(c)
        })
        .collect();
    Some(LineString::from(coords?))
}

fn polygons(geometry: &Value) -> Option<Vec<Polygon<f64>>> {
    let poly = |rings: &Value| -> Option<Polygon<f64>> {
        let rings = rings.as_array()?;
        let outer = ring(rings.first()?)?;
        let holes: Option<Vec<_>> = rings[1..].iter().map(ring).collect();
        Some(Polygon::new(outer, holes?))
    };
    match geometry["type"].as_str()? {
        "Polygon" => Some(vec![poly(&geometry["coordinates"])?]),
        "MultiPolygon" => geometry["coordinates"]
            .as_array()?
            .iter()
            .map(poly)
            .collect(),
        _ => None,
    }
}

fn largest(mp: MultiPolygon<f64>) -> Option<Polygon<f64>> {
    mp.0.into_iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
}

/// Drop holes smaller than about 1 km²: the two oblast drawings leave zero-area slits along their
/// common border, which are artefacts, not areas of the other party.
fn without_slits(p: Polygon<f64>) -> Polygon<f64> {
    // 1 km² at 48N is about 1.3e-4 square degrees.
    const MIN_HOLE_DEG2: f64 = 1.3e-4;
    let (outer, holes) = p.into_inner();
    let holes = holes
        .into_iter()
        .filter(|h| Polygon::new(h.clone(), vec![]).unsigned_area() >= MIN_HOLE_DEG2)
        .collect();
    Polygon::new(outer, holes)
}

/// The terms every built agreement shares: in effect from 2026-01-10 with no end, a 2 km
/// buffer, and withdrawal distances of half Minsk II's security zones (50/70/140 km) and its
/// 2015 addendum (15 km), as FORMATS section 3 gives them.
fn standard_terms(doc: &mut Value) {
    let meta = &mut doc["agreement"];
    meta["effective_from"] = json!("2026-01-10T00:00:00Z");
    meta["effective_until"] = Value::Null;
    meta["buffer_km"] = json!(2.0);
    meta["withdrawal_km"] = json!({"artillery_ge100": 25, "mlrs": 35, "heavy_mlrs": 70,
        "tactical_missile": 70, "tank": 15, "mortar": 15, "artillery_lt100": 15});
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn ring_json(r: &LineString<f64>) -> Value {
    Value::Array(
        r.0.iter()
            .map(|c| json!([round7(c.x), round7(c.y)]))
            .collect(),
    )
}

/// Full precision: rounding the output of boolean operations can make a ring touch itself.
fn ring_json_exact(r: &LineString<f64>) -> Value {
    Value::Array(r.0.iter().map(|c| json!([c.x, c.y])).collect())
}

fn polygon_json(p: &Polygon<f64>) -> Value {
    let mut rings = vec![ring_json(p.exterior())];
    rings.extend(p.interiors().iter().map(ring_json));
    json!({"type": "Polygon", "coordinates": rings})
}

/// Build the demo agreement from the derived contact-line file and the ADM1 boundaries.
/// Returns pretty GeoJSON text.
pub fn minsk(contact_line_geojson: &[u8], admin_geojson: &[u8]) -> Result<String, BuildError> {
    const CL: &str = "contact-line file";
    const ADM: &str = "admin boundaries";
    let cl: Value = serde_json::from_slice(contact_line_geojson).map_err(|e| err(CL, e))?;
    let adm: Value = serde_json::from_slice(admin_geojson).map_err(|e| err(ADM, e))?;
    let feature = |kind: &str| {
        cl["features"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["properties"]["kind"] == kind))
            .ok_or_else(|| err(CL, format!("no feature with properties.kind {kind:?}")))
    };
    let ordlo = polygons(&feature("ordlo_polygon")?["geometry"])
        .ok_or_else(|| err(CL, "ordlo_polygon is not a Polygon"))?;
    let line = ring(&feature("contact_line_approx")?["geometry"]["coordinates"])
        .ok_or_else(|| err(CL, "contact_line_approx is not a LineString"))?;
    let mut oblasts = Vec::new();
    for name in ["Donetsk Oblast", "Luhansk Oblast"] {
        let f = adm["features"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["properties"]["shapeName"] == name))
            .ok_or_else(|| err(ADM, format!("no feature named {name:?}")))?;
        oblasts.extend(
            polygons(&f["geometry"]).ok_or_else(|| err(ADM, format!("{name} has no polygon")))?,
        );
    }
    let two = oblasts
        .into_iter()
        .fold(MultiPolygon::new(vec![]), |acc, p| {
            acc.union(&MultiPolygon(vec![p]))
        });
    let ordlo = MultiPolygon(ordlo);
    // Slivers where the two drawings of the Russian border differ are dropped: each side keeps
    // its largest connected piece.
    // B is DeepState's ORDLO polygon as drawn (valid as it stands; it strays a few km² over the
    // Russian border, which no rule looks at). Clipping it to the oblasts would leave a pinched
    // ring where the two border drawings cross.
    let b = largest(ordlo.clone()).ok_or_else(|| err(CL, "ordlo_polygon is empty"))?;
    let a = largest(two.difference(&ordlo))
        .map(without_slits)
        .ok_or_else(|| err(ADM, "nothing left outside ORDLO"))?;

    let attribution = "Contact line and ORDLO: DeepStateMap, snapshot 2022-04-03 (via DanielRose2310/deepstatemaps-history), split as in shared/data/deepstate-frontline/PROVENANCE.md; oblast boundaries: © OpenStreetMap contributors / geoBoundaries UKR-ADM1 (ODbL 1.0)";
    let doc = json!({
        "type": "FeatureCollection",
        "agreement": {
            "id": "minsk-2022-demo",
            "name": "Demo ceasefire on the Minsk-era line of contact (Donetsk and Luhansk oblasts)",
            "parties": ["A", "B"],
            "party_names": {
                "A": "government-controlled areas of Donetsk and Luhansk oblasts before 24 February 2022",
                "B": "areas held by the other side before 24 February 2022 (ORDLO, as drawn by DeepStateMap)"
            },
            "attribution": attribution,
            "made_by": "truce agreement minsk"
        },
        "features": [
            {"type": "Feature", "properties": {"role": "ceasefire_line",
                "name": "Minsk-era line of contact (approximate, DeepStateMap 2022-04-03)"},
             "geometry": {"type": "LineString", "coordinates": ring_json(&line)}},
            {"type": "Feature", "properties": {"role": "control_area", "party": "A"},
             "geometry": polygon_json(&a)},
            {"type": "Feature", "properties": {"role": "control_area", "party": "B"},
             "geometry": polygon_json(&b)}
        ]
    });
    let mut doc = doc;
    standard_terms(&mut doc);
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|e| err(CL, e))
}

/// Which side a DeepStateMap feature's `properties.name` puts it on: `true` for areas held by
/// Russia (occupied since 2022, the 2014 areas, Crimea), `false` for everything else (liberated,
/// unknown status, Transnistria, points). Names are bilingual from late 2022
/// ("Окуповано /// Occupied"), Ukrainian only before.
pub fn deepstate_is_occupied(name: &str) -> bool {
    let n = name.to_lowercase();
    let held = ["occupied", "cadr", "окупован", "ордло", "крим"];
    let other = [
        "liberated",
        "звільнено",
        "unknown",
        "невідомий",
        "придністров",
    ];
    held.iter().any(|k| n.contains(k)) && !other.iter().any(|k| n.contains(k))
}

fn all_polygons(geometry: &Value, out: &mut Vec<Polygon<f64>>) {
    if geometry["type"] == "GeometryCollection" {
        for g in geometry["geometries"].as_array().into_iter().flatten() {
            all_polygons(g, out);
        }
    } else if let Some(ps) = polygons(geometry) {
        out.extend(ps);
    }
}

/// The polygons of a snapshot of occupied territory: DeepStateMap layers (features chosen by
/// [`deepstate_is_occupied`]) or layers whose every polygon is occupied territory (ISW, the
/// daily DeepState MultiPolygon), told apart by whether features carry a `name`.
pub fn occupied_polygons(snapshot_geojson: &[u8]) -> Result<Vec<Polygon<f64>>, BuildError> {
    const S: &str = "snapshot";
    let doc: Value = serde_json::from_slice(snapshot_geojson).map_err(|e| err(S, e))?;
    let features = doc["features"]
        .as_array()
        .ok_or_else(|| err(S, "not a FeatureCollection"))?;
    let mut out = Vec::new();
    for f in features {
        let keep = match f["properties"]["name"].as_str() {
            Some(name) => deepstate_is_occupied(name),
            None => true,
        };
        if keep {
            all_polygons(&f["geometry"], &mut out);
        }
    }
    if out.is_empty() {
        return Err(err(S, "no polygons of occupied territory"));
    }
    Ok(out)
}

/// Distance in degrees (planar, longitude scaled by cos(latitude)) from `p` to the nearest
/// segment of `index`'s rings; a grid of 0.1-degree cells holds the segments.
struct SegmentGrid {
    cells: std::collections::HashMap<(i32, i32), Vec<Segment>>,
}

type Segment = (Coord<f64>, Coord<f64>);

impl SegmentGrid {
    const CELL: f64 = 0.1;

    /// Each segment goes into the cells its pieces of at most half a cell cross: as many
    /// cells as its length needs, not the whole of its bounding box (quadratic for a long
    /// diagonal). `near` looks at the cells around a point, so that is enough.
    fn new(rings: impl Iterator<Item = LineString<f64>>) -> Self {
        let mut cells: std::collections::HashMap<(i32, i32), Vec<_>> = Default::default();
        let cell = |c: Coord<f64>| {
            (
                (c.x / Self::CELL).floor() as i32,
                (c.y / Self::CELL).floor() as i32,
            )
        };
        for r in rings {
            for w in r.0.windows(2) {
                let (a, b) = (w[0], w[1]);
                let steps = ((b.x - a.x).abs().max((b.y - a.y).abs()) / (0.5 * Self::CELL))
                    .ceil()
                    .max(1.0) as usize;
                for k in 0..steps {
                    let at = |t: f64| Coord {
                        x: a.x + (b.x - a.x) * t,
                        y: a.y + (b.y - a.y) * t,
                    };
                    let (p, q) = (
                        cell(at(k as f64 / steps as f64)),
                        cell(at((k + 1) as f64 / steps as f64)),
                    );
                    for i in p.0.min(q.0)..=p.0.max(q.0) {
                        for j in p.1.min(q.1)..=p.1.max(q.1) {
                            let segs = cells.entry((i, j)).or_default();
                            if segs.last() != Some(&(a, b)) {
                                segs.push((a, b));
                            }
                        }
                    }
                }
            }
        }
        SegmentGrid { cells }
    }

    /// Whether some segment lies within `d` degrees (at most one cell) of `p`.
    fn near(&self, p: Coord<f64>, d: f64) -> bool {
        let k = p.y.to_radians().cos();
        let (i, j) = (
            (p.x / Self::CELL).floor() as i32,
            (p.y / Self::CELL).floor() as i32,
        );
        for di in -1..=1 {
            for dj in -1..=1 {
                for (a, b) in self.cells.get(&(i + di, j + dj)).into_iter().flatten() {
                    let (ax, ay) = ((a.x - p.x) * k, a.y - p.y);
                    let (bx, by) = ((b.x - p.x) * k, b.y - p.y);
                    let (dx, dy) = (bx - ax, by - ay);
                    let len2 = dx * dx + dy * dy;
                    let t = if len2 > 0.0 {
                        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    if (ax + t * dx).hypot(ay + t * dy) <= d {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// An agreement whose line is the front of a snapshot of occupied territory: party `B` holds
/// the occupied polygons clipped to Ukraine (the ADM1 boundaries' union), party `A` the rest of
/// Ukraine, and the ceasefire line is the part of `B`'s boundary more than 2 km from Ukraine's
/// outer boundary (the front, not the state border or the coast), as a MultiLineString of the
/// pieces longer than 1 km. `id`, `name` and `attribution` go into the agreement's metadata.
pub fn occupation(
    occupied: Vec<Polygon<f64>>,
    admin_geojson: &[u8],
    id: &str,
    name: &str,
    attribution: &str,
) -> Result<String, BuildError> {
    const ADM: &str = "admin boundaries";
    let adm: Value = serde_json::from_slice(admin_geojson).map_err(|e| err(ADM, e))?;
    let mut oblasts = Vec::new();
    for f in adm["features"].as_array().into_iter().flatten() {
        all_polygons(&f["geometry"], &mut oblasts);
    }
    if oblasts.is_empty() {
        return Err(err(ADM, "no polygons"));
    }
    let ukraine = geo::unary_union(oblasts.iter());
    // Drop the slits between oblast drawings.
    let ukraine = MultiPolygon(ukraine.0.into_iter().map(without_slits).collect());
    let held = geo::unary_union(occupied.iter());
    let b = held.intersection(&ukraine);
    let a = ukraine.difference(&b);
    // Tiny slivers where the drawings of the border differ are not areas of either side.
    const MIN_DEG2: f64 = 1.3e-4;
    let keep = |m: MultiPolygon<f64>| {
        MultiPolygon(
            m.0.into_iter()
                .filter(|p| p.unsigned_area() >= MIN_DEG2)
                .map(without_slits)
                .collect::<Vec<_>>(),
        )
    };
    let (a, b) = (
        without_invalid_slivers(untouch(keep(a))),
        without_invalid_slivers(untouch(keep(b))),
    );
    if b.0.is_empty() {
        return Err(err(
            "snapshot",
            "the occupied polygons do not overlap Ukraine",
        ));
    }
    let border = SegmentGrid::new(
        ukraine
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior().clone()).chain(p.interiors().to_vec())),
    );
    // The other side, opened (shrunk then grown by about 1.5 km) to drop the thin slivers that
    // differing drawings of the coast leave between B and the sea: the front is where B meets
    // solid ground of A, not a coastline.
    use geo::Buffer;
    const OPEN_DEG: f64 = 0.0135;
    let a_solid = a.buffer(-OPEN_DEG).buffer(OPEN_DEG);
    let facing = SegmentGrid::new(
        a_solid
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior().clone()).chain(p.interiors().to_vec())),
    );
    // About 2 km in degrees of latitude.
    const NEAR_DEG: f64 = 0.018;
    let mut pieces: Vec<Vec<Coord<f64>>> = Vec::new();
    for p in &b.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            let front: Vec<bool> =
                r.0.iter()
                    .map(|c| !border.near(*c, NEAR_DEG) && facing.near(*c, 2.0 * NEAR_DEG))
                    .collect();
            let mut cur: Vec<Coord<f64>> = Vec::new();
            for (k, c) in r.0.iter().enumerate() {
                if front[k] {
                    cur.push(*c);
                } else if !cur.is_empty() {
                    pieces.push(std::mem::take(&mut cur));
                }
            }
            if !cur.is_empty() {
                pieces.push(cur);
            }
        }
    }
    // Over 1 km (about 0.009 degrees of latitude), measured crudely in degrees.
    let length = |l: &Vec<Coord<f64>>| -> f64 {
        l.windows(2)
            .map(|w| ((w[1].x - w[0].x) * w[0].y.to_radians().cos()).hypot(w[1].y - w[0].y))
            .sum()
    };
    let lines: Vec<Value> = pieces
        .iter()
        .filter(|l| l.len() >= 2 && length(l) >= 0.009)
        .map(|l| ring_json(&LineString::from(l.clone())))
        .collect();
    if lines.is_empty() {
        return Err(err("snapshot", "no front line away from the state border"));
    }
    let multi = |m: &MultiPolygon<f64>| {
        json!({"type": "MultiPolygon", "coordinates":
            m.0.iter().map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(ring_json_exact)
                    .collect::<Vec<_>>()
            }).collect::<Vec<_>>()})
    };
    let doc = json!({
        "type": "FeatureCollection",
        "agreement": {
            "id": id,
            "name": name,
            "parties": ["A", "B"],
            "party_names": {"A": "Ukrainian-controlled territory", "B": "Russian-held territory"},
            "attribution": attribution,
            "made_by": "truce agreement occupation"
        },
        "features": [
            {"type": "Feature", "properties": {"role": "ceasefire_line", "name": "front line"},
             "geometry": {"type": "MultiLineString", "coordinates": lines}},
            {"type": "Feature", "properties": {"role": "control_area", "party": "A"},
             "geometry": multi(&a)},
            {"type": "Feature", "properties": {"role": "control_area", "party": "B"},
             "geometry": multi(&b)}
        ]
    });
    let mut doc = doc;
    standard_terms(&mut doc);
    serde_json::to_string(&doc)
        .map(|s| s + "\n")
        .map_err(|e| err(ADM, e))
}

/// Split rings that touch themselves at a vertex: the boolean operations may return two lobes
/// joined at one point as one ring, which is not a valid polygon (OGC). Loops with the
/// exterior's winding become polygons of their own; loops with the other winding become holes.
fn untouch(m: MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::Contains;
    fn loops(r: &LineString<f64>) -> Vec<LineString<f64>> {
        let mut out = Vec::new();
        let mut path: Vec<Coord<f64>> = Vec::new();
        let mut at: std::collections::HashMap<(u64, u64), usize> = Default::default();
        let n = r.0.len().saturating_sub(1); // the closing vertex repeats the first
        for c in &r.0[..n] {
            let key = (c.x.to_bits(), c.y.to_bits());
            if let Some(&k) = at.get(&key) {
                let mut l: Vec<Coord<f64>> = path.split_off(k);
                for q in &l {
                    at.remove(&(q.x.to_bits(), q.y.to_bits()));
                }
                l.push(*c);
                if l.len() >= 4 {
                    out.push(LineString::from(l));
                }
            }
            at.insert(key, path.len());
            path.push(*c);
        }
        if path.len() >= 3 {
            let first = path[0];
            path.push(first);
            out.push(LineString::from(path));
        }
        out
    }
    fn signed(r: &LineString<f64>) -> f64 {
        Polygon::new(r.clone(), vec![]).signed_area()
    }
    let mut out = Vec::new();
    for p in m.0 {
        let (ext, holes) = p.into_inner();
        let sign = signed(&ext).signum();
        let mut outers: Vec<Polygon<f64>> = Vec::new();
        let mut inner: Vec<LineString<f64>> = Vec::new();
        for l in loops(&ext) {
            if signed(&l).signum() == sign {
                outers.push(Polygon::new(l, vec![]));
            } else {
                inner.push(l);
            }
        }
        for h in &holes {
            inner.extend(loops(h));
        }
        for h in inner {
            let probe = Polygon::new(h.clone(), vec![]);
            if let Some(o) = outers.iter_mut().find(|o| {
                o.exterior().0.len() > 3 && o.contains(&geo::Point::from(interior_point(&probe)))
            }) {
                o.interiors_push(h);
            }
        }
        out.extend(outers);
    }
    MultiPolygon(out)
}

/// A point strictly inside a ring's polygon (the centroid when it is inside, else a point near
/// the ring's first edge on its inner side).
fn interior_point(p: &Polygon<f64>) -> Coord<f64> {
    use geo::{Centroid, Contains};
    if let Some(c) = p.centroid()
        && p.contains(&c)
    {
        return c.0;
    }
    let r = &p.exterior().0;
    let (a, b) = (r[0], r[1]);
    let mid = Coord {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    };
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len = dx.hypot(dy).max(1e-12);
    for side in [1.0, -1.0] {
        let q = Coord {
            x: mid.x - side * dy / len * 1e-6,
            y: mid.y + side * dx / len * 1e-6,
        };
        if p.contains(&geo::Point::from(q)) {
            return q;
        }
    }
    mid
}

/// Drop invalid polygons under about 50 km²: slivers between two drawings of the state border
/// that the boolean operations return as self-crossing rings. Large invalid polygons stay (and
/// the agreement check reports them).
fn without_invalid_slivers(m: MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::Validation;
    // 50 km² at 48 N is about 6.7e-3 square degrees.
    const SLIVER_DEG2: f64 = 6.7e-3;
    MultiPolygon(
        m.0.into_iter()
            .filter(|p| p.unsigned_area() >= SLIVER_DEG2 || p.is_valid())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn square(x0: f64, y0: f64, d: f64) -> Value {
        json!([[
            [x0, y0],
            [x0 + d, y0],
            [x0 + d, y0 + d],
            [x0, y0 + d],
            [x0, y0]
        ]])
    }

    fn contact_line(ordlo: Value) -> Vec<u8> {
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"kind": "ordlo_polygon"},
             "geometry": {"type": "Polygon", "coordinates": ordlo}},
            {"type": "Feature", "properties": {"kind": "contact_line_approx"},
             "geometry": {"type": "LineString", "coordinates": [[38.0, 47.5], [38.0, 48.5]]}}]})
        .to_string()
        .into_bytes()
    }

    fn admin(names: &[&str]) -> Vec<u8> {
        let features: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                json!({"type": "Feature", "properties": {"shapeName": n},
                       "geometry": {"type": "Polygon", "coordinates": square(37.0, 47.0 + i as f64, 1.0)}})
            })
            .collect();
        json!({"type": "FeatureCollection", "features": features})
            .to_string()
            .into_bytes()
    }

    fn message<T: std::fmt::Debug>(r: Result<T, BuildError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn malformed_snapshots_are_refused_with_the_reason() {
        assert!(message(occupied_polygons(b"")).starts_with("snapshot: EOF"));
        assert_eq!(
            message(occupied_polygons(br#"{"type": "Feature"}"#)),
            "snapshot: not a FeatureCollection"
        );
        // Only liberated areas, and an occupied one that is a point, not a polygon.
        let doc = json!({"type": "FeatureCollection", "features": [
            {"properties": {"name": "Liberated"}, "geometry": {"type": "Polygon", "coordinates": square(37.0, 48.0, 0.1)}},
            {"properties": {"name": "Occupied"}, "geometry": {"type": "Point", "coordinates": [37.0, 48.0]}},
            {"properties": {"name": "Occupied"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0, "x"]]]}}]});
        assert_eq!(
            message(occupied_polygons(doc.to_string().as_bytes())),
            "snapshot: no polygons of occupied territory"
        );
        // Nameless features (ISW, daily DeepState) are all occupied territory.
        let doc = json!({"type": "FeatureCollection", "features": [
            {"geometry": {"type": "MultiPolygon", "coordinates": [square(37.0, 48.0, 0.1), square(38.0, 48.0, 0.1)]}}]});
        assert_eq!(
            occupied_polygons(doc.to_string().as_bytes()).unwrap().len(),
            2
        );
    }

    #[test]
    fn positions_off_the_globe_are_not_polygons_and_long_edges_stay_cheap() {
        // A fuzzed snapshot: one longitude of 11,138 degrees made the grid below cover its
        // bounding box cell by cell (seconds; minutes for larger numbers).
        let doc = json!({"type": "FeatureCollection", "features": [
            {"properties": {"name": "Occupied"}, "geometry": {"type": "Polygon", "coordinates":
                [[[37.6, 47.2], [11138.5, 48.8], [37.6, 48.8], [37.6, 47.2]]]}}]});
        assert_eq!(
            message(occupied_polygons(doc.to_string().as_bytes())),
            "snapshot: no polygons of occupied territory"
        );
        // A diagonal across the whole globe: its bounding box is 6.5 million cells; the grid
        // holds only those along it, and still finds it.
        let grid = SegmentGrid::new(std::iter::once(LineString::from(vec![
            (-180.0, -90.0),
            (180.0, 90.0),
        ])));
        assert!(grid.cells.len() < 30_000, "{} cells", grid.cells.len());
        for x in [-179.95, -90.0, 0.0, 33.37, 90.0, 179.95] {
            assert!(
                grid.near(Coord { x, y: x / 2.0 }, 0.001),
                "on the line at {x}"
            );
            assert!(
                !grid.near(
                    Coord {
                        x,
                        y: x / 2.0 + 0.5
                    },
                    0.05
                ),
                "off the line at {x}"
            );
        }
    }

    #[test]
    fn minsk_names_the_file_and_the_missing_part() {
        let line = contact_line(square(37.5, 47.2, 1.0));
        let both = admin(&["Donetsk Oblast", "Luhansk Oblast"]);
        assert!(message(minsk(b"not json", &both)).starts_with("contact-line file: "));
        assert!(message(minsk(&line, b"[1,")).starts_with("admin boundaries: "));
        assert_eq!(
            message(minsk(&line, &admin(&["Donetsk Oblast"]))),
            "admin boundaries: no feature named \"Luhansk Oblast\""
        );
        let no_line = json!({"type": "FeatureCollection", "features": []}).to_string();
        assert_eq!(
            message(minsk(no_line.as_bytes(), &both)),
            "contact-line file: no feature with properties.kind \"ordlo_polygon\""
        );
        // ORDLO covering both oblasts leaves party A nothing.
        let all = contact_line(square(36.0, 46.0, 4.0));
        assert_eq!(
            message(minsk(&all, &both)),
            "admin boundaries: nothing left outside ORDLO"
        );
    }

    #[test]
    fn minsk_on_small_shapes_is_an_agreement_that_reads_back() {
        // Two stacked one-degree oblasts, ORDLO over the eastern half of both.
        let text = minsk(
            &contact_line(json!([[
                [37.5, 47.0],
                [38.0, 47.0],
                [38.0, 49.0],
                [37.5, 49.0],
                [37.5, 47.0]
            ]])),
            &admin(&["Donetsk Oblast", "Luhansk Oblast"]),
        )
        .unwrap();
        let agreement = truce_model::Agreement::from_json(text.as_bytes()).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let area = |party: &str| {
            let f = doc["features"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["properties"]["party"] == party)
                .unwrap();
            let p = &polygons(&f["geometry"]).unwrap()[0];
            p.unsigned_area()
        };
        // A keeps the western half of the two squares, B the eastern: one square degree each.
        assert!((area("A") - 1.0).abs() < 1e-9, "{}", area("A"));
        assert!((area("B") - 1.0).abs() < 1e-9, "{}", area("B"));
        assert_eq!(agreement.meta.parties, ["A", "B"]);
        assert_eq!(agreement.meta.buffer_km, 2.0);
        assert_eq!(agreement.features.len(), 3);
    }
}
