//! Publishing: the report parties and the press read, and the bundle that lets any party
//! re-check it offline, bit for bit.
//!
//! - [`analyse`]: the engine's run on evidence-log entries and the exact text of
//!   `events.geojson` and `violations.geojson`; `truce process` and [`bundle::verify`] with
//!   `full` both run it, so that a re-run is byte for byte the published one (without `full`,
//!   `verify` re-runs the assessment alone from the published events);
//! - [`bundle`]: the signed bundle (format, building, offline verification);
//! - [`html`]: the self-contained HTML report, KML and Cursor-on-Target exports.

pub mod bundle;
pub mod html;

use rayon::prelude::*;
use truce_model::{Agreement, SensorRegistry};

/// Why a report or bundle could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not a readable bundle: empty, not a bundle, unknown version, truncated, or about another
    /// agreement (exit 2).
    #[error("{0}")]
    NotABundle(String),
    /// An input (store, key, agreement, registry) is unusable.
    #[error("{0}")]
    Input(String),
    /// The evidence log.
    #[error(transparent)]
    Log(#[from] truce_log::LogError),
    /// The store.
    #[error(transparent)]
    Store(#[from] truce_ingest::StoreError),
    /// JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Files.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Attach what was being done to an error or a missing value.
pub(crate) trait Ctx<T> {
    fn ctx(self, what: impl std::fmt::Display) -> Result<T, ReportError>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: impl std::fmt::Display) -> Result<T, ReportError> {
        self.map_err(|e| ReportError::Input(format!("{what}: {e}")))
    }
}

impl<T> Ctx<T> for Option<T> {
    fn ctx(self, what: impl std::fmt::Display) -> Result<T, ReportError> {
        self.ok_or_else(|| ReportError::Input(what.to_string()))
    }
}

/// The engine's run on evidence-log entries (in log order), and its two outputs as the exact
/// text of `events.geojson` and `violations.geojson`.
#[derive(Debug, Default)]
pub struct Analysis {
    /// What the engine returned.
    pub output: truce_engine::Output,
    /// `events.geojson`.
    pub events_text: String,
    /// `violations.geojson`.
    pub findings_text: String,
}

/// Run the engine on `entries` (the evidence log's envelopes, index = position).
pub fn analyse(
    agreement: Agreement,
    registry: &SensorRegistry,
    entries: &[impl AsRef<[u8]> + Sync],
) -> Result<Analysis, ReportError> {
    analyse_with_progress(agreement, registry, entries, &|_, _| {})
}

/// [`analyse`], telling `progress` how the association goes (see
/// `truce_engine::run_with_progress`).
pub fn analyse_with_progress(
    agreement: Agreement,
    registry: &SensorRegistry,
    entries: &[impl AsRef<[u8]> + Sync],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Analysis, ReportError> {
    // Each entry parses on its own: on all cores, in log order (the error told is the lowest
    // entry's, as one core would find it).
    let observations = entries
        .par_iter()
        .enumerate()
        .map(|(i, entry)| {
            let entry = entry.as_ref();
            let jws = truce_ingest::jws::parse(entry)
                .map_err(|(_, m)| ReportError::Input(format!("evidence entry {i}: {m}")))?;
            let observation = truce_model::Observation::from_json(&jws.payload)
                .ctx(format!("evidence entry {i} no longer parses"))?;
            Ok(truce_engine::Evidence {
                leaf_index: i as u64,
                leaf_hash: truce_log::hex(&truce_log::record_hash(entry)),
                observation,
            })
        })
        .collect::<Vec<Result<_, ReportError>>>()
        .into_iter()
        .collect::<Result<Vec<_>, ReportError>>()?;
    let never = std::sync::atomic::AtomicBool::new(false);
    analyse_evidence_until(agreement, registry, observations, progress, &never)
        .map(Option::unwrap_or_default)
}

/// [`analyse_with_progress`] on entries already parsed, as it parses them (`leaf_index` their
/// place in the log, `leaf_hash` the hex of their RFC 6962 leaf hash, `observation` their
/// payload), given up (`Ok(None)`) soon after `stop` is set: `truce process` starts it on the
/// envelopes it expects the log to hold, and stops it when ingest shows otherwise.
pub fn analyse_evidence_until(
    agreement: Agreement,
    registry: &SensorRegistry,
    observations: Vec<truce_engine::Evidence>,
    progress: &(dyn Fn(usize, usize) + Sync),
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<Analysis>, ReportError> {
    let Some(output) = truce_engine::run_until(
        &truce_engine::Input {
            agreement: Some(agreement),
            registry: registry.clone(),
            observations,
        },
        &truce_engine::Config::default(),
        progress,
        stop,
    ) else {
        return Ok(None);
    };
    // The two texts (tens of megabytes each on a day) are written side by side.
    let (events_text, findings_text) = rayon::join(
        || truce_engine::events_geojson_text(&output.events, registry),
        || truce_engine::violations_geojson_text(&output.findings, registry),
    );
    Ok(Some(Analysis {
        events_text: events_text? + "\n",
        findings_text: findings_text? + "\n",
        output,
    }))
}
