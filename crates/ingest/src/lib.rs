//! Ingest of signed observations into the evidence log, with a quarantine for everything refused.
//!
//! The main type is [`Store`]: a directory holding the evidence log (accepted envelopes, byte for
//! byte as received) and the quarantine log (refused lines with a [`Reason`]), both durable
//! [`truce_log::Log`]s with signed checkpoints. [`Store::ingest`] takes the bytes of a `.jwsl`
//! file and applies every acceptance rule of FORMATS section 2:
//!
//! ```text
//! line <= 64 KiB -> UTF-8 -> compact JWS, alg EdDSA -> kid registered -> signature verifies
//!   -> payload valid for its kind -> sensor == kid -> sensor active at time
//!   -> not already logged -> seq greater than the sensor's last
//! ```
//!
//! Lines are handled in groups: parsing, hashing and batched Ed25519 verification run on all
//! cores, the decisions run in file order, and each group is committed (`fsync`) before it is
//! acknowledged. Ingesting the same file twice changes nothing in the evidence log.
//!
//! ```
//! # use truce_ingest::{Keyring, Store, IngestOptions};
//! # use truce_model::SensorRegistry;
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = Store::open_or_create(dir.path(), None).unwrap();
//! let keyring = Keyring::new(&SensorRegistry::default()).unwrap();
//! let summary = store
//!     .ingest(&keyring, "obs.jwsl", b"not a jws\n", &IngestOptions::default(), &mut |_| {})
//!     .unwrap();
//! assert_eq!(summary.rejected(), 1);
//! ```

pub mod firms;
pub mod jws;
pub mod quarantine;
mod reason;
mod store;

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;
use truce_model::{Sensor, SensorRegistry};

pub use quarantine::QuarantineRecord;
pub use reason::Reason;
pub use store::{
    Expected, IngestOptions, IngestSummary, ParsedEnvelopes, Progress, Recheck, Store, StoreConfig,
    StoreError, StoreVerifyReport, expected_envelopes, parse_envelopes, parse_input,
    recheck_envelopes,
};

/// Longest line accepted, in bytes (without the newline). FORMATS says "at most 64 KiB"; the
/// evidence log's tiles store entry lengths as uint16, so the exact limit is 65,535.
pub const MAX_LINE_LEN: usize = truce_log::MAX_ENTRY_LEN;

/// The registry's sensors with their decoded keys, indexed by id.
#[derive(Debug, Clone)]
pub struct Keyring {
    // A hash map is fine here: it is only looked up, never iterated into output.
    by_id: HashMap<String, usize>,
    sensors: Vec<Sensor>,
    keys: Vec<VerifyingKey>,
}

/// Why a registry cannot be used for ingest.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// A key is not a valid Ed25519 point, or is weak (small order).
    #[error("sensor {id:?}: {problem}")]
    BadKey {
        /// The sensor.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// The registry itself is invalid.
    #[error(transparent)]
    Registry(#[from] truce_model::RegistryError),
}

impl Keyring {
    /// Decode every key of a registry.
    pub fn new(registry: &SensorRegistry) -> Result<Self, KeyringError> {
        registry.validate()?;
        let mut by_id = HashMap::new();
        let mut keys = Vec::new();
        for (i, s) in registry.sensors.iter().enumerate() {
            let bad = |problem: String| KeyringError::BadKey {
                id: s.id.clone(),
                problem,
            };
            let bytes = s.key.ed25519_public_bytes().map_err(bad)?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| bad("key x is not a valid Ed25519 public key".into()))?;
            // Small-order keys admit signatures that batch and single verification judge
            // differently; refusing them keeps acceptance the same for every re-checker.
            if key.is_weak() {
                return Err(bad("key x is a small-order (weak) Ed25519 point".into()));
            }
            by_id.insert(s.id.clone(), i);
            keys.push(key);
        }
        Ok(Keyring {
            by_id,
            sensors: registry.sensors.clone(),
            keys,
        })
    }

    /// Look a sensor up: its index, record and key.
    pub fn get(&self, id: &str) -> Option<(usize, &Sensor, &VerifyingKey)> {
        self.by_id
            .get(id)
            .map(|&i| (i, &self.sensors[i], &self.keys[i]))
    }

    /// Number of sensors.
    pub fn len(&self) -> usize {
        self.sensors.len()
    }

    /// True when there are no sensors.
    pub fn is_empty(&self) -> bool {
        self.sensors.is_empty()
    }
}

/// Counts of refusals by reason, in reason order.
pub type ReasonCounts = BTreeMap<Reason, u64>;
