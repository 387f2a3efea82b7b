//! Events as GeoJSON (FORMATS section 4 shape).

use rayon::prelude::*;
use serde_json::{Value, json};
use truce_model::SensorRegistry;

use crate::{Event, EventKind, corroboration};

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// One event as a GeoJSON Feature. `party`, `p_party` and `grade` are filled by the assessment
/// stage; here they are `null`.
pub fn feature(e: &Event, registry: &SensorRegistry) -> Value {
    let (a, b, az) =
        truce_locate::linalg::ellipse(e.cov[0], e.cov[1], e.cov[2], truce_locate::CHI2_2_95);
    let (n, owners, kinds) = corroboration(e, registry);
    let mut props = json!({
        "id": e.id,
        "type": match e.kind { EventKind::Firing => "firing", EventKind::Impact => "impact" },
        "party": null,
        "p_party": null,
        "grade": null,
        "time": e.time.to_string(),
        "time_end": e.time_end.to_string(),
        "weapon_class": e.weapon_class,
        "ellipse95": {"semi_major_m": round(a, 1), "semi_minor_m": round(b, 1), "azimuth_deg": round(az, 1)},
        "impact": null,
        "evidence": e.evidence.iter().map(|r| json!({"leaf_index": r.leaf_index, "leaf_hash": r.leaf_hash, "sensor": r.sensor, "kind": r.kind})).collect::<Vec<_>>(),
        "corroboration": {"sensors": n, "owners": owners, "kinds": kinds},
        "method": e.method,
    });
    if let Some(c) = e.crb_m {
        props["crb_m"] = json!(round(c, 1));
    }
    if let Some((picks, rms, chi)) = e.fit {
        props["picks"] = json!(picks);
        props["rms_s"] = json!(round(rms, 4));
        props["chi2_dof"] = json!(round(chi, 2));
    }
    json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(e.pos.lon_deg, 6), round(e.pos.lat_deg, 6)]},
        "properties": props})
}

/// `events.geojson`.
pub fn events_geojson(events: &[Event], registry: &SensorRegistry) -> Value {
    json!({"type": "FeatureCollection", "features": events.par_iter().map(|e| feature(e, registry)).collect::<Vec<_>>()})
}

/// One finding as a GeoJSON Feature (FORMATS section 4).
pub fn finding_feature(f: &crate::Finding, registry: &SensorRegistry) -> Value {
    let ell = |c: &[f64; 3]| {
        let (a, b, az) = truce_locate::linalg::ellipse(c[0], c[1], c[2], truce_locate::CHI2_2_95);
        json!({"semi_major_m": round(a, 1), "semi_minor_m": round(b, 1), "azimuth_deg": round(az, 1)})
    };
    let sensors: std::collections::BTreeSet<&str> =
        f.evidence.iter().map(|r| r.sensor.as_str()).collect();
    let owners: std::collections::BTreeSet<String> = sensors
        .iter()
        .filter_map(|s| registry.get(s).map(|x| x.owner.clone()))
        .collect();
    let kinds: std::collections::BTreeSet<&str> =
        f.evidence.iter().map(|r| r.kind.as_str()).collect();
    let mut props = json!({
        "id": f.id,
        "type": f.kind,
        "party": f.party,
        "p_party": f.p_party.map(|p| round(p, 3)),
        "grade": f.grade,
        "time": f.time.to_string(),
        "time_end": f.time_end.to_string(),
        "weapon_class": f.weapon_class,
        "ellipse95": ell(&f.cov),
        "impact": f.impact.as_ref().map(|im| json!({"lat": round(im.pos.lat_deg, 6), "lon": round(im.pos.lon_deg, 6),
            "time": im.time.to_string(), "ellipse95": ell(&im.cov)})),
        "evidence": f.evidence.iter().map(|r| json!({"leaf_index": r.leaf_index, "leaf_hash": r.leaf_hash, "sensor": r.sensor, "kind": r.kind})).collect::<Vec<_>>(),
        "corroboration": {"sensors": sensors.len(), "owners": owners, "kinds": kinds},
        "method": f.method,
    });
    if let Some(d) = f.distance_to_line_m {
        props["distance_to_line_km"] = json!(round(d / 1000.0, 3));
    }
    json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(f.pos.lon_deg, 6), round(f.pos.lat_deg, 6)]},
        "properties": props})
}

/// `violations.geojson`.
pub fn violations_geojson(findings: &[crate::Finding], registry: &SensorRegistry) -> Value {
    json!({"type": "FeatureCollection", "features": findings.par_iter().map(|f| finding_feature(f, registry)).collect::<Vec<_>>()})
}

/// The text of `events.geojson`: `serde_json::to_string_pretty(&events_geojson(..))`, byte for
/// byte, with the features built, printed and freed on all cores (`collection_text`).
pub fn events_geojson_text(
    events: &[Event],
    registry: &SensorRegistry,
) -> Result<String, serde_json::Error> {
    collection_text(events.par_iter().map(|e| feature(e, registry)))
}

/// The text of `violations.geojson`, as `events_geojson_text`.
pub fn violations_geojson_text(
    findings: &[crate::Finding],
    registry: &SensorRegistry,
) -> Result<String, serde_json::Error> {
    collection_text(findings.par_iter().map(|f| finding_feature(f, registry)))
}

/// A FeatureCollection of `features` as `serde_json::to_string_pretty` prints it (members in
/// key order, two spaces a level), each feature printed on its own on all cores and indented
/// two levels, line by line: JSON strings escape their newlines, so every line break in a
/// feature's text is one the printer made. By hand because serde_json prints a value on one
/// thread, and a day's two collections (75 MB) took a second to print and free that way.
fn collection_text(
    features: impl IndexedParallelIterator<Item = Value>,
) -> Result<String, serde_json::Error> {
    let parts: Vec<String> = features
        .map(|f| {
            let text = serde_json::to_string_pretty(&f)?;
            let mut out = String::with_capacity(text.len() + text.len() / 8);
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str("    ");
                out.push_str(line);
            }
            Ok(out)
        })
        .collect::<Result<_, serde_json::Error>>()?;
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 2).sum::<usize>() + 64);
    out.push_str("{\n  \"features\": [");
    if !parts.is_empty() {
        for (i, p) in parts.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(p);
        }
        out.push_str("\n  ");
    }
    out.push_str("],\n  \"type\": \"FeatureCollection\"\n}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collection's text is serde_json's pretty print of the same value, empty or not,
    /// with nested objects, arrays, empty ones and escaped newlines in strings.
    #[test]
    fn collection_text_is_the_pretty_print() {
        let feature = |i: usize| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.5, 48.25]},
                "properties": {"id": format!("e{i}"), "note": "two\nlines \"quoted\"", "empty": [],
                "none": {}, "n": i, "x": null, "list": [{"a": 1}, [2, 3]]}})
        };
        for n in [0, 1, 3] {
            let features: Vec<Value> = (0..n).map(feature).collect();
            let want = serde_json::to_string_pretty(
                &json!({"type": "FeatureCollection", "features": features.clone()}),
            )
            .unwrap();
            assert_eq!(
                collection_text(features.into_par_iter()).unwrap(),
                want,
                "{n} features"
            );
        }
    }
}
