//! The agreement (FORMATS section 3): a GeoJSON FeatureCollection with a foreign member
//! `agreement` holding the parties, dates and distances.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::WeaponClass;
use crate::geometry::{Geometry, GeometryError};
use crate::time::UtcNanos;

/// The `agreement` foreign member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementMeta {
    /// Stable identifier.
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// The parties, e.g. `["A", "B"]`.
    pub parties: Vec<String>,
    /// Start of the ceasefire (inclusive).
    pub effective_from: UtcNanos,
    /// End (exclusive), `null` for open-ended.
    #[serde(default)]
    pub effective_until: Option<UtcNanos>,
    /// Half-width of the buffer zone around the line, kilometres.
    #[serde(default)]
    pub buffer_km: f64,
    /// Per weapon class: distance from the line, kilometres, inside which a party must not hold
    /// that class.
    #[serde(default)]
    pub withdrawal_km: BTreeMap<WeaponClass, f64>,
}

/// The role of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The line of contact (LineString or MultiLineString).
    CeasefireLine,
    /// A party's control area (Polygon or MultiPolygon, with `party`).
    ControlArea,
    /// An explicit buffer zone polygon.
    BufferZone,
    /// No military presence at all (with `name`).
    ExclusionZone,
}

/// One feature of the agreement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementFeature {
    /// Its role.
    pub role: Role,
    /// The party, for control areas.
    pub party: Option<String>,
    /// The name, for exclusion zones.
    pub name: Option<String>,
    /// The geometry.
    pub geometry: Geometry,
}

/// A parsed and checked agreement.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Parties, dates, distances.
    pub meta: AgreementMeta,
    /// Lines and areas in file order.
    pub features: Vec<AgreementFeature>,
}

/// Why an agreement was refused. Feature errors name the feature by its index in `features`.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// Not JSON or not a FeatureCollection.
    #[error("agreement is not a GeoJSON FeatureCollection: {0}")]
    // The parser's message is in this one's (where it is wanted: the error's own text), so it
    // is not also offered as the source: `{:#}` would print it twice.
    Json(serde_json::Error),
    /// The `agreement` member is missing or wrong.
    #[error("agreement member: {0}")]
    Meta(String),
    /// A feature is wrong.
    #[error("feature {index}: {problem}")]
    Feature {
        /// Index in `features`.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// No `ceasefire_line` feature.
    #[error("agreement has no ceasefire_line feature")]
    NoLine,
}

#[derive(Deserialize)]
struct RawCollection {
    #[serde(rename = "type")]
    kind: String,
    agreement: Option<serde_json::Value>,
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    properties: Option<BTreeMap<String, serde_json::Value>>,
    geometry: Option<serde_json::Value>,
}

impl Agreement {
    /// Parse and check an `agreement.geojson`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, AgreementError> {
        let raw: RawCollection = serde_json::from_slice(bytes).map_err(AgreementError::Json)?;
        if raw.kind != "FeatureCollection" {
            return Err(AgreementError::Meta(format!(
                "type is {:?}, expected \"FeatureCollection\"",
                raw.kind
            )));
        }
        let meta_value = raw
            .agreement
            .ok_or_else(|| AgreementError::Meta("missing foreign member `agreement`".into()))?;
        let meta: AgreementMeta =
            serde_json::from_value(meta_value).map_err(|e| AgreementError::Meta(e.to_string()))?;
        validate_meta(&meta)?;
        let parties: BTreeSet<&str> = meta.parties.iter().map(String::as_str).collect();

        let mut features = Vec::with_capacity(raw.features.len());
        for (index, f) in raw.features.into_iter().enumerate() {
            let bad = |problem: String| AgreementError::Feature { index, problem };
            let props = f.properties.unwrap_or_default();
            let role_value = props
                .get("role")
                .ok_or_else(|| bad("properties.role is missing".into()))?;
            let role: Role = serde_json::from_value(role_value.clone()).map_err(|_| {
                bad(format!(
                    "unknown role {role_value}; expected ceasefire_line, control_area, buffer_zone or exclusion_zone"
                ))
            })?;
            let text = |k: &str| props.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let geometry: Geometry =
                serde_json::from_value(f.geometry.ok_or_else(|| bad("geometry is null".into()))?)
                    .map_err(|e| bad(format!("geometry: {e}")))?;
            geometry
                .validate()
                .map_err(|e: GeometryError| bad(format!("geometry: {e}")))?;
            let party = text("party");
            match role {
                Role::CeasefireLine => {
                    if !matches!(
                        geometry,
                        Geometry::LineString(_) | Geometry::MultiLineString(_)
                    ) {
                        return Err(bad(format!(
                            "ceasefire_line must be a LineString or MultiLineString, not {}",
                            geometry.type_name()
                        )));
                    }
                }
                Role::ControlArea | Role::BufferZone | Role::ExclusionZone => {
                    if !matches!(geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) {
                        return Err(bad(format!(
                            "{role:?} must be a Polygon or MultiPolygon, not {}",
                            geometry.type_name()
                        )));
                    }
                }
            }
            if role == Role::ControlArea {
                match &party {
                    Some(p) if parties.contains(p.as_str()) => {}
                    Some(p) => {
                        return Err(bad(format!(
                            "party {p:?} is not one of the agreement's parties"
                        )));
                    }
                    None => return Err(bad("control_area without properties.party".into())),
                }
            }
            features.push(AgreementFeature {
                role,
                party,
                name: text("name"),
                geometry,
            });
        }
        if !features.iter().any(|f| f.role == Role::CeasefireLine) {
            return Err(AgreementError::NoLine);
        }
        Ok(Agreement { meta, features })
    }

    /// Whether `t` is within the effective period.
    pub fn in_effect_at(&self, t: UtcNanos) -> bool {
        self.meta.effective_from <= t && self.meta.effective_until.is_none_or(|u| t < u)
    }
}

fn validate_meta(m: &AgreementMeta) -> Result<(), AgreementError> {
    let bad = |s: String| Err(AgreementError::Meta(s));
    if m.id.is_empty() {
        return bad("id is empty".into());
    }
    if m.parties.len() < 2 {
        return bad(format!(
            "needs at least two parties, has {}",
            m.parties.len()
        ));
    }
    let unique: BTreeSet<_> = m.parties.iter().collect();
    if unique.len() != m.parties.len() {
        return bad("parties are not unique".into());
    }
    if let Some(u) = m.effective_until
        && u <= m.effective_from
    {
        return bad("effective_until is not after effective_from".into());
    }
    if !(m.buffer_km.is_finite() && m.buffer_km >= 0.0) {
        return bad(format!(
            "buffer_km {} must be a non-negative number",
            m.buffer_km
        ));
    }
    for (class, km) in &m.withdrawal_km {
        if !(km.is_finite() && *km >= 0.0) {
            return bad(format!(
                "withdrawal_km for {class:?} is {km}, must be non-negative"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{"type": "FeatureCollection",
 "agreement": {"id": "demo-1", "name": "demo", "parties": ["A", "B"],
   "effective_from": "2026-01-10T00:00:00Z", "effective_until": null,
   "buffer_km": 2.0,
   "withdrawal_km": {"artillery_ge100": 25, "mlrs": 35, "heavy_mlrs": 70,
                     "tactical_missile": 70, "tank": 15, "mortar": 15, "artillery_lt100": 15}},
 "features": [
   {"type": "Feature", "properties": {"role": "ceasefire_line"}, "geometry": {"type": "LineString", "coordinates": [[37.5, 48.0], [37.9, 48.4]]}},
   {"type": "Feature", "properties": {"role": "control_area", "party": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[37.0,48.0],[37.5,48.0],[37.9,48.4],[37.0,48.4],[37.0,48.0]]]}}
 ]}"#;

    #[test]
    fn the_formats_example_parses() {
        let a = Agreement::from_json(DEMO.as_bytes()).unwrap();
        assert_eq!(a.meta.parties, ["A", "B"]);
        assert_eq!(a.meta.withdrawal_km[&WeaponClass::HeavyMlrs], 70.0);
        assert_eq!(a.features.len(), 2);
        assert!(a.in_effect_at(UtcNanos::parse("2026-01-10T00:00:00Z").unwrap()));
        assert!(!a.in_effect_at(UtcNanos::parse("2026-01-09T23:59:59Z").unwrap()));
    }

    #[test]
    fn faults_name_the_feature() {
        let unknown_role = DEMO.replace("\"role\": \"control_area\"", "\"role\": \"dmz\"");
        let err = Agreement::from_json(unknown_role.as_bytes()).unwrap_err();
        assert!(
            matches!(err, AgreementError::Feature { index: 1, .. }),
            "{err}"
        );
        let stranger = DEMO.replace("\"party\": \"A\"", "\"party\": \"C\"");
        assert!(matches!(
            Agreement::from_json(stranger.as_bytes()),
            Err(AgreementError::Feature { index: 1, .. })
        ));
        let no_line = DEMO.replace("ceasefire_line", "buffer_zone");
        assert!(matches!(
            Agreement::from_json(no_line.as_bytes()),
            Err(AgreementError::Feature { index: 0, .. })
        ));
        assert!(Agreement::from_json(b"").is_err());
        let one_party = DEMO.replace("[\"A\", \"B\"]", "[\"A\"]");
        assert!(matches!(
            Agreement::from_json(one_party.as_bytes()),
            Err(AgreementError::Meta(_))
        ));
    }
}
