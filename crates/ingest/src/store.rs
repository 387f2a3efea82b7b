//! The persistent store: evidence log, quarantine log, their keys, and the per-sensor state that
//! the acceptance rules need (rebuilt from the evidence log on open).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Verifier;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use truce_log::{Hash, Log, LogError, LogSigner, VerifyReport, record_hash};
use truce_model::{Observation, PayloadError};

use crate::jws::{self, CompactJws};
use crate::quarantine::QuarantineRecord;
use crate::{Keyring, MAX_LINE_LEN, Reason, ReasonCounts};

/// `store.json`: what a store is and the public keys its checkpoints verify with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Always `truce-store`.
    pub format: String,
    /// Layout version, 1.
    pub version: u32,
    /// Verifier key of the evidence log's checkpoints (C2SP note verifier key).
    pub evidence_vkey: String,
    /// Verifier key of the quarantine log's checkpoints.
    pub quarantine_vkey: String,
}

const CONFIG_FILE: &str = "store.json";
const EVIDENCE_DIR: &str = "evidence";
const QUARANTINE_DIR: &str = "quarantine";
const KEYS_DIR: &str = "keys";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// An I/O error outside the logs.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `store.json` is missing or wrong.
    #[error("{path}: {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Ingest settings.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Lines per group commit.
    pub group_lines: usize,
    /// Signatures per batch verification.
    pub verify_batch: usize,
    /// Signatures per first batch verification while every signature of the last group was
    /// good: a batch that fails is checked again in batches of `verify_batch`. 0 (or not above
    /// `verify_batch`) for batches of `verify_batch` only.
    pub clean_batch: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            group_lines: 8192,
            verify_batch: 64,
            clean_batch: 512,
        }
    }
}

/// Reported after each durable group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes handled so far.
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
    /// Observations accepted and durable so far (this call).
    pub accepted: u64,
    /// Lines quarantined and durable so far (this call).
    pub rejected: u64,
    /// Evidence log size after the commit.
    pub log_size: u64,
}

/// What one [`Store::ingest`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Non-blank lines read.
    pub lines: u64,
    /// Blank lines skipped (not observations).
    pub blank_lines: u64,
    /// Observations appended to the evidence log.
    pub accepted: u64,
    /// Refusals by reason.
    pub by_reason: ReasonCounts,
    /// Evidence log size before and after.
    pub log_size_before: u64,
    /// Evidence log size after.
    pub log_size_after: u64,
    /// The first refusals as `file:line: code: message` (at most [`MESSAGE_LIMIT`]).
    pub messages: Vec<String>,
}

/// How many refusal messages a summary keeps; the quarantine keeps all.
pub const MESSAGE_LIMIT: usize = 50;

impl IngestSummary {
    /// Lines quarantined.
    pub fn rejected(&self) -> u64 {
        self.by_reason.values().sum()
    }
}

/// What [`Store::verify`] found in both logs.
#[derive(Debug, Clone)]
pub struct StoreVerifyReport {
    /// The evidence log.
    pub evidence: VerifyReport,
    /// The quarantine log.
    pub quarantine: VerifyReport,
    /// Quarantine entries that are not valid records.
    pub bad_quarantine_records: Vec<u64>,
}

impl StoreVerifyReport {
    /// True when both logs verify.
    pub fn ok(&self) -> bool {
        self.evidence.ok() && self.quarantine.ok() && self.bad_quarantine_records.is_empty()
    }
}

/// An open store. One writer at a time.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    config: StoreConfig,
    evidence: Log,
    quarantine: Log,
    evidence_signer: Option<LogSigner>,
    quarantine_signer: Option<LogSigner>,
    seqs: HashMap<String, SensorSeqs>,
}

/// The sequence numbers a sensor has in the evidence log.
#[derive(Debug, Default)]
struct SensorSeqs {
    last: u64,
    accepted: HashSet<u64>,
}

impl SensorSeqs {
    fn add(&mut self, seq: u64) {
        self.last = self.last.max(seq);
        self.accepted.insert(seq);
    }
}

/// The `sensor` and `seq` of an envelope already in the log.
#[derive(Deserialize)]
struct SeqOf {
    sensor: String,
    seq: u64,
}

fn seq_of(envelope: &[u8]) -> Option<(String, u64)> {
    let payload_b64 = envelope.split(|b| *b == b'.').nth(1)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let s: SeqOf = serde_json::from_slice(&payload).ok()?;
    Some((s.sensor, s.seq))
}

impl Store {
    /// Open the store in `dir`, creating it (with fresh log keys) if it does not exist.
    /// `origin` names the logs of a new store (`<origin>/evidence`, `<origin>/quarantine`);
    /// default `truce.local`.
    pub fn open_or_create(dir: &Path, origin: Option<&str>) -> Result<Store, StoreError> {
        if !dir.join(CONFIG_FILE).exists() {
            Store::create(dir, origin.unwrap_or("truce.local"))?;
        }
        Store::open(dir)
    }

    fn create(dir: &Path, origin: &str) -> Result<(), StoreError> {
        let keys_dir = dir.join(KEYS_DIR);
        fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
        let ev = truce_log::generate_key(&format!("{origin}/evidence"))?;
        let qu = truce_log::generate_key(&format!("{origin}/quarantine"))?;
        for (name, key) in [("evidence.key", &ev.skey), ("quarantine.key", &qu.skey)] {
            write_private(&keys_dir.join(name), key)?;
        }
        let config = StoreConfig {
            format: "truce-store".into(),
            version: 1,
            evidence_vkey: ev.vkey,
            quarantine_vkey: qu.vkey,
        };
        let text = serde_json::to_vec_pretty(&config).map_err(|e| StoreError::Config {
            path: dir.join(CONFIG_FILE),
            problem: e.to_string(),
        })?;
        // A log always has a signed checkpoint, from size 0 on, so that `verify` has something
        // to check against even if the first ingest is killed.
        for (sub, key) in [(EVIDENCE_DIR, &ev.skey), (QUARANTINE_DIR, &qu.skey)] {
            let (mut log, _) = Log::open(&dir.join(sub))?;
            log.checkpoint(&LogSigner::from_skey(key)?)?;
        }
        // store.json last: a store without it is not a store, and creation starts over.
        truce_log::write_atomic(dir, CONFIG_FILE, &text)?;
        Ok(())
    }

    /// Read `store.json` of a store.
    pub fn read_config(dir: &Path) -> Result<StoreConfig, StoreError> {
        let path = dir.join(CONFIG_FILE);
        let bytes = fs::read(&path).map_err(|e| StoreError::Config {
            path: path.clone(),
            problem: format!("not a Truce store ({e})"),
        })?;
        let config: StoreConfig =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Config {
                path: path.clone(),
                problem: e.to_string(),
            })?;
        if config.format != "truce-store" || config.version != 1 {
            return Err(StoreError::Config {
                path,
                problem: format!(
                    "format {:?} version {} is not truce-store version 1",
                    config.format, config.version
                ),
            });
        }
        Ok(config)
    }

    /// Open an existing store. Torn tails left by a crash are cut; the per-sensor state is
    /// rebuilt from the evidence log.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let config = Store::read_config(dir)?;
        let mut seqs: HashMap<String, SensorSeqs> = HashMap::new();
        let (evidence, _) = Log::open_visiting(&dir.join(EVIDENCE_DIR), |_, entry| {
            if let Some((sensor, seq)) = seq_of(entry) {
                seqs.entry(sensor).or_default().add(seq);
            }
        })?;
        let (quarantine, _) = Log::open(&dir.join(QUARANTINE_DIR))?;
        let signer = |name: &str| -> Option<LogSigner> {
            let text = fs::read_to_string(dir.join(KEYS_DIR).join(name)).ok()?;
            LogSigner::from_skey(&text).ok()
        };
        Ok(Store {
            dir: dir.to_owned(),
            config,
            evidence,
            quarantine,
            evidence_signer: signer("evidence.key"),
            quarantine_signer: signer("quarantine.key"),
            seqs,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The evidence log.
    pub fn evidence(&self) -> &Log {
        &self.evidence
    }

    /// The quarantine log.
    pub fn quarantine(&self) -> &Log {
        &self.quarantine
    }

    /// The last accepted `seq` of a sensor, if it has any observation in the evidence log.
    pub fn last_seq(&self, sensor: &str) -> Option<u64> {
        self.seqs.get(sensor).map(|s| s.last)
    }

    /// Quarantine a row of an external feed that never became an observation (for example an
    /// unreadable FIRMS CSV row). Durable when this returns.
    pub fn quarantine_feed_row(
        &mut self,
        source: &str,
        line: u64,
        raw: &[u8],
        reason: Reason,
        message: String,
    ) -> Result<(), StoreError> {
        let rec = QuarantineRecord::new(reason, message, source, line, raw);
        self.quarantine.append(&rec.to_json())?;
        self.quarantine.commit()?;
        Ok(())
    }

    /// Sign and write checkpoints (and tiles) of both logs with the store's keys.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let (Some(ev), Some(qu)) = (&self.evidence_signer, &self.quarantine_signer) else {
            return Err(StoreError::Config {
                path: self.dir.join(KEYS_DIR),
                problem: "the log signing keys are not in this store; cannot sign a checkpoint"
                    .into(),
            });
        };
        self.evidence.checkpoint(ev)?;
        self.quarantine.checkpoint(qu)?;
        Ok(())
    }

    /// Every quarantine record, in order. Entries that do not parse are reported by index.
    pub fn quarantine_records(&self) -> Result<Vec<Result<QuarantineRecord, u64>>, StoreError> {
        (0..self.quarantine.size())
            .map(|i| {
                let bytes = self.quarantine.entry(i)?;
                Ok(serde_json::from_slice(&bytes).map_err(|_| i))
            })
            .collect()
    }

    /// Verify both logs of the store in `dir` offline: records, checkpoints, tiles.
    pub fn verify(dir: &Path) -> Result<StoreVerifyReport, StoreError> {
        let config = Store::read_config(dir)?;
        let evidence = truce_log::verify_dir(&dir.join(EVIDENCE_DIR), &config.evidence_vkey)?;
        let quarantine = truce_log::verify_dir(&dir.join(QUARANTINE_DIR), &config.quarantine_vkey)?;
        let mut bad = Vec::new();
        if quarantine.ok() {
            let (q, _) = Log::open_read_only(&dir.join(QUARANTINE_DIR))?;
            for i in 0..q.size() {
                if serde_json::from_slice::<QuarantineRecord>(&q.entry(i)?).is_err() {
                    bad.push(i);
                }
            }
        }
        Ok(StoreVerifyReport {
            evidence,
            quarantine,
            bad_quarantine_records: bad,
        })
    }

    /// Ingest the bytes of one observation file named `source`. Calls `progress` after every
    /// durable group commit: what it reports as accepted survives any crash after the call.
    pub fn ingest(
        &mut self,
        keyring: &Keyring,
        source: &str,
        input: &[u8],
        opts: &IngestOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestSummary, StoreError> {
        let lines = split_lines(input);
        self.ingest_lines(
            keyring,
            source,
            &lines,
            input.len(),
            |group| parse_group(keyring, group),
            opts,
            progress,
        )
    }

    /// [`Store::ingest`] of an input parsed already ([`parse_input`]), which is not parsed
    /// again: `truce process` parses its inputs once for ingest and for the analysis it starts
    /// beside it ([`expected_envelopes`]). The same decisions, records and log.
    pub fn ingest_parsed(
        &mut self,
        source: &str,
        input: ParsedEnvelopes<'_>,
        opts: &IngestOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestSummary, StoreError> {
        let ParsedEnvelopes {
            keyring,
            lines,
            parsed,
        } = input;
        let len = lines.last().map_or(0, |l| l.end);
        let mut parsed = parsed.into_iter();
        self.ingest_lines(
            keyring,
            source,
            &lines,
            len,
            |group| parsed.by_ref().take(group.len()).collect(),
            opts,
            progress,
        )
    }

    /// Ingest `lines` (of an input of `len` bytes) in groups, each parsed by `parse`.
    #[allow(clippy::too_many_arguments)]
    fn ingest_lines<'a>(
        &mut self,
        keyring: &Keyring,
        source: &str,
        lines: &[Line<'a>],
        len: usize,
        mut parse: impl FnMut(&[Line<'a>]) -> Vec<Result<Parsed<'a>, Refusal>>,
        opts: &IngestOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestSummary, StoreError> {
        let mut summary = IngestSummary {
            log_size_before: self.evidence.size(),
            ..IngestSummary::default()
        };
        let small = opts.verify_batch.max(1);
        // Large batches while signatures are good (a day's 200,000 in batches of 512 took 18 %
        // less CPU than in batches of 64), small ones after a group with a bad one: a failed
        // batch is checked again in small batches, which costs more than it saved once bad
        // signatures are as common as one a large batch.
        let mut batch = opts.clean_batch.max(small);
        for group in lines.chunks(opts.group_lines.max(1)) {
            let (checked, all_good) = check_group(keyring, parse(group), group, batch, small);
            batch = if all_good {
                opts.clean_batch.max(small)
            } else {
                small
            };
            for (line, result) in group.iter().zip(checked) {
                if line.bytes.is_empty() {
                    summary.blank_lines += 1;
                    continue;
                }
                summary.lines += 1;
                match self.decide(keyring, line, result) {
                    Ok(()) => summary.accepted += 1,
                    Err(refusal) => {
                        let rec = refusal.into_record(source, line);
                        *summary.by_reason.entry(rec.reason).or_default() += 1;
                        if summary.messages.len() < MESSAGE_LIMIT {
                            summary.messages.push(rec.display_line());
                        }
                        self.quarantine.append(&rec.to_json())?;
                    }
                }
            }
            // Evidence first: an observation is never both lost from the log and absent from the
            // quarantine, whatever instant a crash hits.
            self.evidence.commit()?;
            self.quarantine.commit()?;
            let done = group.last().map_or(0, |l| l.end);
            progress(Progress {
                bytes_done: done as u64,
                bytes_total: len as u64,
                accepted: summary.accepted,
                rejected: summary.rejected(),
                log_size: self.evidence.size(),
            });
        }
        summary.log_size_after = self.evidence.size();
        Ok(summary)
    }

    /// The in-order rules (`rules`), then the append.
    fn decide(
        &mut self,
        keyring: &Keyring,
        line: &Line<'_>,
        result: Checked,
    ) -> Result<(), Refusal> {
        let c = result?;
        rules(keyring, &self.seqs, &c.kid, &c.obs)?;
        self.evidence
            .append_hashed(line.bytes, c.leaf)
            .map_err(|e| Refusal::new(Reason::LineTooLong, e.to_string()))?;
        self.seqs.entry(c.kid).or_default().add(c.obs.seq);
        Ok(())
    }
}

/// The in-order rules of an observation whose envelope checked: kid/sensor match, active
/// period, replay, sequence, against the sequence numbers accepted so far.
fn rules(
    keyring: &Keyring,
    seqs: &HashMap<String, SensorSeqs>,
    kid: &str,
    obs: &Observation,
) -> Result<(), Refusal> {
    let (_, sensor, _) = keyring
        .get(kid)
        .ok_or_else(|| Refusal::new(Reason::UnknownSensor, "sensor vanished".into()))?;
    let refuse = |reason, message: String| Refusal {
        reason,
        message,
        sensor: Some(kid.to_owned()),
        seq: Some(obs.seq),
    };
    if obs.sensor != kid {
        return Err(refuse(
            Reason::KidMismatch,
            format!(
                "payload sensor {:?} differs from header kid {:?}",
                obs.sensor, kid
            ),
        ));
    }
    if !sensor.active_at(obs.time) {
        return Err(refuse(
            Reason::InactiveSensor,
            format!("sensor {kid} is not active at {}", obs.time),
        ));
    }
    if let Some(known) = seqs.get(kid) {
        // FORMATS: "a repeat is a replay", whether the envelope is identical or not.
        if known.accepted.contains(&obs.seq) {
            return Err(refuse(
                Reason::Replay,
                format!(
                    "seq {} of sensor {kid} is already in the evidence log",
                    obs.seq
                ),
            ));
        }
        if obs.seq < known.last {
            return Err(refuse(
                Reason::SeqDecreasing,
                format!(
                    "seq {} is lower than the last accepted seq {}",
                    obs.seq, known.last
                ),
            ));
        }
    }
    Ok(())
}

/// An envelope a new store would log (see [`expected_envelopes`]), with what ingest found
/// parsing it.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The envelope's bytes, as the log would hold them.
    pub envelope: &'a [u8],
    /// Which input it is in, and the offset just after its line there: ingest's
    /// [`Progress::bytes_done`] after the group that logs it is at least this.
    pub input: usize,
    /// See `input`.
    pub end: usize,
    /// Its RFC 6962 leaf hash.
    pub leaf: Hash,
    /// Its payload.
    pub observation: Observation,
}

/// The envelopes a new store would log from `inputs` (files, in order, parsed by
/// [`parse_input`]) if every signature verified: the same parsing and in-order rules as
/// [`Store::ingest`], without the signatures (most of ingest's work) and without writing
/// anything; the payloads are copies. `truce process` starts the analysis on these while
/// ingest checks the signatures, and keeps it only if the log came out the same (a bad
/// signature is the only way it can differ).
pub fn expected_envelopes<'a>(inputs: &[ParsedEnvelopes<'a>]) -> Vec<Expected<'a>> {
    let mut seqs: HashMap<String, SensorSeqs> = HashMap::new();
    let mut out = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        for (line, p) in input.lines.iter().zip(&input.parsed) {
            if let Ok(p) = p
                && let Ok(observation) = &p.obs
                && rules(input.keyring, &seqs, &p.jws.kid, observation).is_ok()
                && line.bytes.len() <= truce_log::MAX_ENTRY_LEN
            {
                match seqs.get_mut(&p.jws.kid) {
                    Some(known) => known.add(observation.seq),
                    None => seqs
                        .entry(p.jws.kid.clone())
                        .or_default()
                        .add(observation.seq),
                }
                out.push(Expected {
                    envelope: line.bytes,
                    input: k,
                    end: line.end,
                    leaf: p.leaf,
                    observation: observation.clone(),
                });
            }
        }
    }
    out
}

/// What a new store would decide about one envelope (see [`recheck_envelopes`]).
#[derive(Debug, Clone)]
// Nearly every value is `Accepted` (a log's envelopes): boxing its payload would allocate once
// more for each to save space on the rare refusal.
#[allow(clippy::large_enum_variant)]
pub enum Recheck {
    /// Logged: its RFC 6962 leaf hash and its payload.
    Accepted {
        /// Its leaf hash.
        leaf: Hash,
        /// Its payload.
        observation: Observation,
    },
    /// Quarantined, with the reason and message ingest would record.
    Refused {
        /// Why.
        reason: Reason,
        /// Ingest's message.
        message: String,
    },
}

/// What a new store would decide about each of `envelopes`, in order, if they were ingested
/// as lines of one file: the same parsing, batched signature checks and in-order rules as
/// [`Store::ingest`] (its decisions do not depend on how lines are grouped), with nothing
/// written. `truce verify` re-checks a bundle's envelopes this way: a log is only its accepted
/// envelopes, so every one must come out accepted; no store to create and sync. In steps,
/// [`parse_envelopes`] then [`ParsedEnvelopes::signatures`] and [`ParsedEnvelopes::decide`].
pub fn recheck_envelopes(keyring: &Keyring, envelopes: &[impl AsRef<[u8]> + Sync]) -> Vec<Recheck> {
    let parsed = parse_envelopes(keyring, envelopes);
    let signatures = parsed.signatures();
    parsed.decide(signatures)
}

/// Signatures per batch verification in [`ParsedEnvelopes::signatures`].
const RECHECK_BATCH: usize = 4096;

/// Envelopes parsed as ingest parses lines (see [`recheck_envelopes`], [`parse_input`]), their
/// signatures not yet checked: a caller can read the payloads while the signatures are checked.
pub struct ParsedEnvelopes<'a> {
    keyring: &'a Keyring,
    lines: Vec<Line<'a>>,
    parsed: Vec<Result<Parsed<'a>, Refusal>>,
}

impl std::fmt::Debug for ParsedEnvelopes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedEnvelopes")
            .field("envelopes", &self.lines.len())
            .finish_non_exhaustive()
    }
}

/// Parse `envelopes` as ingest parses the lines of a file (on all cores).
pub fn parse_envelopes<'a>(
    keyring: &'a Keyring,
    envelopes: &'a [impl AsRef<[u8]> + Sync],
) -> ParsedEnvelopes<'a> {
    let mut end = 0;
    let lines: Vec<Line<'a>> = envelopes
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let bytes = bytes.as_ref();
            end += bytes.len() + 1;
            Line {
                bytes,
                number: i as u64 + 1,
                end,
                unterminated: false,
            }
        })
        .collect();
    ParsedEnvelopes::of(keyring, lines)
}

/// Parse the lines of a file as [`Store::ingest`] does (on all cores), for
/// [`Store::ingest_parsed`] and [`expected_envelopes`].
pub fn parse_input<'a>(keyring: &'a Keyring, input: &'a [u8]) -> ParsedEnvelopes<'a> {
    ParsedEnvelopes::of(keyring, split_lines(input))
}

impl<'a> ParsedEnvelopes<'a> {
    fn of(keyring: &'a Keyring, lines: Vec<Line<'a>>) -> Self {
        let parsed = parse_group(keyring, &lines);
        ParsedEnvelopes {
            keyring,
            lines,
            parsed,
        }
    }
}

impl ParsedEnvelopes<'_> {
    /// Envelope `i`'s leaf hash and payload, if it parsed (whatever its signature).
    pub fn observation(&self, i: usize) -> Option<(Hash, &Observation)> {
        let p = self.parsed.get(i)?.as_ref().ok()?;
        Some((p.leaf, p.obs.as_ref().ok()?))
    }

    /// Every envelope's RFC 6962 leaf hash (the parse's, or hashed here for an envelope that
    /// did not parse), on all cores.
    pub fn leaves(&self) -> Vec<Hash> {
        self.parsed
            .par_iter()
            .zip(&self.lines)
            .map(|(p, line)| match p {
                Ok(p) => p.leaf,
                Err(_) => record_hash(line.bytes),
            })
            .collect()
    }

    /// Whether each envelope's signature verifies (in batches, on all cores; false for an
    /// envelope that did not parse). A log's envelopes are expected to verify, so the batches
    /// are large: the batch's multiscalar multiplication costs less a signature the more it
    /// holds (a day's bundle: 4.8 s of CPU in batches of 4,096 against 5.3 s in ingest's 512,
    /// three alternating runs each); a failed batch is checked again in ingest's small ones.
    pub fn signatures(&self) -> Vec<bool> {
        verify_group(
            self.keyring,
            &self.parsed,
            RECHECK_BATCH,
            IngestOptions::default().verify_batch,
        )
        .0
    }

    /// What a new store decides of each envelope, given its signature's verdict
    /// ([`ParsedEnvelopes::signatures`]): in order, with the in-order rules.
    pub fn decide(self, signatures: Vec<bool>) -> Vec<Recheck> {
        let keyring = self.keyring;
        let mut seqs: HashMap<String, SensorSeqs> = HashMap::new();
        classify(self.parsed, &self.lines, signatures)
            .into_iter()
            .map(|result| {
                let decided = result.and_then(|c| {
                    // (Lines longer than a log entry are refused by the parse, as in ingest.)
                    rules(keyring, &seqs, &c.kid, &c.obs)?;
                    seqs.entry(c.kid).or_default().add(c.obs.seq);
                    Ok((c.leaf, c.obs))
                });
                match decided {
                    Ok((leaf, observation)) => Recheck::Accepted { leaf, observation },
                    Err(r) => Recheck::Refused {
                        reason: r.reason,
                        message: r.message,
                    },
                }
            })
            .collect()
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), StoreError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // Only called while creating a store (no store.json yet), so an old file here is the leftover
    // of a creation that crashed: overwrite it.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.write_all(b"\n").map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// One input line: its bytes without newline (and without a trailing CR), 1-based number, end
/// offset in the input, and whether the file ended without a newline after it.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    bytes: &'a [u8],
    number: u64,
    end: usize,
    unterminated: bool,
}

fn split_lines(input: &[u8]) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 0;
    while start < input.len() {
        number += 1;
        let (raw, end, unterminated) = match input[start..].iter().position(|b| *b == b'\n') {
            Some(k) => (&input[start..start + k], start + k + 1, false),
            None => (&input[start..], input.len(), true),
        };
        let bytes = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Whitespace-only lines are not observations; they are counted, not quarantined.
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            &bytes[..0]
        } else {
            bytes
        };
        out.push(Line {
            bytes,
            number,
            end,
            unterminated,
        });
        start = end;
    }
    out
}

/// A refusal before it becomes a quarantine record.
#[derive(Debug)]
struct Refusal {
    reason: Reason,
    message: String,
    sensor: Option<String>,
    seq: Option<u64>,
}

impl Refusal {
    fn new(reason: Reason, message: String) -> Self {
        Refusal {
            reason,
            message,
            sensor: None,
            seq: None,
        }
    }

    fn into_record(self, source: &str, line: &Line<'_>) -> QuarantineRecord {
        let mut r =
            QuarantineRecord::new(self.reason, self.message, source, line.number, line.bytes);
        r.sensor = self.sensor;
        r.seq = self.seq;
        r
    }
}

impl QuarantineRecord {
    fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A line that passed every check that does not depend on order.
#[derive(Debug)]
struct Passed {
    kid: String,
    obs: Observation,
    leaf: Hash,
}

type Checked = Result<Passed, Refusal>;

/// Everything about a line that can be decided without the store: size, encoding, JWS, key,
/// signature, payload. Runs in parallel.
/// Also says whether every signature verified.
fn check_group(
    keyring: &Keyring,
    parsed: Vec<Result<Parsed<'_>, Refusal>>,
    group: &[Line<'_>],
    batch: usize,
    small: usize,
) -> (Vec<Checked>, bool) {
    let (ok_sig, all_good) = verify_group(keyring, &parsed, batch, small);
    (classify(parsed, group, ok_sig), all_good)
}

/// Stage 1: parse, in parallel.
fn parse_group<'a>(keyring: &Keyring, group: &[Line<'a>]) -> Vec<Result<Parsed<'a>, Refusal>> {
    group
        .par_iter()
        .map(|line| parse_line(keyring, line))
        .collect()
}

/// Stage 2: verify the signatures of the lines that parsed, in batches, in parallel: whether
/// each line's signature verified (false for a line that did not parse), and whether all did.
fn verify_group(
    keyring: &Keyring,
    parsed: &[Result<Parsed<'_>, Refusal>],
    batch: usize,
    small: usize,
) -> (Vec<bool>, bool) {
    let todo: Vec<usize> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.is_ok().then_some(i))
        .collect();
    let verdicts: Vec<bool> = todo
        .par_chunks(batch)
        .flat_map_iter(|chunk| {
            let items: Vec<&Parsed<'_>> = chunk
                .iter()
                .filter_map(|&i| parsed[i].as_ref().ok())
                .collect();
            verify_chunk(keyring, &items, small)
        })
        .collect();
    let all_good = verdicts.iter().all(|v| *v);
    let mut ok_sig = vec![false; parsed.len()];
    for (&i, v) in todo.iter().zip(verdicts) {
        ok_sig[i] = v;
    }
    (ok_sig, all_good)
}

/// Stage 3: classify, in order.
fn classify(
    parsed: Vec<Result<Parsed<'_>, Refusal>>,
    group: &[Line<'_>],
    ok_sig: Vec<bool>,
) -> Vec<Checked> {
    parsed
        .into_iter()
        .zip(group)
        .zip(ok_sig)
        .map(|((p, line), sig_ok)| {
            let p = p?;
            let seq = p.obs.as_ref().ok().map(|o| o.seq);
            let kid = p.jws.kid.clone();
            let with = |reason, message| Refusal {
                reason,
                message,
                sensor: Some(kid.clone()),
                seq,
            };
            if !sig_ok {
                let reason = if line.unterminated {
                    Reason::Truncated
                } else {
                    Reason::BadSignature
                };
                return Err(with(
                    reason,
                    format!(
                        "signature does not verify with the key of sensor {}",
                        p.jws.kid
                    ),
                ));
            }
            let obs = match p.obs {
                Ok(o) => o,
                Err(e) => return Err(with(payload_reason(&e), e.to_string())),
            };
            Ok(Passed {
                kid: p.jws.kid,
                obs,
                leaf: p.leaf,
            })
        })
        .collect()
}

struct Parsed<'a> {
    jws: CompactJws<'a>,
    key_index: usize,
    obs: Result<Observation, PayloadError>,
    leaf: Hash,
}

fn parse_line<'a>(keyring: &Keyring, line: &Line<'a>) -> Result<Parsed<'a>, Refusal> {
    let bytes = line.bytes;
    if bytes.is_empty() {
        return Err(Refusal::new(Reason::MalformedJws, "blank".into()));
    }
    if bytes.len() > MAX_LINE_LEN {
        return Err(Refusal::new(
            Reason::LineTooLong,
            format!("line of {} bytes exceeds {MAX_LINE_LEN}", bytes.len()),
        ));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Refusal::new(
            Reason::NotUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        ));
    }
    let jws = jws::parse(bytes).map_err(|(reason, message)| {
        // A structurally broken final line without a newline is a truncated file.
        let reason = if line.unterminated {
            Reason::Truncated
        } else {
            reason
        };
        Refusal::new(reason, message)
    })?;
    let Some((key_index, _, _)) = keyring.get(&jws.kid) else {
        let mut r = Refusal::new(
            Reason::UnknownSensor,
            format!("kid {:?} is not in the sensor registry", jws.kid),
        );
        r.sensor = Some(jws.kid.clone());
        return Err(r);
    };
    let mut jws = jws;
    let obs = Observation::from_json(&jws.payload);
    // Read: only the signing input and signature are needed from here on. Freed at once, a
    // verifier holding a whole bundle's envelopes parsed (a million on three hours of stress)
    // does not hold each payload twice.
    jws.payload = Vec::new();
    Ok(Parsed {
        leaf: record_hash(bytes),
        key_index,
        obs,
        jws,
    })
}

/// Verify a chunk of signatures: one batch verification; if it fails, batches of `small`
/// (when the chunk is larger), and one by one only in a small batch that fails.
fn verify_chunk(keyring: &Keyring, items: &[&Parsed<'_>], small: usize) -> Vec<bool> {
    let msgs: Vec<&[u8]> = items.iter().map(|p| p.jws.signing_input).collect();
    let sigs: Vec<_> = items.iter().map(|p| p.jws.signature).collect();
    let keys: Vec<_> = items.iter().map(|p| keyring.keys[p.key_index]).collect();
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
        return vec![true; items.len()];
    }
    if items.len() > small {
        return items
            .chunks(small)
            .flat_map(|c| verify_chunk(keyring, c, small))
            .collect();
    }
    items
        .iter()
        .zip(&keys)
        .map(|(p, k)| k.verify(p.jws.signing_input, &p.jws.signature).is_ok())
        .collect()
}

fn payload_reason(e: &PayloadError) -> Reason {
    match e {
        PayloadError::NotJson(_) => Reason::BadPayload,
        PayloadError::UnsupportedVersion(_) => Reason::UnsupportedVersion,
        PayloadError::UnknownKind(_) => Reason::UnknownKind,
        PayloadError::MissingField(_) => Reason::MissingField,
        PayloadError::InvalidField(_) => Reason::InvalidField,
        PayloadError::OutOfRange { .. } => Reason::OutOfRange,
    }
}
