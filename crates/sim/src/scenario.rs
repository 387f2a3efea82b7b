//! Scenario files (TOML). Every parameter has a default; the doc comment of each says where its
//! figure comes from. `docs/scenarios.md` lists them all.

use serde::Deserialize;
use truce_model::{UtcNanos, WeaponClass};

/// Why a scenario file was refused: names the key, the line, and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not TOML, an unknown key, or a value of the wrong type (the message comes from the TOML
    /// reader, with the line, the key and the expected values).
    #[error("{0}")]
    Toml(String),
    /// A value of the right type but outside what is allowed.
    #[error("{key} (line {line}): {problem}")]
    Value {
        /// Dotted key, e.g. `acoustic.spacing_km`.
        key: String,
        /// 1-based line in the file (0 when the key was not written and the default is wrong).
        line: usize,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

/// A whole scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Name, written into the outputs.
    pub name: String,
    /// Seed of every random draw: same seed, same bytes.
    pub seed: u64,
    /// Start time.
    pub start: UtcNanos,
    /// Length, seconds.
    pub duration_s: f64,
    /// `minsk` for the built-in agreement on the Minsk-era line, or a path to an agreement file
    /// (relative to the scenario file).
    pub agreement: String,
    /// The stretch of the ceasefire line where sensors and weapons are placed.
    pub region: Region,
    /// Weather.
    pub weather: Weather,
    /// Acoustic sensor network.
    pub acoustic: Acoustic,
    /// Weather stations.
    pub met: MetStations,
    /// Weapon-locating radars.
    pub radar: Radars,
    /// Drone sorties.
    pub drones: Drones,
    /// Satellite passes (FIRMS-like).
    pub satellites: Satellites,
    /// Weapons of each party.
    pub batteries: Vec<Battery>,
    /// Firing schedule.
    pub firing: Firing,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "unnamed".into(),
            seed: 1,
            // Two days after the demo agreement takes effect (2026-01-10).
            start: UtcNanos::from_unix_secs(1_768_197_600), // 2026-01-12T06:00:00Z
            duration_s: 3600.0,
            agreement: "minsk".into(),
            region: Region::default(),
            weather: Weather::default(),
            acoustic: Acoustic::default(),
            met: MetStations::default(),
            radar: Radars::default(),
            drones: Drones::default(),
            satellites: Satellites::default(),
            batteries: vec![
                Battery {
                    party: "A".into(),
                    class: WeaponClass::ArtilleryGe100,
                    count: 2,
                    ..Battery::default()
                },
                Battery {
                    party: "B".into(),
                    class: WeaponClass::ArtilleryGe100,
                    count: 2,
                    ..Battery::default()
                },
            ],
            firing: Firing::default(),
        }
    }
}

/// Where along the ceasefire line things happen, in km from its first vertex.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Region {
    /// Start, km along the line.
    pub from_km: f64,
    /// End, km along the line (clipped to the line's length).
    pub to_km: f64,
}

impl Default for Region {
    fn default() -> Self {
        Region {
            from_km: 0.0,
            to_km: f64::INFINITY,
        }
    }
}

/// The weather: a diurnal temperature cycle and a steady wind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weather {
    /// Mean air temperature, °C (Donetsk in January averages about -4 °C; a mild day here).
    pub temperature_c: f64,
    /// Half the day-night swing, °C (about 4 °C in winter in the Donbas).
    pub diurnal_amplitude_c: f64,
    /// Wind speed, m/s (typical surface wind 3-5 m/s).
    pub wind_speed_mps: f64,
    /// Direction the wind blows from, degrees (westerlies prevail).
    pub wind_from_deg: f64,
}

impl Default for Weather {
    fn default() -> Self {
        Weather {
            temperature_c: 0.0,
            diurnal_amplitude_c: 4.0,
            wind_speed_mps: 4.0,
            wind_from_deg: 250.0,
        }
    }
}

/// The acoustic network: sensors along the line, both sides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acoustic {
    /// Spacing along the line, km.
    pub spacing_km: f64,
    /// Distances from the line, km; a sensor on each side at each distance.
    pub offsets_km: Vec<f64>,
    /// Owners, assigned in turn (independence needs different owners).
    pub owners: Vec<String>,
    /// Share of sensors that are arrays and report back azimuths.
    pub array_share: f64,
    /// One-sigma back-azimuth error of arrays, degrees (infrasound arrays: 1-5°).
    pub back_azimuth_sigma_deg: f64,
    /// Registry clock sigma, seconds (GNSS-disciplined clocks: below 1 ms).
    pub timing_sigma_s: f64,
    /// Pick sigma at zero range, seconds (onset picking of impulsive signals at moderate SNR:
    /// 5-20 ms).
    pub pick_sigma_base_s: f64,
    /// Growth of pick sigma with range, seconds per km: pulses broaden and the real atmosphere
    /// varies along the path (about 0.1 % of the travel time, 3 ms per km at 330 m/s).
    pub pick_sigma_per_km_s: f64,
    /// Share of late outlier picks (multipath, wrong onset).
    pub late_pick_share: f64,
    /// Mean extra delay of a late pick, seconds.
    pub late_pick_mean_s: f64,
    /// False picks per sensor per hour (wind gusts, vehicles).
    pub false_picks_per_hour: f64,
    /// Probability that a blast is labelled detonation or the reverse.
    pub label_confusion: f64,
    /// Arrivals closer than this at one sensor merge into one pick, seconds.
    pub merge_window_s: f64,
    /// Scale of detection range relative to the class table (see `physics::class_table`).
    pub range_scale: f64,
    /// Share of sensors that suffer one outage.
    pub outage_share: f64,
    /// Mean outage length, seconds.
    pub outage_mean_s: f64,
    /// Heartbeat (`sensor_status`) interval, seconds.
    pub heartbeat_s: f64,
}

impl Default for Acoustic {
    fn default() -> Self {
        Acoustic {
            spacing_km: 6.0,
            offsets_km: vec![5.0],
            owners: vec!["NO".into(), "FI".into(), "SE".into(), "CH".into()],
            array_share: 0.25,
            back_azimuth_sigma_deg: 3.0,
            timing_sigma_s: 0.001,
            pick_sigma_base_s: 0.01,
            pick_sigma_per_km_s: 0.003,
            late_pick_share: 0.03,
            late_pick_mean_s: 0.4,
            false_picks_per_hour: 2.0,
            label_confusion: 0.1,
            merge_window_s: 0.05,
            range_scale: 1.0,
            outage_share: 0.05,
            outage_mean_s: 1800.0,
            heartbeat_s: 600.0,
        }
    }
}

/// Weather stations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetStations {
    /// How many, spread along the region.
    pub count: usize,
    /// Report interval, seconds (synoptic automatic stations: 10 min).
    pub interval_s: f64,
    /// Temperature noise, °C.
    pub temperature_noise_c: f64,
    /// Wind speed noise, m/s.
    pub wind_noise_mps: f64,
    /// Owner.
    pub owner: String,
}

impl Default for MetStations {
    fn default() -> Self {
        MetStations {
            count: 3,
            interval_s: 600.0,
            temperature_noise_c: 0.3,
            wind_noise_mps: 0.5,
            owner: "FI".into(),
        }
    }
}

/// Weapon-locating radars.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Radars {
    /// How many, spread along the region, 8 km back from the line, alternating sides.
    pub count: usize,
    /// Coverage radius, km (counter-battery radars: 20-40 km for shells).
    pub range_km: f64,
    /// Probability of detecting a projectile in coverage.
    pub detect_p: f64,
    /// Launch-point sigma at zero range, m.
    pub launch_sigma_base_m: f64,
    /// Launch-point sigma growth, m per km of range (0.3 % of range is typical).
    pub launch_sigma_per_km_m: f64,
    /// Owner.
    pub owner: String,
}

impl Default for Radars {
    fn default() -> Self {
        Radars {
            count: 2,
            range_km: 30.0,
            detect_p: 0.85,
            launch_sigma_base_m: 10.0,
            launch_sigma_per_km_m: 3.0,
            owner: "SE".into(),
        }
    }
}

/// Drone sorties.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Drones {
    /// Sorties over the scenario.
    pub sorties: usize,
    /// Length of a sortie, seconds.
    pub sortie_s: f64,
    /// Footprint size, km (along, across the line).
    pub footprint_km: [f64; 2],
    /// Probability of detecting a weapon in the footprint.
    pub detect_p: f64,
    /// Probability of a wrong class.
    pub class_confusion: f64,
    /// Target position sigma, m.
    pub sigma_m: f64,
    /// Mean false, low-confidence detections per sortie.
    pub false_per_sortie: f64,
    /// Owner.
    pub owner: String,
}

impl Default for Drones {
    fn default() -> Self {
        Drones {
            sorties: 2,
            sortie_s: 3600.0,
            footprint_km: [8.0, 12.0],
            detect_p: 0.8,
            class_confusion: 0.1,
            sigma_m: 15.0,
            false_per_sortie: 1.0,
            owner: "NO".into(),
        }
    }
}

/// Satellite passes and fires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Satellites {
    /// Pass times of day, UTC `HH:MM` (VIIRS on S-NPP/NOAA-20 cross Ukraine near 00:00 and 11:00
    /// UTC; MODIS Terra/Aqua near 08:30 and 20:30 UTC).
    pub passes_utc: Vec<String>,
    /// Probability a pass is clouded out (winter overcast is frequent).
    pub cloud_p: f64,
    /// Share of impacts that start a fire.
    pub fire_start_p: f64,
    /// Mean fire duration, seconds.
    pub fire_mean_s: f64,
    /// Background (agricultural, accidental) fires per day in the region.
    pub background_fires_per_day: f64,
    /// Owner of the FIRMS gateway.
    pub owner: String,
}

impl Default for Satellites {
    fn default() -> Self {
        Satellites {
            passes_utc: vec![
                "00:10".into(),
                "08:30".into(),
                "11:00".into(),
                "20:30".into(),
            ],
            cloud_p: 0.3,
            fire_start_p: 0.1,
            fire_mean_s: 10_800.0,
            background_fires_per_day: 4.0,
            owner: "NASA-FIRMS".into(),
        }
    }
}

/// A group of batteries of one class and party.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Battery {
    /// Party (must be one of the agreement's).
    pub party: String,
    /// Weapon class.
    pub class: WeaponClass,
    /// Number of batteries.
    pub count: usize,
    /// Guns (or launchers) per battery.
    pub guns: usize,
    /// Distance from the line, km: `[min, max]` (uniform).
    pub distance_km: [f64; 2],
    /// Whether the battery fires (false: parked weapons, only seen by drones).
    pub fires: bool,
}

impl Default for Battery {
    fn default() -> Self {
        Battery {
            party: "A".into(),
            class: WeaponClass::ArtilleryGe100,
            count: 1,
            guns: 4,
            distance_km: [6.0, 20.0],
            fires: true,
        }
    }
}

/// The firing schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Firing {
    /// Fire missions per hour, over all firing batteries.
    pub missions_per_hour: f64,
    /// Share of gun missions that are a single round.
    pub single_share: f64,
    /// Share of gun missions that are repeated volleys (the rest: one volley).
    pub repeated_share: f64,
    /// Volleys in a repeated mission: `[min, max]`.
    pub repeats: [usize; 2],
    /// Seconds between repeated volleys: `[min, max]`.
    pub repeat_gap_s: [f64; 2],
    /// Spread of a volley's rounds, seconds (guns fire "together" within about 2 s).
    pub volley_spread_s: f64,
    /// Rockets per launcher in a salvo: `[min, max]` (BM-21: up to 40).
    pub salvo_rockets: [usize; 2],
    /// Seconds between rockets in a salvo (BM-21 ripples 40 in about 20 s).
    pub salvo_interval_s: f64,
    /// How far beyond the line rounds land, km: `[min, max]`.
    pub target_depth_km: [f64; 2],
}

impl Default for Firing {
    fn default() -> Self {
        Firing {
            missions_per_hour: 20.0,
            single_share: 0.4,
            repeated_share: 0.3,
            repeats: [2, 4],
            repeat_gap_s: [20.0, 60.0],
            volley_spread_s: 2.0,
            salvo_rockets: [10, 40],
            salvo_interval_s: 0.5,
            target_depth_km: [1.0, 8.0],
        }
    }
}

impl Scenario {
    /// Parse and check a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))?;
        s.validate(text)?;
        Ok(s)
    }

    fn validate(&self, text: &str) -> Result<(), ScenarioError> {
        let bad = |key: &str, problem: String| ScenarioError::Value {
            key: key.to_owned(),
            line: line_of(text, key),
            problem,
        };
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(
                    key,
                    format!("{v} is not allowed: must be a positive number"),
                ))
            }
        };
        let share = |key: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(bad(
                    key,
                    format!("{v} is not allowed: must be between 0 and 1"),
                ))
            }
        };
        let range = |key: &str, r: [f64; 2]| {
            if r[0].is_finite() && r[1].is_finite() && 0.0 <= r[0] && r[0] <= r[1] {
                Ok(())
            } else {
                Err(bad(
                    key,
                    format!("{r:?} is not allowed: must be [min, max] with 0 <= min <= max"),
                ))
            }
        };
        positive("duration_s", self.duration_s)?;
        if self.duration_s > 8.0 * 86_400.0 {
            return Err(bad("duration_s", "at most 8 days (691200 s)".into()));
        }
        if !(self.region.from_km >= 0.0 && self.region.to_km > self.region.from_km) {
            return Err(bad(
                "region.to_km",
                "must be greater than region.from_km >= 0".into(),
            ));
        }
        if !(-60.0..=50.0).contains(&self.weather.temperature_c) {
            return Err(bad(
                "weather.temperature_c",
                "must be within -60..50 °C".into(),
            ));
        }
        if !(0.0..=40.0).contains(&self.weather.wind_speed_mps) {
            return Err(bad(
                "weather.wind_speed_mps",
                "must be within 0..40 m/s".into(),
            ));
        }
        let a = &self.acoustic;
        positive("acoustic.spacing_km", a.spacing_km)?;
        if a.offsets_km.iter().any(|o| !(o.is_finite() && *o > 0.0)) {
            return Err(bad(
                "acoustic.offsets_km",
                "distances must be positive km".into(),
            ));
        }
        if a.owners.is_empty() {
            return Err(bad("acoustic.owners", "needs at least one owner".into()));
        }
        share("acoustic.array_share", a.array_share)?;
        positive("acoustic.back_azimuth_sigma_deg", a.back_azimuth_sigma_deg)?;
        positive("acoustic.pick_sigma_base_s", a.pick_sigma_base_s)?;
        if a.pick_sigma_per_km_s.is_nan() || a.pick_sigma_per_km_s < 0.0 {
            return Err(bad("acoustic.pick_sigma_per_km_s", "must be >= 0".into()));
        }
        share("acoustic.late_pick_share", a.late_pick_share)?;
        positive("acoustic.late_pick_mean_s", a.late_pick_mean_s)?;
        if a.false_picks_per_hour.is_nan() || a.false_picks_per_hour < 0.0 {
            return Err(bad("acoustic.false_picks_per_hour", "must be >= 0".into()));
        }
        share("acoustic.label_confusion", a.label_confusion)?;
        positive("acoustic.merge_window_s", a.merge_window_s)?;
        positive("acoustic.range_scale", a.range_scale)?;
        share("acoustic.outage_share", a.outage_share)?;
        positive("acoustic.outage_mean_s", a.outage_mean_s)?;
        positive("acoustic.heartbeat_s", a.heartbeat_s)?;
        positive("met.interval_s", self.met.interval_s)?;
        positive("radar.range_km", self.radar.range_km)?;
        share("radar.detect_p", self.radar.detect_p)?;
        positive("drones.sortie_s", self.drones.sortie_s)?;
        range("drones.footprint_km", self.drones.footprint_km)?;
        share("drones.detect_p", self.drones.detect_p)?;
        share("drones.class_confusion", self.drones.class_confusion)?;
        positive("drones.sigma_m", self.drones.sigma_m)?;
        for (i, p) in self.satellites.passes_utc.iter().enumerate() {
            if parse_hhmm(p).is_none() {
                return Err(bad(
                    "satellites.passes_utc",
                    format!("entry {i} {p:?} is not a time of day HH:MM"),
                ));
            }
        }
        share("satellites.cloud_p", self.satellites.cloud_p)?;
        share("satellites.fire_start_p", self.satellites.fire_start_p)?;
        positive("satellites.fire_mean_s", self.satellites.fire_mean_s)?;
        for b in &self.batteries {
            range("batteries.distance_km", b.distance_km)?;
            if b.guns == 0 {
                return Err(bad("batteries.guns", "must be at least 1".into()));
            }
            let table = crate::physics::class_params(b.class);
            if b.fires && table.is_none() {
                return Err(bad(
                    "batteries.class",
                    format!(
                        "{:?} cannot fire in this simulator; allowed for firing batteries: mortar, artillery_lt100, artillery_ge100, mlrs, heavy_mlrs, tactical_missile, tank (or set fires = false)",
                        b.class
                    ),
                ));
            }
            if let Some(t) = table
                && b.fires
                && b.distance_km[1] + 1.0 > t.max_range_km
            {
                return Err(bad(
                    "batteries.distance_km",
                    format!(
                        "{:?} reaches {} km; batteries must stand at most {} km from the line",
                        b.class,
                        t.max_range_km,
                        t.max_range_km - 1.0
                    ),
                ));
            }
        }
        let f = &self.firing;
        if f.missions_per_hour.is_nan() || f.missions_per_hour < 0.0 {
            return Err(bad("firing.missions_per_hour", "must be >= 0".into()));
        }
        share("firing.single_share", f.single_share)?;
        share("firing.repeated_share", f.repeated_share)?;
        if f.single_share + f.repeated_share > 1.0 {
            return Err(bad(
                "firing.repeated_share",
                "single_share + repeated_share must be <= 1".into(),
            ));
        }
        if f.repeats[0] == 0 || f.repeats[0] > f.repeats[1] {
            return Err(bad(
                "firing.repeats",
                "must be [min, max] with 1 <= min <= max".into(),
            ));
        }
        range("firing.repeat_gap_s", f.repeat_gap_s)?;
        if f.salvo_rockets[0] == 0 || f.salvo_rockets[0] > f.salvo_rockets[1] {
            return Err(bad(
                "firing.salvo_rockets",
                "must be [min, max] with 1 <= min <= max".into(),
            ));
        }
        positive("firing.salvo_interval_s", f.salvo_interval_s)?;
        range("firing.target_depth_km", f.target_depth_km)?;
        Ok(())
    }
}

/// Seconds after midnight of `HH:MM`.
pub fn parse_hhmm(s: &str) -> Option<f64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(f64::from(h * 3600 + m * 60))
}

/// The line of `key` (dotted: `table.field`, or `field` at the top) in the TOML text; 0 if absent.
fn line_of(text: &str, key: &str) -> usize {
    let (table, field) = match key.rsplit_once('.') {
        Some((t, f)) => (Some(t), f),
        None => (None, key),
    };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            current = Some(h.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
            continue;
        }
        let in_table = match (table, &current) {
            (None, None) => true,
            (Some(want), Some(cur)) => want == cur,
            _ => false,
        };
        if in_table
            && let Some(rest) = t.strip_prefix(field)
            && rest.trim_start().starts_with('=')
        {
            return i + 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let s = Scenario::from_toml("").unwrap();
        assert_eq!(s.acoustic.spacing_km, 6.0);
    }

    #[test]
    fn errors_name_key_line_and_what_is_allowed() {
        let text = "name = \"x\"\n[acoustic]\nspacing_km = -3\n";
        let e = Scenario::from_toml(text).unwrap_err().to_string();
        assert!(
            e.contains("acoustic.spacing_km (line 3)") && e.contains("positive"),
            "{e}"
        );

        let unknown = "[acoustic]\nspacing = 3\n";
        let e = Scenario::from_toml(unknown).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("spacing_km"), "{e}");

        let wrong_type = "seed = \"abc\"\n";
        let e = Scenario::from_toml(wrong_type).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");

        let class = "[[batteries]]\nclass = \"crater\"\n";
        let e = Scenario::from_toml(class).unwrap_err().to_string();
        assert!(
            e.contains("batteries.class (line 2)") && e.contains("mortar"),
            "{e}"
        );

        let far = "[[batteries]]\nclass = \"mortar\"\ndistance_km = [2.0, 9.0]\n";
        let e = Scenario::from_toml(far).unwrap_err().to_string();
        assert!(
            e.contains("distance_km (line 3)") && e.contains("7 km"),
            "{e}"
        );

        let pass = "[satellites]\npasses_utc = [\"25:00\"]\n";
        let e = Scenario::from_toml(pass).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("HH:MM"), "{e}");
    }
}
