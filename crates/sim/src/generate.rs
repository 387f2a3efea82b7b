//! The simulation: sensors, weapons, firings, and every observation they produce, signed.
//!
//! Every random draw comes from a ChaCha8 stream keyed by (seed, purpose, index), so results do
//! not depend on thread count or evaluation order: same seed, same bytes.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal, Poisson};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use truce_geo::{Area, LatLon, direct, distance_m, distance_to_polyline_m, inverse};
use truce_model::{
    Agreement, Jwk, Position, Sensor, SensorKind, SensorRegistry, UtcNanos, WeaponClass,
};

use crate::physics::{self, ClassParams};
use crate::scenario::{Scenario, parse_hhmm};
use crate::truth::{
    Fire, Object, PickGeometry, Shot, Stats, Truth, TruthImpact, TruthViolation, cramer_rao_m,
};
use crate::world::{MINSK_AGREEMENT, World};

/// Everything a simulation writes.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// `agreement.geojson` text.
    pub agreement_json: String,
    /// `sensors.json`.
    pub registry: SensorRegistry,
    /// Private keys: sensor id and 32-byte Ed25519 seed.
    pub keys: Vec<(String, [u8; 32])>,
    /// `observations.jwsl`, time-ordered.
    pub jwsl: Vec<u8>,
    /// `truth.json`.
    pub truth: Truth,
    /// `picks_truth.csv`: `line,round,signal` for every true acoustic pick (line numbers of
    /// `observations.jwsl`, 1-based), for scoring association.
    pub picks_truth: String,
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The agreement is unusable.
    #[error(transparent)]
    Agreement(#[from] truce_model::AgreementError),
    /// The agreement's geometry does not fit the scenario.
    #[error(transparent)]
    World(#[from] crate::world::WorldError),
    /// Something could not be placed.
    #[error("cannot place {0}: no spot in the region on that side after many tries")]
    Placement(String),
}

/// A random stream for one purpose and index.
fn rng(seed: u64, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(index.to_le_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

fn normal(r: &mut ChaCha8Rng, sigma: f64) -> f64 {
    Normal::new(0.0, sigma.max(0.0)).map_or(0.0, |n| n.sample(r))
}

fn exp(r: &mut ChaCha8Rng, mean: f64) -> f64 {
    Exp::new(1.0 / mean.max(1e-9)).map_or(0.0, |e| e.sample(r))
}

fn poisson(r: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |p: Poisson<f64>| p.sample(r) as u64)
}

fn uniform(r: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    if hi > lo { r.random_range(lo..hi) } else { lo }
}

/// A point `sigma`-scattered around `p` (isotropic Gaussian, metres).
fn scatter(r: &mut ChaCha8Rng, p: LatLon, sigma_m: f64) -> LatLon {
    let (e, n) = (normal(r, sigma_m), normal(r, sigma_m));
    let d = (e * e + n * n).sqrt();
    if d == 0.0 {
        p
    } else {
        direct(p, e.atan2(n).to_degrees(), d)
    }
}

fn ns(t: UtcNanos, secs: f64) -> UtcNanos {
    t.add_secs_f64(secs)
}

/// An observation before it is numbered and signed.
struct Pending {
    time: UtcNanos,
    sensor: usize,
    /// Keeps the order total and stable for observations of one sensor at one instant.
    tiebreak: u64,
    /// The payload's fields after `time`, starting with `"kind":...`.
    body: String,
    /// For a true acoustic pick: round * 2 + (0 blast, 1 detonation).
    source: Option<usize>,
}

struct AcousticSensor {
    pos: LatLon,
    registry_index: usize,
    array: bool,
    outage: Option<(f64, f64)>,
}

struct Gun {
    pos: LatLon,
}

struct BatteryState {
    id: String,
    party: String,
    class: WeaponClass,
    params: Option<ClassParams>,
    center: LatLon,
    guns: Vec<Gun>,
    fires: bool,
}

struct Round {
    battery: usize,
    launch: LatLon,
    launch_t: f64,
    impact: LatLon,
    impact_t: f64,
}

/// A sound source: a round's blast (launch) or detonation (impact).
#[derive(Clone, Copy)]
struct Source {
    round: usize,
    blast: bool,
    pos: LatLon,
    t: f64,
    r50_km: f64,
    snr_1km_db: f64,
}

struct Arrival {
    sensor: usize,
    t: f64,
    source: usize,
    sigma_s: f64,
    blast_label: bool,
    snr_db: f64,
    back_azimuth_deg: Option<f64>,
    late: bool,
    c_mps: f64,
}

/// Temperature at `t` seconds after the scenario start (diurnal cycle, warmest at 14:00 UTC+2).
fn temperature_at(s: &Scenario, t: f64) -> f64 {
    let secs_of_day = (s.start.0.div_euclid(1_000_000_000) as f64 + t).rem_euclid(86_400.0);
    let phase = (secs_of_day - 12.0 * 3600.0) / 86_400.0 * std::f64::consts::TAU;
    s.weather.temperature_c + s.weather.diurnal_amplitude_c * phase.cos()
}

/// Run a scenario. `agreement_text` overrides the scenario's `agreement` (the CLI reads files).
pub fn simulate(s: &Scenario, agreement_text: Option<&str>) -> Result<Simulation, SimError> {
    let agreement_json = agreement_text.unwrap_or(MINSK_AGREEMENT).to_owned();
    let world = World::new(Agreement::from_json(agreement_json.as_bytes())?)?;
    let seed = s.seed;
    let from_m = s.region.from_km * 1000.0;
    let to_m = (s.region.to_km * 1000.0).min(world.length_m());
    if to_m <= from_m {
        return Err(SimError::Placement(
            "anything: the region is beyond the line's end".into(),
        ));
    }
    let parties = world.agreement.meta.parties.clone();
    let dur = s.duration_s;

    // ---- sensors
    let mut sensors: Vec<Sensor> = Vec::new();
    let mut acoustic: Vec<AcousticSensor> = Vec::new();
    let add =
        |sensors: &mut Vec<Sensor>, id: String, kind, owner: &str, pos: Option<LatLon>, timing| {
            let key = SigningKey::from_bytes(&sensor_seed(seed, &id));
            sensors.push(Sensor {
                id,
                kind,
                owner: owner.to_owned(),
                key: Jwk::ed25519(key.verifying_key().as_bytes()),
                position: pos.map(|p| Position {
                    lat_deg: p.lat_deg,
                    lon_deg: p.lon_deg,
                    alt_m: 0.0,
                }),
                timing_sigma_s: timing,
                active_from: None,
                active_until: None,
            });
            sensors.len() - 1
        };
    let a = &s.acoustic;
    let spacing = a.spacing_km * 1000.0;
    let mut k = 0usize;
    let mut along = from_m + spacing / 2.0;
    while along < to_m {
        for off in &a.offsets_km {
            for party in &parties {
                if let Some(p) = world.off_line_near(along, off * 1000.0, party) {
                    let mut r = rng(seed, "acoustic-sensor", k as u64);
                    let id = format!("AC-{:03}", k + 1);
                    let owner = &a.owners[k % a.owners.len()];
                    let idx = add(
                        &mut sensors,
                        id,
                        SensorKind::Acoustic,
                        owner,
                        Some(p),
                        Some(a.timing_sigma_s),
                    );
                    let array = r.random::<f64>() < a.array_share;
                    let outage = (r.random::<f64>() < a.outage_share).then(|| {
                        let len = exp(&mut r, a.outage_mean_s).min(dur);
                        let start = uniform(&mut r, 0.0, (dur - len).max(0.0));
                        (start, start + len)
                    });
                    acoustic.push(AcousticSensor {
                        pos: p,
                        registry_index: idx,
                        array,
                        outage,
                    });
                    k += 1;
                }
            }
        }
        along += spacing;
    }
    let spread = |i: usize, n: usize| from_m + (to_m - from_m) * (i as f64 + 0.5) / n as f64;
    let mut met_idx = Vec::new();
    for i in 0..s.met.count {
        let party = &parties[i % parties.len()];
        if let Some(p) = world.off_line_near(spread(i, s.met.count), 3000.0, party) {
            met_idx.push(add(
                &mut sensors,
                format!("MET-{}", i + 1),
                SensorKind::Met,
                &s.met.owner,
                Some(p),
                None,
            ));
        }
    }
    let mut radars = Vec::new();
    for i in 0..s.radar.count {
        let party = &parties[(i + 1) % parties.len()];
        if let Some(p) = [8000.0, 6000.0, 10_000.0]
            .into_iter()
            .find_map(|off| world.off_line_near(spread(i, s.radar.count), off, party))
        {
            radars.push((
                add(
                    &mut sensors,
                    format!("RAD-{}", i + 1),
                    SensorKind::Radar,
                    &s.radar.owner,
                    Some(p),
                    None,
                ),
                p,
            ));
        }
    }
    let drone_idx: Vec<usize> = (0..s.drones.sorties)
        .map(|i| {
            add(
                &mut sensors,
                format!("DR-{:02}", i + 1),
                SensorKind::Drone,
                &s.drones.owner,
                None,
                None,
            )
        })
        .collect();
    let gateway = add(
        &mut sensors,
        "GW-FIRMS".into(),
        SensorKind::Gateway,
        &s.satellites.owner,
        None,
        None,
    );

    // ---- weapons
    let mut batteries: Vec<BatteryState> = Vec::new();
    let mut objects: Vec<Object> = Vec::new();
    let buffer_m = world.agreement.meta.buffer_km * 1000.0;
    for (g, group) in s.batteries.iter().enumerate() {
        for b in 0..group.count {
            let mut r = rng(seed, "battery", (g * 10_000 + b) as u64);
            let id = format!(
                "BTY-{}-{:?}-{}",
                group.party,
                group.class,
                batteries.len() + 1
            )
            .to_lowercase();
            let center = (0..200)
                .find_map(|_| {
                    let along = uniform(&mut r, from_m, to_m);
                    let d = uniform(&mut r, group.distance_km[0], group.distance_km[1]) * 1000.0;
                    world.off_line(along, d.max(200.0), &group.party)
                })
                .ok_or_else(|| {
                    SimError::Placement(format!(
                        "battery {id} ({} km from the line)",
                        group.distance_km[1]
                    ))
                })?;
            let mut guns = Vec::new();
            for gun in 0..group.guns {
                let pos = direct(
                    center,
                    uniform(&mut r, 0.0, 360.0),
                    uniform(&mut r, 20.0, 150.0),
                );
                let dist = world.distance_to_line_m(pos);
                let zone_km = world
                    .agreement
                    .meta
                    .withdrawal_km
                    .get(&group.class)
                    .copied();
                objects.push(Object {
                    id: format!("{id}-{}", gun + 1),
                    party: group.party.clone(),
                    weapon_class: group.class,
                    lat: pos.lat_deg,
                    lon: pos.lon_deg,
                    distance_km: dist / 1000.0,
                    in_withdrawal_zone: zone_km.is_some_and(|z| dist < z * 1000.0),
                    in_buffer_zone: dist < buffer_m,
                    covered: false,
                    sightings: 0,
                });
                guns.push(Gun { pos });
            }
            batteries.push(BatteryState {
                id,
                party: group.party.clone(),
                class: group.class,
                params: physics::class_params(group.class),
                center,
                guns,
                fires: group.fires,
            });
        }
    }

    // ---- firing schedule
    let firing: Vec<usize> = (0..batteries.len())
        .filter(|&i| batteries[i].fires)
        .collect();
    let mut rounds: Vec<Round> = Vec::new();
    if !firing.is_empty() {
        let f = &s.firing;
        let mut r = rng(seed, "missions", 0);
        let n_missions = poisson(&mut r, f.missions_per_hour * dur / 3600.0);
        for m in 0..n_missions {
            let mut r = rng(seed, "mission", m);
            let bi = firing[r.random_range(0..firing.len())];
            let bat = &batteries[bi];
            let Some(params) = bat.params else { continue };
            let t0 = uniform(&mut r, 0.0, dur);
            // Aim across the line, beyond the nearest point of it.
            let Some(near) = distance_to_polyline_m(bat.center, &world.line) else {
                continue;
            };
            let az = inverse(bat.center, near.point).azimuth1_deg;
            let max_depth = (params.max_range_km * 1000.0 - near.distance_m - 300.0).max(200.0);
            let depth = uniform(
                &mut r,
                f.target_depth_km[0] * 1000.0,
                f.target_depth_km[1] * 1000.0,
            )
            .min(max_depth);
            let aim = direct(near.point, az, depth);
            let mut fire = |gun: usize, t: f64, r: &mut ChaCha8Rng| {
                let launch = bat.guns[gun].pos;
                let range = distance_m(launch, aim);
                let impact = scatter(r, aim, params.dispersion_share * range);
                let tof = physics::time_of_flight_s(&params, distance_m(launch, impact));
                rounds.push(Round {
                    battery: bi,
                    launch,
                    launch_t: t,
                    impact,
                    impact_t: t + tof,
                });
            };
            match bat.class {
                WeaponClass::Mlrs | WeaponClass::HeavyMlrs => {
                    for gun in 0..bat.guns.len() {
                        let n = r.random_range(f.salvo_rockets[0]..=f.salvo_rockets[1]);
                        let start = t0 + uniform(&mut r, 0.0, 5.0);
                        for k in 0..n {
                            fire(gun, start + k as f64 * f.salvo_interval_s, &mut r);
                        }
                    }
                }
                WeaponClass::TacticalMissile => fire(0, t0, &mut r),
                _ => {
                    let u: f64 = r.random();
                    if u < f.single_share {
                        let gun = r.random_range(0..bat.guns.len());
                        fire(gun, t0, &mut r);
                    } else {
                        let volleys = if u < f.single_share + f.repeated_share {
                            r.random_range(f.repeats[0]..=f.repeats[1])
                        } else {
                            1
                        };
                        let mut t = t0;
                        for _ in 0..volleys {
                            for gun in 0..bat.guns.len() {
                                let dt = uniform(&mut r, 0.0, f.volley_spread_s);
                                fire(gun, t + dt, &mut r);
                            }
                            t += uniform(&mut r, f.repeat_gap_s[0], f.repeat_gap_s[1]);
                        }
                    }
                }
            }
        }
    }
    // A stable order of rounds: by launch time, then battery.
    rounds.sort_by(|x, y| {
        x.launch_t
            .total_cmp(&y.launch_t)
            .then(x.battery.cmp(&y.battery))
    });

    // ---- acoustic arrivals
    let sources: Vec<Source> = rounds
        .iter()
        .enumerate()
        .flat_map(|(i, rd)| {
            let p = batteries[rd.battery].params.unwrap_or(ClassParams {
                max_range_km: 1.0,
                mean_speed_mps: 1.0,
                blast_r50_km: 1.0,
                detonation_r50_km: 1.0,
                dispersion_share: 0.0,
                snr_1km_db: 0.0,
            });
            [
                Source {
                    round: i,
                    blast: true,
                    pos: rd.launch,
                    t: rd.launch_t,
                    r50_km: p.blast_r50_km * a.range_scale,
                    snr_1km_db: p.snr_1km_db,
                },
                Source {
                    round: i,
                    blast: false,
                    pos: rd.impact,
                    t: rd.impact_t,
                    r50_km: p.detonation_r50_km * a.range_scale,
                    snr_1km_db: p.snr_1km_db - 2.0,
                },
            ]
        })
        .collect();
    let w = &s.weather;
    let arrivals: Vec<Arrival> = sources
        .par_iter()
        .enumerate()
        .flat_map_iter(|(si, src)| {
            let mut r = rng(seed, "arrivals", si as u64);
            let max_km = physics::max_detection_range_km(src.r50_km);
            let temp = temperature_at(s, src.t);
            let mut out = Vec::new();
            for (k, sen) in acoustic.iter().enumerate() {
                // Cheap prefilter in degrees before the geodesic.
                let dlat = (sen.pos.lat_deg - src.pos.lat_deg) * 111.2;
                let dlon = (sen.pos.lon_deg - src.pos.lon_deg)
                    * 111.3
                    * src.pos.lat_deg.to_radians().cos();
                if dlat * dlat + dlon * dlon > (max_km * 1.05) * (max_km * 1.05) {
                    continue;
                }
                let inv = inverse(src.pos, sen.pos);
                let range_km = inv.distance_m / 1000.0;
                let u: f64 = r.random();
                if u >= physics::detection_probability(range_km, src.r50_km) {
                    continue;
                }
                let c = physics::sound_speed_mps(temp)
                    + physics::wind_along_mps(w.wind_speed_mps, w.wind_from_deg, inv.azimuth1_deg);
                let sigma = a.pick_sigma_base_s + a.pick_sigma_per_km_s * range_km;
                let late = r.random::<f64>() < a.late_pick_share;
                let mut t = src.t + inv.distance_m / c + normal(&mut r, sigma);
                if late {
                    t += exp(&mut r, a.late_pick_mean_s);
                }
                if sen.outage.is_some_and(|(s0, s1)| t >= s0 && t < s1) {
                    continue;
                }
                let confused = r.random::<f64>() < a.label_confusion;
                let snr =
                    (physics::snr_db(src.snr_1km_db, range_km) + normal(&mut r, 2.0)).max(3.0);
                let back_azimuth_deg = sen.array.then(|| {
                    (inv.azimuth2_deg + 180.0 + normal(&mut r, a.back_azimuth_sigma_deg))
                        .rem_euclid(360.0)
                });
                out.push(Arrival {
                    sensor: k,
                    t,
                    source: si,
                    sigma_s: sigma,
                    blast_label: src.blast != confused,
                    snr_db: snr,
                    back_azimuth_deg,
                    late,
                    c_mps: c,
                });
            }
            out
        })
        .collect();

    // ---- picks: merge per sensor, add false picks
    let mut stats = Stats {
        rounds: rounds.len(),
        acoustic_sensors: acoustic.len(),
        ..Stats::default()
    };
    let mut per_sensor: Vec<Vec<&Arrival>> = vec![Vec::new(); acoustic.len()];
    for arr in &arrivals {
        per_sensor[arr.sensor].push(arr);
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut blast_geoms: Vec<Vec<PickGeometry>> = vec![Vec::new(); rounds.len()];
    let mut det_geoms: Vec<Vec<PickGeometry>> = vec![Vec::new(); rounds.len()];
    let mut blast_counts = vec![0usize; rounds.len()];
    let mut det_counts = vec![0usize; rounds.len()];
    for (k, list) in per_sensor.iter_mut().enumerate() {
        list.sort_by(|x, y| x.t.total_cmp(&y.t).then(x.source.cmp(&y.source)));
        let sen = &acoustic[k];
        let mut last_kept: Option<f64> = None;
        for arr in list.iter() {
            if last_kept.is_some_and(|t| arr.t - t < a.merge_window_s) {
                stats.merged_arrivals += 1;
                continue;
            }
            last_kept = Some(arr.t);
            let src = &sources[arr.source];
            let g = PickGeometry {
                sensor: sen.pos,
                c_mps: arr.c_mps,
                sigma_s: arr.sigma_s,
                back_azimuth_sigma_deg: arr.back_azimuth_deg.map(|_| a.back_azimuth_sigma_deg),
            };
            if src.blast {
                blast_counts[src.round] += 1;
                blast_geoms[src.round].push(g);
            } else {
                det_counts[src.round] += 1;
                det_geoms[src.round].push(g);
            }
            if arr.late {
                stats.late_picks += 1;
            }
            let p_label = 1.0 - a.label_confusion;
            pending.push(Pending {
                source: Some(src.round * 2 + usize::from(!src.blast)),
                time: ns(s.start, arr.t),
                sensor: sen.registry_index,
                tiebreak: arr.source as u64,
                body: pick_body(
                    arr.sigma_s,
                    arr.blast_label,
                    p_label,
                    arr.snr_db,
                    arr.back_azimuth_deg,
                    a.back_azimuth_sigma_deg,
                ),
            });
        }
        let mut r = rng(seed, "false-picks", k as u64);
        let n = poisson(&mut r, a.false_picks_per_hour * dur / 3600.0);
        for j in 0..n {
            let t = uniform(&mut r, 0.0, dur);
            if sen.outage.is_some_and(|(s0, s1)| t >= s0 && t < s1) {
                continue;
            }
            let back_az = sen.array.then(|| uniform(&mut r, 0.0, 360.0));
            let blast = r.random::<bool>();
            stats.false_picks += 1;
            pending.push(Pending {
                source: None,
                time: ns(s.start, t),
                sensor: sen.registry_index,
                tiebreak: u64::MAX - j,
                body: pick_body(
                    a.pick_sigma_base_s * 2.0,
                    blast,
                    0.5,
                    uniform(&mut r, 3.0, 8.0),
                    back_az,
                    a.back_azimuth_sigma_deg,
                ),
            });
        }
    }
    stats.picks = pending.len();

    // ---- sensor status: heartbeats and outages
    for (k, sen) in acoustic.iter().enumerate() {
        let mut t = 0.0;
        let mut i = 0u64;
        while t < dur {
            let down = sen.outage.is_some_and(|(s0, s1)| t >= s0 && t < s1);
            if !down {
                pending.push(Pending {
                    source: None,
                    time: ns(s.start, t),
                    sensor: sen.registry_index,
                    tiebreak: i,
                    body: r#""kind":"sensor_status","ok":true"#.into(),
                });
            }
            t += a.heartbeat_s;
            i += 1;
        }
        if let Some((s0, s1)) = sen.outage {
            let _ = k;
            pending.push(Pending {
                source: None,
                time: ns(s.start, s0),
                sensor: sen.registry_index,
                tiebreak: u64::MAX,
                body: r#""kind":"sensor_status","ok":false,"note":"no signal from the microphone""#
                    .into(),
            });
            if s1 < dur {
                pending.push(Pending {
                    source: None,
                    time: ns(s.start, s1),
                    sensor: sen.registry_index,
                    tiebreak: u64::MAX - 1,
                    body: r#""kind":"sensor_status","ok":true,"note":"back online""#.into(),
                });
            }
        }
    }

    // ---- met reports
    for (i, &idx) in met_idx.iter().enumerate() {
        let mut r = rng(seed, "met", i as u64);
        let mut t = 0.0;
        let mut n = 0u64;
        while t < dur {
            let temp = temperature_at(s, t) + normal(&mut r, s.met.temperature_noise_c);
            let wind = (w.wind_speed_mps + normal(&mut r, s.met.wind_noise_mps)).max(0.0);
            let from = (w.wind_from_deg + normal(&mut r, 10.0)).rem_euclid(360.0);
            pending.push(Pending {
                source: None,
                time: ns(s.start, t),
                sensor: idx,
                tiebreak: n,
                body: format!(
                    r#""kind":"met","temperature_c":{:.2},"wind_speed_mps":{:.2},"wind_from_deg":{:.1},"pressure_hpa":{:.1}"#,
                    temp.clamp(-89.0, 59.0),
                    wind.min(99.0),
                    from,
                    1013.0 + normal(&mut r, 3.0)
                ),
            });
            t += s.met.interval_s;
            n += 1;
        }
    }

    // ---- radars
    let mut radar_launch = vec![0usize; rounds.len()];
    let mut radar_impact = vec![0usize; rounds.len()];
    for (ri, rd) in rounds.iter().enumerate() {
        let class = batteries[rd.battery].class;
        let projectile = match class {
            WeaponClass::Mortar => "mortar",
            WeaponClass::Mlrs | WeaponClass::HeavyMlrs => "rocket",
            WeaponClass::TacticalMissile => "missile",
            WeaponClass::Tank => "unknown",
            _ => "artillery",
        };
        for (k, &(idx, rpos)) in radars.iter().enumerate() {
            let mut r = rng(seed, "radar", (ri * 64 + k) as u64);
            let dl = distance_m(rpos, rd.launch) / 1000.0;
            let di = distance_m(rpos, rd.impact) / 1000.0;
            let range = s.radar.range_km;
            if (dl > range && di > range) || r.random::<f64>() >= s.radar.detect_p {
                continue;
            }
            let point = |r: &mut ChaCha8Rng, p: LatLon, t: f64, dist_km: f64, scale: f64| {
                let sigma =
                    (s.radar.launch_sigma_base_m + s.radar.launch_sigma_per_km_m * dist_km) * scale;
                let q = scatter(r, p, sigma);
                format!(
                    r#"{{"lat":{:.6},"lon":{:.6},"sigma_m":{:.1},"time":"{}"}}"#,
                    q.lat_deg,
                    q.lon_deg,
                    sigma,
                    ns(s.start, t + normal(r, 0.05))
                )
            };
            let mut body = String::from(r#""kind":"radar_track""#);
            if dl <= range {
                body += &format!(
                    r#","launch":{}"#,
                    point(&mut r, rd.launch, rd.launch_t, dl, 1.0)
                );
                radar_launch[ri] += 1;
            }
            if di <= range {
                body += &format!(
                    r#","impact":{}"#,
                    point(&mut r, rd.impact, rd.impact_t, di, 0.7)
                );
                radar_impact[ri] += 1;
            }
            body += &format!(r#","projectile":"{projectile}""#);
            // The track is reported when the radar has it: at the impact at the latest.
            pending.push(Pending {
                source: None,
                time: ns(
                    s.start,
                    if dl <= range {
                        rd.launch_t
                    } else {
                        rd.impact_t
                    },
                ),
                sensor: idx,
                tiebreak: ri as u64,
                body,
            });
        }
    }

    // ---- drones
    let classes_seen = r#"["tank","apc","artillery_ge100","artillery_lt100","mlrs","heavy_mlrs","mortar","air_defense"]"#;
    for (i, &idx) in drone_idx.iter().enumerate() {
        let d = &s.drones;
        let mut r = rng(seed, "sortie", i as u64);
        let len = d.sortie_s.min(dur);
        let t0 = uniform(&mut r, 0.0, dur - len);
        // Half the sorties are tasked over a suspected position (a weapon, displaced by up to a
        // third of the footprint); the rest patrol a random spot.
        let center = if !objects.is_empty() && r.random::<bool>() {
            let o = &objects[r.random_range(0..objects.len())];
            let shift = uniform(
                &mut r,
                0.0,
                d.footprint_km[0].min(d.footprint_km[1]) * 1000.0 / 3.0,
            );
            Some(direct(
                LatLon::new(o.lat, o.lon),
                uniform(&mut r, 0.0, 360.0),
                shift,
            ))
        } else {
            (0..20).find_map(|_| {
                let party = &parties[r.random_range(0..parties.len())];
                let along = uniform(&mut r, from_m, to_m);
                world.off_line_near(along, uniform(&mut r, 2000.0, 20_000.0), party)
            })
        };
        let Some(center) = center else {
            continue;
        };
        // Orient the footprint along the line where it is nearest.
        let along = distance_to_polyline_m(center, &world.line).map_or(0.0, |c| {
            world.cum_m[c.segment] + distance_m(world.line[c.segment], c.point)
        });
        let (_, line_az) = world.at(along);
        let (hl, hw) = (d.footprint_km[0] * 500.0, d.footprint_km[1] * 500.0);
        let corner = |sa: f64, sc: f64| {
            let p = direct(center, line_az, sa * hl);
            direct(p, line_az + 90.0, sc * hw)
        };
        let ring = [
            corner(-1.0, -1.0),
            corner(1.0, -1.0),
            corner(1.0, 1.0),
            corner(-1.0, 1.0),
            corner(-1.0, -1.0),
        ];
        let footprint =
            Area::from_rings(&[vec![ring.iter().map(|p| [p.lon_deg, p.lat_deg]).collect()]]);
        let coords: Vec<String> = ring
            .iter()
            .map(|p| format!("[{:.6},{:.6}]", p.lon_deg, p.lat_deg))
            .collect();
        pending.push(Pending {
            source: None,
            time: ns(s.start, t0),
            sensor: idx,
            tiebreak: 0,
            body: format!(
                r#""kind":"drone_coverage","until":"{}","footprint":{{"type":"Polygon","coordinates":[[{}]]}},"classes":{classes_seen}"#,
                ns(s.start, t0 + len),
                coords.join(",")
            ),
        });
        let mut n = 1u64;
        for obj in objects.iter_mut() {
            let pos = LatLon::new(obj.lat, obj.lon);
            if !footprint.contains(pos) {
                continue;
            }
            obj.covered = true;
            if r.random::<f64>() >= d.detect_p {
                continue;
            }
            let times = 1 + poisson(&mut r, 0.5);
            for _ in 0..times {
                let confused = r.random::<f64>() < d.class_confusion;
                let class = if confused {
                    WeaponClass::Unknown
                } else {
                    obj.weapon_class
                };
                let class_p = if confused {
                    uniform(&mut r, 0.3, 0.6)
                } else {
                    uniform(&mut r, 0.6, 0.97)
                };
                let t = t0 + uniform(&mut r, 0.0, len);
                obj.sightings += 1;
                pending.push(Pending {
                    source: None,
                    time: ns(s.start, t),
                    sensor: idx,
                    tiebreak: n,
                    body: detection_body(&mut r, pos, class, class_p, d.sigma_m),
                });
                n += 1;
            }
        }
        for _ in 0..poisson(&mut r, d.false_per_sortie) {
            let p = corner(uniform(&mut r, -1.0, 1.0), uniform(&mut r, -1.0, 1.0));
            let class = [
                WeaponClass::Tank,
                WeaponClass::ArtilleryGe100,
                WeaponClass::Apc,
            ][r.random_range(0..3)];
            let class_p = uniform(&mut r, 0.1, 0.45);
            let t = t0 + uniform(&mut r, 0.0, len);
            pending.push(Pending {
                source: None,
                time: ns(s.start, t),
                sensor: idx,
                tiebreak: n,
                body: detection_body(&mut r, p, class, class_p, d.sigma_m * 2.0),
            });
            n += 1;
        }
    }

    // ---- fires and satellite passes
    let sat = &s.satellites;
    let mut fires: Vec<(Fire, LatLon, f64, f64)> = Vec::new();
    for (ri, rd) in rounds.iter().enumerate() {
        let mut r = rng(seed, "fire", ri as u64);
        if r.random::<f64>() < sat.fire_start_p {
            let len = exp(&mut r, sat.fire_mean_s);
            fires.push((
                Fire {
                    id: format!("F{:05}", fires.len() + 1),
                    cause: "impact".into(),
                    round: Some(format!("R{:06}", ri + 1)),
                    lat: rd.impact.lat_deg,
                    lon: rd.impact.lon_deg,
                    start: ns(s.start, rd.impact_t),
                    end: ns(s.start, rd.impact_t + len),
                    anomalies: 0,
                },
                rd.impact,
                rd.impact_t,
                rd.impact_t + len,
            ));
        }
    }
    {
        let mut r = rng(seed, "background-fires", 0);
        let n = poisson(&mut r, sat.background_fires_per_day * dur / 86_400.0);
        for _ in 0..n {
            let party = &parties[r.random_range(0..parties.len())];
            let along = uniform(&mut r, from_m, to_m);
            let Some(p) = world.off_line(along, uniform(&mut r, 1000.0, 30_000.0), party) else {
                continue;
            };
            let t0 = uniform(&mut r, 0.0, dur);
            let len = exp(&mut r, sat.fire_mean_s);
            fires.push((
                Fire {
                    id: format!("F{:05}", fires.len() + 1),
                    cause: "background".into(),
                    round: None,
                    lat: p.lat_deg,
                    lon: p.lon_deg,
                    start: ns(s.start, t0),
                    end: ns(s.start, t0 + len),
                    anomalies: 0,
                },
                p,
                t0,
                t0 + len,
            ));
        }
    }
    let day0 = s.start.0.div_euclid(86_400_000_000_000) * 86_400;
    let start_s = s.start.0 as f64 * 1e-9;
    let mut pass_no = 0u64;
    for day in 0..=((dur / 86_400.0).ceil() as i64 + 1) {
        for hhmm in &sat.passes_utc {
            let Some(sod) = parse_hhmm(hhmm) else {
                continue;
            };
            let t = (day0 + day * 86_400) as f64 + sod - start_s;
            if !(0.0..dur).contains(&t) {
                continue;
            }
            pass_no += 1;
            let mut r = rng(seed, "pass", pass_no);
            if r.random::<f64>() < sat.cloud_p {
                continue;
            }
            let day_time = (6.0 * 3600.0..16.0 * 3600.0).contains(&sod);
            for (fire, pos, f0, f1) in fires.iter_mut() {
                if !(*f0 <= t && t < *f1) {
                    continue;
                }
                fire.anomalies += 1;
                let px = scatter(&mut r, *pos, 130.0);
                let frp = (1.5 + normal(&mut r, 1.0)).exp();
                pending.push(Pending {
                    source: None,
                    time: ns(s.start, t),
                    sensor: gateway,
                    tiebreak: pass_no * 100_000 + fire.anomalies as u64,
                    body: format!(
                        r#""kind":"thermal_anomaly","lat":{:.5},"lon":{:.5},"frp_mw":{:.1},"brightness_k":{:.1},"scan_km":{:.2},"track_km":{:.2},"satellite":"N20","instrument":"VIIRS","confidence":"{}","daynight":"{}""#,
                        px.lat_deg,
                        px.lon_deg,
                        frp,
                        300.0 + uniform(&mut r, 0.0, 60.0),
                        uniform(&mut r, 0.37, 0.6),
                        uniform(&mut r, 0.36, 0.5),
                        if frp > 10.0 { "h" } else { "n" },
                        if day_time { "D" } else { "N" }
                    ),
                });
            }
        }
    }

    // ---- order, number, sign
    pending.sort_by(|x, y| {
        x.time
            .cmp(&y.time)
            .then(x.sensor.cmp(&y.sensor))
            .then(x.tiebreak.cmp(&y.tiebreak))
    });
    let mut seqs = vec![0u64; sensors.len()];
    let numbered: Vec<(usize, u64, &Pending)> = pending
        .iter()
        .map(|p| {
            seqs[p.sensor] += 1;
            (p.sensor, seqs[p.sensor], p)
        })
        .collect();
    let keys: Vec<SigningKey> = sensors
        .iter()
        .map(|x| SigningKey::from_bytes(&sensor_seed(seed, &x.id)))
        .collect();
    let lines: Vec<String> = numbered
        .par_iter()
        .map(|&(si, seq, p)| {
            let id = &sensors[si].id;
            let payload = format!(
                r#"{{"v":1,"sensor":"{id}","seq":{seq},"time":"{}",{}}}"#,
                p.time, p.body
            );
            truce_ingest::jws::sign(payload.as_bytes(), id, &keys[si])
        })
        .collect();
    let mut picks_truth = String::from("line,round,signal\n");
    for (line, (_, _, p)) in numbered.iter().enumerate() {
        if let Some(src) = p.source {
            picks_truth.push_str(&format!(
                "{},R{:06},{}\n",
                line + 1,
                src / 2 + 1,
                if src % 2 == 0 { "blast" } else { "detonation" }
            ));
        }
    }
    let mut jwsl = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in &lines {
        jwsl.extend_from_slice(l.as_bytes());
        jwsl.push(b'\n');
    }
    stats.observations = lines.len();

    // ---- truth
    let in_effect = |t: f64| world.agreement.in_effect_at(ns(s.start, t));
    let shots: Vec<Shot> = rounds
        .iter()
        .enumerate()
        .map(|(i, rd)| {
            let bat = &batteries[rd.battery];
            Shot {
                id: format!("R{:06}", i + 1),
                battery: bat.id.clone(),
                party: bat.party.clone(),
                weapon_class: bat.class,
                time: ns(s.start, rd.launch_t),
                lat: rd.launch.lat_deg,
                lon: rd.launch.lon_deg,
                impact: TruthImpact {
                    lat: rd.impact.lat_deg,
                    lon: rd.impact.lon_deg,
                    time: ns(s.start, rd.impact_t),
                },
                in_effect: in_effect(rd.launch_t),
                blast_picks: blast_counts[i],
                detonation_picks: det_counts[i],
                radar_launch: radar_launch[i],
                radar_impact: radar_impact[i],
                launch_detectable: blast_counts[i] >= 4 || radar_launch[i] > 0,
                impact_detectable: det_counts[i] >= 4 || radar_impact[i] > 0,
                crb_m: cramer_rao_m(rd.launch, &blast_geoms[i]),
                impact_crb_m: cramer_rao_m(rd.impact, &det_geoms[i]),
            }
        })
        .collect();
    let mut violations: Vec<TruthViolation> = shots
        .iter()
        .filter(|sh| sh.in_effect)
        .map(|sh| TruthViolation {
            kind: "firing".into(),
            party: sh.party.clone(),
            time: sh.time,
            lat: sh.lat,
            lon: sh.lon,
            weapon_class: sh.weapon_class,
            impact: Some(sh.impact.clone()),
            detectable: sh.launch_detectable || sh.impact_detectable,
            crb_m: sh.crb_m,
            impact_crb_m: sh.impact_crb_m,
            id: Some(sh.id.clone()),
        })
        .collect();
    let day_start = UtcNanos(s.start.0.div_euclid(86_400_000_000_000) * 86_400_000_000_000);
    if world.agreement.in_effect_at(s.start) {
        for obj in &objects {
            for (flag, kind) in [
                (obj.in_withdrawal_zone, "weapon_in_withdrawal_zone"),
                (obj.in_buffer_zone, "buffer_zone_presence"),
            ] {
                if flag {
                    violations.push(TruthViolation {
                        kind: kind.into(),
                        party: obj.party.clone(),
                        time: day_start,
                        lat: obj.lat,
                        lon: obj.lon,
                        weapon_class: obj.weapon_class,
                        impact: None,
                        detectable: obj.sightings > 0,
                        crb_m: None,
                        impact_crb_m: None,
                        id: Some(obj.id.clone()),
                    });
                }
            }
        }
    }
    let truth = Truth {
        scenario: s.name.clone(),
        violations,
        shots,
        objects,
        fires: fires.into_iter().map(|f| f.0).collect(),
        stats,
    };
    let keys = sensors
        .iter()
        .map(|x| (x.id.clone(), sensor_seed(seed, &x.id)))
        .collect();
    Ok(Simulation {
        agreement_json,
        registry: SensorRegistry { sensors },
        keys,
        jwsl,
        truth,
        picks_truth,
    })
}

/// The Ed25519 seed of a simulated sensor: SHA-256 of `truce-sim/<seed>/<id>`.
pub fn sensor_seed(seed: u64, id: &str) -> [u8; 32] {
    Sha256::digest(format!("truce-sim/{seed}/{id}").as_bytes()).into()
}

fn pick_body(
    sigma: f64,
    blast: bool,
    p: f64,
    snr: f64,
    back_az: Option<f64>,
    baz_sigma: f64,
) -> String {
    let mut b = format!(
        r#""kind":"acoustic_pick","time_sigma_s":{sigma:.6},"signal":"{}","signal_p":{p:.2},"snr_db":{snr:.1}"#,
        if blast { "blast" } else { "detonation" }
    );
    if let Some(az) = back_az {
        b += &format!(r#","back_azimuth_deg":[{az:.2}],"back_azimuth_sigma_deg":[{baz_sigma:.2}]"#);
    }
    b
}

fn detection_body(
    r: &mut ChaCha8Rng,
    pos: LatLon,
    class: WeaponClass,
    class_p: f64,
    sigma_m: f64,
) -> String {
    let seen = scatter(r, pos, sigma_m);
    let platform = direct(pos, uniform(r, 0.0, 360.0), uniform(r, 300.0, 1500.0));
    let mut frame = [0u8; 32];
    for b in frame.iter_mut() {
        *b = r.random();
    }
    let hash: String = Sha256::digest(frame)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let class = serde_json::to_string(&class).unwrap_or_else(|_| "\"unknown\"".into());
    format!(
        r#""kind":"drone_detection","target":{{"lat":{:.6},"lon":{:.6},"sigma_m":{sigma_m:.1}}},"class":{class},"class_p":{class_p:.2},"platform":{{"lat":{:.6},"lon":{:.6},"alt_m":{:.0}}},"media_sha256":"{hash}""#,
        seen.lat_deg,
        seen.lon_deg,
        platform.lat_deg,
        platform.lon_deg,
        uniform(r, 300.0, 800.0)
    )
}

/// Exposed for tests: the arrival-time model used for every pick (without noise).
pub fn noiseless_arrival(s: &Scenario, source: LatLon, t_s: f64, sensor: LatLon) -> f64 {
    let temp = temperature_at(s, t_s);
    t_s + physics::travel_time_s(
        source,
        sensor,
        temp,
        s.weather.wind_speed_mps,
        s.weather.wind_from_deg,
    )
}

/// Keys as JSON (`keys.json`): `{"keys":[{"id":..,"d":"<base64url seed>"}]}`.
pub fn keys_json(keys: &[(String, [u8; 32])]) -> String {
    use base64::Engine;
    let list: Vec<serde_json::Value> = keys
        .iter()
        .map(|(id, d)| {
            serde_json::json!({"id": id, "kty": "OKP", "crv": "Ed25519",
                "d": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)})
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({"keys": list})).unwrap_or_default() + "\n"
}

/// Counts of observations by kind in a `.jwsl` body (for summaries).
pub fn kinds(jwsl: &[u8]) -> BTreeMap<String, usize> {
    use base64::Engine;
    let mut out = BTreeMap::new();
    for line in jwsl.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let kind = line
            .split(|b| *b == b'.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .and_then(|v| v["kind"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        *out.entry(kind).or_default() += 1;
    }
    out
}
