//! The physics and sensor models, each with the source of its numbers.

use truce_geo::{LatLon, inverse};
use truce_model::WeaponClass;

/// Per-class figures for weapons that fire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassParams {
    /// Maximum range, km. Public figures: 120 mm mortar about 7 km; 100 mm-class guns about
    /// 15 km; 152/155 mm howitzers about 25 km with standard rounds; BM-21 Grad about 20 km;
    /// BM-27/BM-30 up to 70 km; tank guns in direct fire about 5 km.
    pub max_range_km: f64,
    /// Mean speed along the trajectory, m/s, for time of flight = range / speed: 155 mm at
    /// 20 km flies about 60 s (333 m/s); Grad at 20 km about 45 s; mortar at 6 km about 35 s.
    pub mean_speed_mps: f64,
    /// Range at which an acoustic sensor hears half of the firings (muzzle blast), km.
    /// Acoustic artillery-location systems (e.g. HALO, SORAS) locate guns at 15-25 km.
    pub blast_r50_km: f64,
    /// Range at which half of the detonations are heard, km.
    pub detonation_r50_km: f64,
    /// One-sigma impact dispersion as a share of range (unguided 155 mm: about 0.5 %).
    pub dispersion_share: f64,
    /// Source level: SNR at 1 km, dB.
    pub snr_1km_db: f64,
}

/// The figures for a class, or `None` for classes that do not fire here.
pub fn class_params(class: WeaponClass) -> Option<ClassParams> {
    let p = |max_range_km,
             mean_speed_mps,
             blast_r50_km,
             detonation_r50_km,
             dispersion_share,
             snr_1km_db| {
        Some(ClassParams {
            max_range_km,
            mean_speed_mps,
            blast_r50_km,
            detonation_r50_km,
            dispersion_share,
            snr_1km_db,
        })
    };
    match class {
        WeaponClass::Mortar => p(7.0, 170.0, 8.0, 8.0, 0.008, 34.0),
        WeaponClass::ArtilleryLt100 => p(15.0, 300.0, 12.0, 10.0, 0.006, 38.0),
        WeaponClass::ArtilleryGe100 => p(25.0, 333.0, 20.0, 16.0, 0.005, 44.0),
        WeaponClass::Mlrs => p(20.0, 450.0, 18.0, 14.0, 0.01, 42.0),
        WeaponClass::HeavyMlrs => p(70.0, 700.0, 25.0, 20.0, 0.008, 46.0),
        WeaponClass::TacticalMissile => p(120.0, 900.0, 25.0, 25.0, 0.001, 46.0),
        WeaponClass::Tank => p(5.0, 1000.0, 10.0, 8.0, 0.002, 40.0),
        _ => None,
    }
}

/// Speed of sound in dry air, m/s: c(T) = 331.3 sqrt(1 + T/273.15) (the formula; the
/// standard ideal-gas approximation).
pub fn sound_speed_mps(temperature_c: f64) -> f64 {
    331.3 * (1.0 + temperature_c / 273.15).sqrt()
}

/// The wind's component along a path leaving with azimuth `path_azimuth_deg`, m/s (positive
/// when the wind blows the same way as the sound travels).
pub fn wind_along_mps(wind_speed_mps: f64, wind_from_deg: f64, path_azimuth_deg: f64) -> f64 {
    let toward = wind_from_deg + 180.0;
    wind_speed_mps * (path_azimuth_deg - toward).to_radians().cos()
}

/// Effective speed of sound from `source` to `sensor`, and the geodesic distance, for the given
/// weather. Uses the azimuth at the source (paths here are tens of km: it barely turns).
pub fn propagation(
    source: LatLon,
    sensor: LatLon,
    temperature_c: f64,
    wind_speed_mps: f64,
    wind_from_deg: f64,
) -> (f64, f64) {
    let inv = inverse(source, sensor);
    let c = sound_speed_mps(temperature_c)
        + wind_along_mps(wind_speed_mps, wind_from_deg, inv.azimuth1_deg);
    (inv.distance_m, c)
}

/// Arrival time offset (seconds after the origin time) of sound from `source` at `sensor`:
/// geodesic distance / (c(T) + wind component along the path).
pub fn travel_time_s(
    source: LatLon,
    sensor: LatLon,
    temperature_c: f64,
    wind_speed_mps: f64,
    wind_from_deg: f64,
) -> f64 {
    let (d, c) = propagation(source, sensor, temperature_c, wind_speed_mps, wind_from_deg);
    d / c
}

/// Detection probability at `range_km` for a source heard half the time at `r50_km`: a logistic
/// fall-off of width 15 % of r50, at most 0.98 (a sensor is never certain to trigger).
pub fn detection_probability(range_km: f64, r50_km: f64) -> f64 {
    0.98 / (1.0 + ((range_km - r50_km) / (0.15 * r50_km)).exp())
}

/// Range beyond which the detection probability is below 1e-3, km.
pub fn max_detection_range_km(r50_km: f64) -> f64 {
    // Solve 0.98 / (1 + exp(x)) = 1e-3: x = ln(979).
    r50_km + 0.15 * r50_km * 979f64.ln()
}

/// SNR at range: spherical spreading (20 log10 r) plus 0.5 dB/km of excess attenuation.
pub fn snr_db(snr_1km_db: f64, range_km: f64) -> f64 {
    snr_1km_db - 20.0 * range_km.max(0.1).log10() - 0.5 * range_km
}

/// Time of flight of a projectile over `range_m`, seconds.
pub fn time_of_flight_s(params: &ClassParams, range_m: f64) -> f64 {
    range_m / params.mean_speed_mps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_of_sound_at_known_temperatures() {
        assert!((sound_speed_mps(0.0) - 331.3).abs() < 1e-9);
        // 20 °C: 343.2 m/s (textbook 343).
        assert!((sound_speed_mps(20.0) - 343.21).abs() < 0.01);
    }

    #[test]
    fn wind_helps_downwind_and_hinders_upwind() {
        // Wind from the west blows east.
        assert!((wind_along_mps(5.0, 270.0, 90.0) - 5.0).abs() < 1e-9);
        assert!((wind_along_mps(5.0, 270.0, 270.0) + 5.0).abs() < 1e-9);
        assert!(wind_along_mps(5.0, 270.0, 0.0).abs() < 1e-9);
    }

    #[test]
    fn detection_falls_through_half_at_r50() {
        assert!((detection_probability(20.0, 20.0) - 0.49).abs() < 1e-9);
        assert!(detection_probability(5.0, 20.0) > 0.95);
        assert!(detection_probability(max_detection_range_km(20.0), 20.0) <= 1.001e-3);
    }
}
