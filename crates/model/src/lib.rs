//! The nouns of Truce, as typed Rust with serde, following `shared/spec/FORMATS.md` sections 1-3.
//!
//! Units are in every name (`alt_m`, `timing_sigma_s`); the wire names of FORMATS are kept with
//! `#[serde(rename)]`. Times are [`UtcNanos`], integer nanoseconds UTC.
//!
//! ```
//! use truce_model::{Observation, ObservationBody};
//! let payload = br#"{"v":1,"sensor":"MET-1","seq":1,"time":"2026-01-10T00:00:00Z",
//!   "kind":"met","temperature_c":4.5,"wind_speed_mps":3.0,"wind_from_deg":270}"#;
//! let obs = Observation::from_json(payload).unwrap();
//! assert!(matches!(obs.body, ObservationBody::Met(_)));
//! ```

pub mod agreement;
pub mod geometry;
pub mod observation;
pub mod registry;
pub mod time;

use serde::{Deserialize, Serialize};

pub use agreement::{Agreement, AgreementError, AgreementFeature, AgreementMeta, Role};
pub use geometry::{Geometry, GeometryError, LonLat};
pub use observation::{
    AcousticPick, DroneCoverage, DroneDetection, FireConfidence, GroundFix, KINDS, Met,
    Observation, ObservationBody, PAYLOAD_VERSION, PayloadError, Projectile, RadarTrack, SarChange,
    SensorStatus, Signal, ThermalAnomaly, TrackPoint,
};
pub use registry::{Jwk, RegistryError, Sensor, SensorKind, SensorRegistry};
pub use time::{TimeParseError, UtcNanos};

/// A WGS84 position: latitude and longitude in degrees, altitude in metres above the ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Latitude north, degrees.
    #[serde(rename = "lat")]
    pub lat_deg: f64,
    /// Longitude east, degrees.
    #[serde(rename = "lon")]
    pub lon_deg: f64,
    /// Altitude above the WGS84 ellipsoid, metres (0 when not given).
    #[serde(default)]
    pub alt_m: f64,
}

impl Position {
    /// Check ranges: latitude within ±90, longitude within ±180, altitude finite.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.lat_deg.is_finite() && (-90.0..=90.0).contains(&self.lat_deg)) {
            return Err(format!("latitude {} is not in -90..90", self.lat_deg));
        }
        if !(self.lon_deg.is_finite() && (-180.0..=180.0).contains(&self.lon_deg)) {
            return Err(format!("longitude {} is not in -180..180", self.lon_deg));
        }
        if !self.alt_m.is_finite() {
            return Err(format!("altitude {} is not finite", self.alt_m));
        }
        Ok(())
    }
}

/// Weapon classes of FORMATS section 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeaponClass {
    /// Rifles and machine guns.
    SmallArms,
    /// Mortars.
    Mortar,
    /// Guns under 100 mm.
    #[serde(rename = "artillery_lt100")]
    ArtilleryLt100,
    /// Guns and howitzers of 100 mm and above.
    #[serde(rename = "artillery_ge100")]
    ArtilleryGe100,
    /// 122 mm class multiple rocket launchers.
    Mlrs,
    /// 220/300 mm class multiple rocket launchers.
    HeavyMlrs,
    /// Tactical ballistic missiles.
    TacticalMissile,
    /// Tanks.
    Tank,
    /// Armoured personnel carriers.
    Apc,
    /// Air-defence systems.
    AirDefense,
    /// People.
    Personnel,
    /// A crater.
    Crater,
    /// Not classified.
    Unknown,
}
