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

fn ring(v: &Value) -> Option<LineString<f64>> {
    let pts = v.as_array()?;
    let coords: Option<Vec<Coord<f64>>> = pts
        .iter()
        .map(|p| {
            let a = p.as_array()?;
            Some(Coord {
                x: a.first()?.as_f64()?,
                y: a.get(1)?.as_f64()?,
            })
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
            "effective_from": "2026-01-10T00:00:00Z",
            "effective_until": null,
            "buffer_km": 2.0,
            "withdrawal_km": {"artillery_ge100": 25, "mlrs": 35, "heavy_mlrs": 70,
                "tactical_missile": 70, "tank": 15, "mortar": 15, "artillery_lt100": 15},
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
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|e| err(CL, e))
}
