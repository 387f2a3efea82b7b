//! Generated inputs with known truth.
//!
//! For now: [`sample::sample`], the small registry and observation file with a valid entry of
//! every kind and an invalid entry of every reason code (the `testdata/sample` set), and
//! [`bulk::bulk`], large signed observation streams for benchmarks and crash tests. Keys are
//! derived from names, so every output is the same on every machine.

pub mod agreements;
pub mod bulk;
pub mod generate;
pub mod physics;
pub mod sample;
pub mod scenario;
pub mod score;
pub mod truth;
pub mod world;

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use truce_model::{Jwk, Position, Sensor, SensorKind};

/// The workplace's read-only real data sets (`../shared/data` beside the repository), if
/// present. Tests that need them skip with this message where they are absent (a fresh machine
/// outside the workplace has none).
pub fn shared_data() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} not found (real data lives in ../shared/data)",
            p.display()
        );
        None
    }
}

/// A deterministic Ed25519 key for test data: SHA-256 of `truce-sim/<name>`. Never use for real
/// sensors.
pub fn test_key(name: &str) -> SigningKey {
    let seed: [u8; 32] = Sha256::digest(format!("truce-sim/{name}").as_bytes()).into();
    SigningKey::from_bytes(&seed)
}

/// A registry entry for a sensor whose key is [`test_key`] of its id.
pub fn test_sensor(id: &str, kind: SensorKind, owner: &str, position: Option<Position>) -> Sensor {
    Sensor {
        id: id.into(),
        kind,
        owner: owner.into(),
        key: Jwk::ed25519(test_key(id).verifying_key().as_bytes()),
        position,
        timing_sigma_s: matches!(kind, SensorKind::Acoustic).then_some(0.001),
        active_from: None,
        active_until: None,
    }
}
