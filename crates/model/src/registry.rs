//! The sensor registry (FORMATS section 1).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::Position;
use crate::time::UtcNanos;

/// What a sensor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Microphone or infrasound station or array.
    Acoustic,
    /// Weapon-locating radar.
    Radar,
    /// Drone.
    Drone,
    /// Satellite.
    Satellite,
    /// A node that re-signs an unsigned external feed (e.g. NASA FIRMS).
    Gateway,
    /// Weather station.
    Met,
}

/// A public key as a JSON Web Key (RFC 8037: `kty` OKP, `crv` Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// Public key, base64url without padding, 32 bytes.
    pub x: String,
}

impl Jwk {
    /// An Ed25519 JWK for the given public key bytes.
    pub fn ed25519(public: &[u8; 32]) -> Self {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(public),
        }
    }

    /// The 32 public-key bytes, after checking `kty`, `crv` and the encoding.
    pub fn ed25519_public_bytes(&self) -> Result<[u8; 32], String> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(format!(
                "key must be kty OKP, crv Ed25519 (RFC 8037), not {}/{}",
                self.kty, self.crv
            ));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(self.x.as_bytes())
            .map_err(|e| format!("key x is not base64url without padding: {e}"))?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| format!("key x must be 32 bytes, is {}", bytes.len()))
    }
}

/// One registered sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    /// Registry id; the `kid` of its envelopes.
    pub id: String,
    /// What it is.
    pub kind: SensorKind,
    /// Contributing nation or organisation. Observations are independent only across owners.
    pub owner: String,
    /// Public key.
    pub key: Jwk,
    /// Fixed position; absent for mobile sensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// One-sigma clock uncertainty, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_sigma_s: Option<f64>,
    /// Start of the active period (inclusive); absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<UtcNanos>,
    /// End of the active period (exclusive); `null` means open.
    #[serde(default)]
    pub active_until: Option<UtcNanos>,
}

impl Sensor {
    /// Whether the sensor is active at `t`: `active_from <= t < active_until`.
    pub fn active_at(&self, t: UtcNanos) -> bool {
        self.active_from.is_none_or(|f| f <= t) && self.active_until.is_none_or(|u| t < u)
    }
}

/// The registry file: `{"sensors": [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SensorRegistry {
    /// All sensors, in file order.
    pub sensors: Vec<Sensor>,
}

/// Why a registry was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Not JSON, or not of the registry's shape.
    #[error("registry is not valid JSON of the registry shape: {0}")]
    // The parser's message is in this one's (where it is wanted: the error's own text), so it
    // is not also offered as the source: `{:#}` would print it twice.
    Json(serde_json::Error),
    /// Two sensors share an id.
    #[error("sensor id {0:?} appears more than once")]
    DuplicateId(String),
    /// A sensor's fields are wrong.
    #[error("sensor {id:?}: {problem}")]
    Sensor {
        /// The sensor's id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

impl SensorRegistry {
    /// Parse and validate a registry.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RegistryError> {
        let reg: SensorRegistry = serde_json::from_slice(bytes).map_err(RegistryError::Json)?;
        reg.validate()?;
        Ok(reg)
    }

    /// Check ids are unique and non-empty, keys decode, positions and sigmas are in range.
    pub fn validate(&self) -> Result<(), RegistryError> {
        let mut seen = BTreeMap::new();
        for s in &self.sensors {
            let bad = |problem: String| RegistryError::Sensor {
                id: s.id.clone(),
                problem,
            };
            if s.id.is_empty() {
                return Err(bad("empty id".into()));
            }
            if seen.insert(s.id.as_str(), ()).is_some() {
                return Err(RegistryError::DuplicateId(s.id.clone()));
            }
            s.key.ed25519_public_bytes().map_err(bad)?;
            if let Some(p) = &s.position {
                p.validate().map_err(|e| bad(format!("position: {e}")))?;
            }
            if let Some(sd) = s.timing_sigma_s
                && !(sd.is_finite() && sd >= 0.0)
            {
                return Err(bad(format!("timing_sigma_s {sd} must be non-negative")));
            }
            if let (Some(f), Some(u)) = (s.active_from, s.active_until)
                && u <= f
            {
                return Err(bad("active_until is not after active_from".into()));
            }
        }
        Ok(())
    }

    /// Look a sensor up by id (linear; build a map for hot paths).
    pub fn get(&self, id: &str) -> Option<&Sensor> {
        self.sensors.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(extra: &str) -> String {
        format!(
            r#"{{"sensors":[{{"id":"AC-017","kind":"acoustic","owner":"NO",
            "key":{{"kty":"OKP","crv":"Ed25519","x":"{}"}},
            "position":{{"lat":48.1,"lon":37.7,"alt_m":180.0}},"timing_sigma_s":0.001,
            "active_from":"2026-01-01T00:00:00Z","active_until":null{extra}}}]}}"#,
            URL_SAFE_NO_PAD.encode([7u8; 32])
        )
    }

    #[test]
    fn the_formats_example_parses() {
        let reg = SensorRegistry::from_json(registry("").as_bytes()).unwrap();
        let s = &reg.sensors[0];
        assert_eq!(s.kind, SensorKind::Acoustic);
        assert_eq!(s.key.ed25519_public_bytes().unwrap(), [7u8; 32]);
        assert!(s.active_at(UtcNanos::parse("2026-02-01T00:00:00Z").unwrap()));
        assert!(!s.active_at(UtcNanos::parse("2025-12-31T23:59:59Z").unwrap()));
    }

    #[test]
    fn bad_registries_name_the_sensor() {
        let mut dup: serde_json::Value = serde_json::from_str(&registry("")).unwrap();
        let first = dup["sensors"][0].clone();
        dup["sensors"].as_array_mut().unwrap().push(first);
        assert!(matches!(
            SensorRegistry::from_json(dup.to_string().as_bytes()),
            Err(RegistryError::DuplicateId(id)) if id == "AC-017"
        ));
        let bad_key = registry("").replace("Ed25519", "X25519");
        let err = SensorRegistry::from_json(bad_key.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("AC-017"), "{err}");
        let bad_pos = registry("").replace("48.1", "148.1");
        assert!(SensorRegistry::from_json(bad_pos.as_bytes()).is_err());
        assert!(SensorRegistry::from_json(b"not json").is_err());
    }
}
