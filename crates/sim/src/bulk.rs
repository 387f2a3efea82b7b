//! Large signed observation streams: acoustic picks from many sensors, time-ordered.

use ed25519_dalek::SigningKey;
use rayon::prelude::*;
use truce_ingest::jws;
use truce_model::{Position, SensorKind, SensorRegistry, UtcNanos};

use crate::{test_key, test_sensor};

/// A registry and a `.jwsl` body.
#[derive(Debug, Clone)]
pub struct Bulk {
    /// The registry.
    pub registry: SensorRegistry,
    /// One signed observation per line.
    pub jwsl: Vec<u8>,
}

/// `n_obs` signed `acoustic_pick` observations from `n_sensors` sensors on a grid near 48N 37.5E,
/// round-robin, 10 ms apart from `start`. Deterministic (signing runs on all cores; Ed25519
/// signatures do not depend on order).
pub fn bulk(n_sensors: usize, n_obs: usize, start: UtcNanos) -> Bulk {
    let n_sensors = n_sensors.max(1);
    let sensors: Vec<_> = (0..n_sensors)
        .map(|i| {
            let pos = Position {
                lat_deg: 47.5 + (i / 25) as f64 * 0.05,
                lon_deg: 37.0 + (i % 25) as f64 * 0.05,
                alt_m: 150.0,
            };
            test_sensor(
                &format!("AC-{i:04}"),
                SensorKind::Acoustic,
                &format!("OWN-{}", i % 5),
                Some(pos),
            )
        })
        .collect();
    let keys: Vec<SigningKey> = sensors.iter().map(|s| test_key(&s.id)).collect();
    let lines: Vec<String> = (0..n_obs)
        .into_par_iter()
        .map(|k| {
        let s = k % n_sensors;
        let seq = (k / n_sensors) as u64 + 1;
        let t = UtcNanos(start.0 + k as i64 * 10_000_000);
        let payload = format!(
            r#"{{"v":1,"sensor":"{}","seq":{seq},"time":"{t}","kind":"acoustic_pick","time_sigma_s":0.005,"signal":"{}","signal_p":0.85,"snr_db":{:.1}}}"#,
            sensors[s].id,
            if k % 3 == 0 { "detonation" } else { "blast" },
            8.0 + (k % 17) as f64
        );
        jws::sign(payload.as_bytes(), &sensors[s].id, &keys[s])
        })
        .collect();
    let mut jwsl = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        jwsl.extend_from_slice(l.as_bytes());
        jwsl.push(b'\n');
    }
    Bulk {
        registry: SensorRegistry { sensors },
        jwsl,
    }
}
