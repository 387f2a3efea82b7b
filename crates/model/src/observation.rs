//! Observation payloads (FORMATS section 2): the JSON inside each signed envelope.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::geometry::{Geometry, GeometryError};
use crate::time::UtcNanos;
use crate::{Position, WeaponClass};

/// The payload format version this build reads.
pub const PAYLOAD_VERSION: u32 = 1;

/// One observation: the common fields and the kind-specific body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// Payload format version (`1`).
    pub v: u32,
    /// Registry id of the sensor that made it; equals the envelope's `kid`.
    pub sensor: String,
    /// Per-sensor sequence number, strictly increasing.
    pub seq: u64,
    /// When the observed thing happened (arrival time for a pick).
    pub time: UtcNanos,
    /// What was observed.
    #[serde(flatten)]
    pub body: ObservationBody,
}

/// The kind-specific part of an observation, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObservationBody {
    /// An impulsive arrival at an acoustic sensor.
    AcousticPick(AcousticPick),
    /// A weapon-locating radar's estimate of one projectile.
    RadarTrack(RadarTrack),
    /// An object seen in drone imagery.
    DroneDetection(DroneDetection),
    /// The ground a drone watched, and for how long.
    DroneCoverage(DroneCoverage),
    /// A satellite active-fire pixel (NASA FIRMS semantics).
    ThermalAnomaly(ThermalAnomaly),
    /// A radar-imagery change detection.
    SarChange(SarChange),
    /// Surface weather at a station.
    Met(Met),
    /// A heartbeat.
    SensorStatus(SensorStatus),
}

/// The `kind` strings, in the order of FORMATS section 2.
pub const KINDS: [&str; 8] = [
    "acoustic_pick",
    "radar_track",
    "drone_detection",
    "drone_coverage",
    "thermal_anomaly",
    "sar_change",
    "met",
    "sensor_status",
];

impl ObservationBody {
    /// The `kind` string of this body.
    pub fn kind(&self) -> &'static str {
        match self {
            ObservationBody::AcousticPick(_) => KINDS[0],
            ObservationBody::RadarTrack(_) => KINDS[1],
            ObservationBody::DroneDetection(_) => KINDS[2],
            ObservationBody::DroneCoverage(_) => KINDS[3],
            ObservationBody::ThermalAnomaly(_) => KINDS[4],
            ObservationBody::SarChange(_) => KINDS[5],
            ObservationBody::Met(_) => KINDS[6],
            ObservationBody::SensorStatus(_) => KINDS[7],
        }
    }
}

/// What an acoustic sensor says the impulse was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A gun or launcher firing.
    Blast,
    /// An impact or explosion.
    Detonation,
    /// Not classified.
    Unknown,
}

/// `acoustic_pick` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcousticPick {
    /// One-sigma uncertainty of the arrival time, seconds.
    pub time_sigma_s: f64,
    /// Blast, detonation or unknown.
    pub signal: Signal,
    /// Probability that `signal` is right, 0-1.
    pub signal_p: f64,
    /// Signal-to-noise ratio, decibels.
    pub snr_db: f64,
    /// Back azimuths (degrees clockwise from true north) for array sensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_azimuth_deg: Option<Vec<f64>>,
    /// One-sigma uncertainty of each back azimuth, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_azimuth_sigma_deg: Option<Vec<f64>>,
    /// Position of a mobile sensor at `time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// Projectile type reported by a weapon-locating radar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Projectile {
    /// Mortar round.
    Mortar,
    /// Gun or howitzer shell.
    Artillery,
    /// Unguided rocket.
    Rocket,
    /// Guided missile.
    Missile,
    /// Not classified.
    Unknown,
}

/// A located point with a one-sigma radius and a time (radar launch or impact).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    /// Latitude, degrees north.
    #[serde(rename = "lat")]
    pub lat_deg: f64,
    /// Longitude, degrees east.
    #[serde(rename = "lon")]
    pub lon_deg: f64,
    /// One-sigma horizontal error, metres.
    pub sigma_m: f64,
    /// When the projectile was there.
    pub time: UtcNanos,
}

/// `radar_track` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadarTrack {
    /// Estimated launch point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<TrackPoint>,
    /// Estimated impact point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<TrackPoint>,
    /// Projectile type.
    pub projectile: Projectile,
}

/// A ground position with a one-sigma radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroundFix {
    /// Latitude, degrees north.
    #[serde(rename = "lat")]
    pub lat_deg: f64,
    /// Longitude, degrees east.
    #[serde(rename = "lon")]
    pub lon_deg: f64,
    /// One-sigma horizontal error, metres.
    pub sigma_m: f64,
}

/// `drone_detection` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroneDetection {
    /// Where the object is.
    pub target: GroundFix,
    /// Weapon class of the object.
    pub class: WeaponClass,
    /// Probability that `class` is right, 0-1.
    pub class_p: f64,
    /// Where the drone was.
    pub platform: Position,
    /// Hex SHA-256 of the image frame: the evidence.
    pub media_sha256: String,
    /// Where the frame can be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_uri: Option<String>,
}

/// `drone_coverage` body: `time` is the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroneCoverage {
    /// End of the watch.
    pub until: UtcNanos,
    /// Ground watched: a GeoJSON Polygon.
    pub footprint: Geometry,
    /// Classes that could have been detected there.
    pub classes: Vec<WeaponClass>,
}

/// FIRMS confidence: a percentage (MODIS) or a letter (VIIRS `l`, `n`, `h`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FireConfidence {
    /// 0-100.
    Percent(f64),
    /// `l`, `n` or `h`.
    Level(String),
}

/// `thermal_anomaly` body. Only the pixel centre is required: some FIRMS archives carry nothing
/// else (see docs/formats.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermalAnomaly {
    /// Pixel centre latitude, degrees north.
    #[serde(rename = "lat")]
    pub lat_deg: f64,
    /// Pixel centre longitude, degrees east.
    #[serde(rename = "lon")]
    pub lon_deg: f64,
    /// Fire radiative power, megawatts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frp_mw: Option<f64>,
    /// Brightness temperature, kelvin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brightness_k: Option<f64>,
    /// Pixel size along scan, kilometres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_km: Option<f64>,
    /// Pixel size along track, kilometres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_km: Option<f64>,
    /// Satellite name as FIRMS gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub satellite: Option<String>,
    /// Instrument (MODIS, VIIRS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// FIRMS confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<FireConfidence>,
    /// `D` or `N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daynight: Option<String>,
}

/// `sar_change` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarChange {
    /// Time of the earlier image.
    pub pre_time: UtcNanos,
    /// Where the change is: a Point or Polygon.
    pub geometry: Geometry,
    /// Change score, 0-1.
    pub score: f64,
    /// Detection method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// `met` body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Met {
    /// Air temperature, degrees Celsius.
    pub temperature_c: f64,
    /// Wind speed, metres per second.
    pub wind_speed_mps: f64,
    /// Direction the wind blows from, degrees clockwise from true north.
    pub wind_from_deg: f64,
    /// Station pressure, hectopascals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure_hpa: Option<f64>,
}

/// `sensor_status` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorStatus {
    /// Whether the sensor works.
    pub ok: bool,
    /// Measured clock offset, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<f64>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a payload is not a valid observation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    /// Not a JSON object at all.
    #[error("payload is not a JSON object: {0}")]
    NotJson(String),
    /// `v` is not a version this build reads.
    #[error("unsupported payload version {0}")]
    UnsupportedVersion(u64),
    /// `kind` is not one of FORMATS section 2.
    #[error("unknown kind {0:?}")]
    UnknownKind(String),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field has the wrong type or an unreadable value (including times).
    #[error("invalid field: {0}")]
    InvalidField(String),
    /// A field parses but its value is impossible.
    #[error("field `{field}` out of range: {problem}")]
    OutOfRange {
        /// The field's name (dotted path for nested fields).
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl PayloadError {
    fn from_serde(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let msg = e.to_string();
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => PayloadError::NotJson(msg),
            Category::Data => match msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                Some(field) => PayloadError::MissingField(field.to_owned()),
                None => PayloadError::InvalidField(msg),
            },
        }
    }
}

/// The common fields, read first so that `kind` is known before the body is parsed.
#[derive(Deserialize)]
struct Head<'a> {
    v: u64,
    sensor: String,
    seq: u64,
    time: UtcNanos,
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

impl Observation {
    /// Parse and validate a payload. Unknown fields are ignored (FORMATS conventions).
    ///
    /// Two passes over the bytes (common fields, then the body of the named kind) instead of
    /// serde's flattened internally-tagged enum: faster, and an unknown `kind` is told apart from
    /// an unknown value of another enum field.
    pub fn from_json(payload: &[u8]) -> Result<Observation, PayloadError> {
        if payload
            .first()
            .map(|b| b.is_ascii_whitespace() || *b == b'{')
            != Some(true)
        {
            return Err(PayloadError::NotJson("expected a JSON object".into()));
        }
        let head: Head<'_> = serde_json::from_slice(payload).map_err(PayloadError::from_serde)?;
        if head.v != u64::from(PAYLOAD_VERSION) {
            return Err(PayloadError::UnsupportedVersion(head.v));
        }
        fn body<'a, T: Deserialize<'a>>(p: &'a [u8]) -> Result<T, PayloadError> {
            serde_json::from_slice(p).map_err(PayloadError::from_serde)
        }
        let body = match head.kind.as_ref() {
            "acoustic_pick" => ObservationBody::AcousticPick(body(payload)?),
            "radar_track" => ObservationBody::RadarTrack(body(payload)?),
            "drone_detection" => ObservationBody::DroneDetection(body(payload)?),
            "drone_coverage" => ObservationBody::DroneCoverage(body(payload)?),
            "thermal_anomaly" => ObservationBody::ThermalAnomaly(body(payload)?),
            "sar_change" => ObservationBody::SarChange(body(payload)?),
            "met" => ObservationBody::Met(body(payload)?),
            "sensor_status" => ObservationBody::SensorStatus(body(payload)?),
            other => return Err(PayloadError::UnknownKind(other.chars().take(64).collect())),
        };
        let obs = Observation {
            v: PAYLOAD_VERSION,
            sensor: head.sensor,
            seq: head.seq,
            time: head.time,
            body,
        };
        obs.validate()?;
        Ok(obs)
    }

    /// Range checks that serde's types cannot express.
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.sensor.is_empty() {
            return Err(range("sensor", "empty"));
        }
        match &self.body {
            ObservationBody::AcousticPick(p) => {
                sigma("time_sigma_s", p.time_sigma_s)?;
                probability("signal_p", p.signal_p)?;
                finite("snr_db", p.snr_db)?;
                match (&p.back_azimuth_deg, &p.back_azimuth_sigma_deg) {
                    (None, None) => {}
                    (Some(az), Some(sd)) if az.len() == sd.len() && !az.is_empty() => {
                        for a in az {
                            azimuth("back_azimuth_deg", *a)?;
                        }
                        for s in sd {
                            sigma("back_azimuth_sigma_deg", *s)?;
                        }
                    }
                    _ => {
                        return Err(range(
                            "back_azimuth_deg",
                            "back_azimuth_deg and back_azimuth_sigma_deg must be non-empty arrays of equal length, given together",
                        ));
                    }
                }
                if let Some(pos) = &p.position {
                    pos.validate().map_err(|e| range("position", e))?;
                }
            }
            ObservationBody::RadarTrack(t) => {
                if t.launch.is_none() && t.impact.is_none() {
                    return Err(PayloadError::MissingField("launch".into()));
                }
                for (name, pt) in [("launch", &t.launch), ("impact", &t.impact)] {
                    if let Some(pt) = pt {
                        lat_lon(name, pt.lat_deg, pt.lon_deg)?;
                        sigma(name, pt.sigma_m)?;
                    }
                }
            }
            ObservationBody::DroneDetection(d) => {
                lat_lon("target", d.target.lat_deg, d.target.lon_deg)?;
                sigma("target.sigma_m", d.target.sigma_m)?;
                probability("class_p", d.class_p)?;
                d.platform.validate().map_err(|e| range("platform", e))?;
                if d.media_sha256.len() != 64
                    || !d.media_sha256.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(range("media_sha256", "must be 64 hexadecimal digits"));
                }
            }
            ObservationBody::DroneCoverage(c) => {
                if c.until < self.time {
                    return Err(range("until", "earlier than time"));
                }
                if !matches!(c.footprint, Geometry::Polygon(_)) {
                    return Err(range("footprint", "must be a GeoJSON Polygon"));
                }
                c.footprint.validate().map_err(|e| geom("footprint", e))?;
            }
            ObservationBody::ThermalAnomaly(a) => {
                lat_lon("lat", a.lat_deg, a.lon_deg)?;
                for (name, v) in [
                    ("frp_mw", a.frp_mw),
                    ("brightness_k", a.brightness_k),
                    ("scan_km", a.scan_km),
                    ("track_km", a.track_km),
                ] {
                    if let Some(v) = v
                        && !(v.is_finite() && v >= 0.0)
                    {
                        return Err(range(name, format!("{v} is not a non-negative number")));
                    }
                }
                match &a.confidence {
                    Some(FireConfidence::Percent(p)) if !(0.0..=100.0).contains(p) => {
                        return Err(range("confidence", format!("{p} is not in 0-100")));
                    }
                    Some(FireConfidence::Level(l)) if !matches!(l.as_str(), "l" | "n" | "h") => {
                        return Err(range("confidence", format!("{l:?} is not l, n or h")));
                    }
                    _ => {}
                }
            }
            ObservationBody::SarChange(s) => {
                if !matches!(s.geometry, Geometry::Point(_) | Geometry::Polygon(_)) {
                    return Err(range("geometry", "must be a GeoJSON Point or Polygon"));
                }
                s.geometry.validate().map_err(|e| geom("geometry", e))?;
                probability("score", s.score)?;
                if s.pre_time > self.time {
                    return Err(range("pre_time", "later than time"));
                }
            }
            ObservationBody::Met(m) => {
                if !(m.temperature_c.is_finite() && (-90.0..=60.0).contains(&m.temperature_c)) {
                    return Err(range("temperature_c", "not within -90..60 °C"));
                }
                if !(m.wind_speed_mps.is_finite() && (0.0..=100.0).contains(&m.wind_speed_mps)) {
                    return Err(range("wind_speed_mps", "not within 0..100 m/s"));
                }
                azimuth("wind_from_deg", m.wind_from_deg)?;
                if let Some(p) = m.pressure_hpa
                    && !(p.is_finite() && (300.0..=1100.0).contains(&p))
                {
                    return Err(range("pressure_hpa", "not within 300..1100 hPa"));
                }
            }
            ObservationBody::SensorStatus(s) => {
                if let Some(off) = s.clock_offset_s {
                    finite("clock_offset_s", off)?;
                }
            }
        }
        Ok(())
    }
}

fn range(field: &'static str, problem: impl ToString) -> PayloadError {
    PayloadError::OutOfRange {
        field,
        problem: problem.to_string(),
    }
}

fn geom(field: &'static str, e: GeometryError) -> PayloadError {
    range(field, e)
}

fn finite(field: &'static str, v: f64) -> Result<(), PayloadError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(range(field, format!("{v} is not finite")))
    }
}

fn sigma(field: &'static str, v: f64) -> Result<(), PayloadError> {
    // A zero sigma claims perfect knowledge, which no sensor has; it would also make weights
    // infinite downstream.
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(range(
            field,
            format!("sigma {v} must be positive and finite"),
        ))
    }
}

fn probability(field: &'static str, v: f64) -> Result<(), PayloadError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(range(field, format!("{v} is not a probability in 0-1")))
    }
}

fn azimuth(field: &'static str, v: f64) -> Result<(), PayloadError> {
    if (0.0..=360.0).contains(&v) {
        Ok(())
    } else {
        Err(range(field, format!("{v} is not in 0-360 degrees")))
    }
}

fn lat_lon(field: &'static str, lat: f64, lon: f64) -> Result<(), PayloadError> {
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(range(field, format!("latitude {lat} is not in -90..90")));
    }
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(range(field, format!("longitude {lon} is not in -180..180")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<Observation, PayloadError> {
        Observation::from_json(json.as_bytes())
    }

    const PICK: &str = r#"{"v":1,"sensor":"AC-1","seq":7,"time":"2026-01-10T00:00:01.5Z","kind":"acoustic_pick","time_sigma_s":0.002,"signal":"blast","signal_p":0.9,"snr_db":12.5,"extra":"ignored"}"#;

    #[test]
    fn a_valid_pick_parses_with_unknown_fields_ignored() {
        let o = check(PICK).unwrap();
        assert_eq!(o.seq, 7);
        let ObservationBody::AcousticPick(p) = &o.body else {
            panic!("wrong kind")
        };
        assert_eq!(p.signal, Signal::Blast);
        // Serializing puts `kind` back.
        let back = serde_json::to_value(&o).unwrap();
        assert_eq!(back["kind"], "acoustic_pick");
        assert_eq!(back["time"], "2026-01-10T00:00:01.5Z");
    }

    #[test]
    fn each_fault_has_its_own_error() {
        assert!(matches!(check("[1]"), Err(PayloadError::NotJson(_))));
        assert!(matches!(check("{\"v\":1,"), Err(PayloadError::NotJson(_))));
        let unknown = PICK.replace("acoustic_pick", "teleport");
        assert_eq!(
            check(&unknown),
            Err(PayloadError::UnknownKind("teleport".into()))
        );
        let v2 = PICK.replace("\"v\":1", "\"v\":2");
        assert_eq!(check(&v2), Err(PayloadError::UnsupportedVersion(2)));
        let missing = PICK.replace("\"snr_db\":12.5,", "");
        assert_eq!(
            check(&missing),
            Err(PayloadError::MissingField("snr_db".into()))
        );
        let bad_time = PICK.replace("2026-01-10T00:00:01.5Z", "tomorrow");
        assert!(matches!(
            check(&bad_time),
            Err(PayloadError::InvalidField(_))
        ));
        let neg = PICK.replace("0.002", "-0.002");
        assert!(matches!(
            check(&neg),
            Err(PayloadError::OutOfRange {
                field: "time_sigma_s",
                ..
            })
        ));
        let bad_signal = PICK.replace("\"blast\"", "\"boom\"");
        assert!(matches!(
            check(&bad_signal),
            Err(PayloadError::InvalidField(_))
        ));
    }

    #[test]
    fn latitude_beyond_90_is_out_of_range() {
        let t = r#"{"v":1,"sensor":"G","seq":1,"time":"2026-01-10T00:00:00Z","kind":"thermal_anomaly","lat":91.0,"lon":37.0}"#;
        assert!(matches!(
            check(t),
            Err(PayloadError::OutOfRange { field: "lat", .. })
        ));
        let ok = t.replace("91.0", "48.0");
        check(&ok).unwrap();
    }
}
