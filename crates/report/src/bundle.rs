//! Report bundles: everything a party needs to re-check a report offline, signed by the
//! mission, and `truce verify`.
//!
//! A bundle is one file, byte-exact:
//!
//! ```text
//! truce-bundle/2\n
//! <length of the body in bytes>\n
//! <body: JSON>
//! <mission signature: a C2SP signed note "<mission>\n<body length>\n<base64 SHA-256 of body>\n">
//! ```
//!
//! The body holds the Truce version and configuration, the agreement, the sensor registry, the
//! evidence log's verifier key and the checkpoint the findings were computed at, every envelope
//! of the log up to that checkpoint (so the analysis can be re-run), the inclusion proofs of
//! every envelope the findings cite (each tree node they use stored once), a consistency proof
//! from the previous bundle's checkpoint when there is one, and the findings and events as
//! published (exact text; with a time window, also the whole log's events). The mission's
//! signature reuses the checkpoint note format: size = body length, root = SHA-256 of the body.
//!
//! [`verify`] checks the signatures, the tree, every proof and every envelope, then re-runs the
//! assessment from the published events (or, with `full`, the whole analysis) and compares.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use truce_ingest::{Keyring, Recheck, Store};
use truce_log::{Hash, LogSigner, hex, unhex};
use truce_model::{ObservationBody, SensorRegistry};

use crate::{Ctx, ReportError, analyse_evidence_until};

type Result<T, E = ReportError> = std::result::Result<T, E>;

const MAGIC: &str = "truce-bundle/";
/// 2: inclusion proofs as one table of tree nodes (`Inclusion`); version 1 wrote each proof's
/// hashes in full, 140 of a day's 296 MB.
const VERSION: &str = "2";

/// What a bundle is made from.
#[derive(Debug)]
pub struct Parts<'a> {
    pub store: &'a Store,
    pub agreement: &'a [u8],
    pub registry: &'a [u8],
    pub findings_text: &'a str,
    pub events_text: &'a str,
    /// With a window: the events of the whole log (`truce verify` re-runs the assessment
    /// from them, then takes the window); `None` without one (`events_text` is then all).
    pub all_events_text: Option<&'a str>,
    pub mission: &'a LogSigner,
    pub mission_vkey: &'a str,
    /// The previous bundle's bytes, for the consistency proof.
    pub previous: Option<&'a [u8]>,
    /// The report's time window, `[from, until)`, RFC 3339; findings and events outside it are
    /// left out of the report (the analysis still runs on the whole log).
    pub window: Window,
}

/// A report's time window, `[from, until)`; `None` is open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// First instant included.
    pub from: Option<truce_model::UtcNanos>,
    /// First instant excluded.
    pub until: Option<truce_model::UtcNanos>,
}

impl Window {
    fn to_json(&self) -> Value {
        json!({"from": self.from.map(|t| t.to_string()), "until": self.until.map(|t| t.to_string())})
    }

    fn from_json(v: &Value) -> Result<Window> {
        let t = |k: &str| -> Result<Option<truce_model::UtcNanos>> {
            match v[k].as_str() {
                None => Ok(None),
                Some(s) => truce_model::UtcNanos::parse(s)
                    .map(Some)
                    .ctx(format!("window {k}")),
            }
        };
        Ok(Window {
            from: t("from")?,
            until: t("until")?,
        })
    }

    /// The features of a FeatureCollection text whose `time` is in the window, as the same
    /// pretty text `truce process` writes (the text itself when the window is open).
    pub fn apply(&self, text: &str) -> Result<String> {
        if !self.is_bounded() {
            return Ok(text.to_string());
        }
        let mut v: Value = serde_json::from_str(text)?;
        if let Some(fs) = v["features"].as_array_mut() {
            fs.retain(|f| {
                f["properties"]["time"]
                    .as_str()
                    .and_then(|s| truce_model::UtcNanos::parse(s).ok())
                    .is_some_and(|t| self.contains(t))
            });
        }
        Ok(serde_json::to_string_pretty(&v)? + "\n")
    }

    /// Whether an instant is in the window.
    pub fn contains(&self, t: truce_model::UtcNanos) -> bool {
        self.from.is_none_or(|a| t >= a) && self.until.is_none_or(|b| t < b)
    }

    /// Whether the window is bounded at either end (else it is the whole log).
    pub fn is_bounded(&self) -> bool {
        self.from.is_some() || self.until.is_some()
    }
}

/// Leaf indexes cited by findings (their `evidence` arrays).
fn cited(findings_text: &str) -> Result<BTreeSet<u64>> {
    // Read as the few members it needs (a day's findings are 38 MB: a `Value` of them cost a
    // third of a second); anything that does not read so is read as a `Value`, as before.
    #[derive(serde::Deserialize)]
    struct Collection {
        #[serde(default)]
        features: Vec<Feature>,
    }
    #[derive(serde::Deserialize)]
    struct Feature {
        #[serde(default)]
        properties: Properties,
    }
    #[derive(serde::Deserialize, Default)]
    struct Properties {
        #[serde(default)]
        evidence: Vec<Cited>,
    }
    #[derive(serde::Deserialize)]
    struct Cited {
        #[serde(default)]
        leaf_index: Option<u64>,
    }
    match serde_json::from_str::<Collection>(findings_text) {
        Ok(c) => Ok(c
            .features
            .iter()
            .flat_map(|f| f.properties.evidence.iter().filter_map(|e| e.leaf_index))
            .collect()),
        Err(_) => cited_value(findings_text),
    }
}

/// [`cited`] through a `Value`: any JSON at all, members of the wrong type skipped.
fn cited_value(findings_text: &str) -> Result<BTreeSet<u64>> {
    let v: Value = serde_json::from_str(findings_text)?;
    let mut out = BTreeSet::new();
    for f in v["features"].as_array().into_iter().flatten() {
        for e in f["properties"]["evidence"].as_array().into_iter().flatten() {
            if let Some(i) = e["leaf_index"].as_u64() {
                out.insert(i);
            }
        }
    }
    Ok(out)
}

fn hexes(p: &[Hash]) -> Value {
    Value::Array(p.iter().map(|h| json!(hex(h))).collect())
}

/// Build a bundle's bytes.
pub fn make(parts: &Parts<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    make_to(parts, &mut out)?;
    Ok(out)
}

/// Build a bundle and write it to `out` (a day's bundle is about 180 MB: written from the
/// serialised body, never copied into a second buffer). Returns its length in bytes.
pub fn make_to(parts: &Parts<'_>, out: &mut (impl std::io::Write + Send)) -> Result<u64> {
    let log = parts.store.evidence();
    let size = log.size();
    let checkpoint = log
        .latest_checkpoint()
        .ctx("the store has no checkpoint; run `truce log checkpoint`")?;
    // The envelopes, and beside them the proofs of the cited ones.
    let (entries, proofs) = rayon::join(
        || -> Result<Vec<String>> {
            log.entries(0, size)?
                .into_par_iter()
                .map(|e| String::from_utf8(e).ctx("an envelope is not UTF-8"))
                .collect()
        },
        || -> Result<(Vec<u64>, ProofNodes)> {
            let indexes: Vec<u64> = cited(parts.findings_text)?
                .into_iter()
                .filter(|&i| i < size)
                .collect();
            // The proofs of the cited envelopes share most of their nodes (a day's 112,000
            // proofs hold 2 million hashes, of few distinct nodes): each node once, under its
            // leaf range; neighbouring indexes (which share the most) on one core.
            let parts: Vec<ProofNodes> = indexes
                .par_chunks(2048)
                .map(|chunk| {
                    let mut nodes = BTreeMap::new();
                    for &i in chunk {
                        let proof = log.prove_inclusion(i, size)?;
                        let ranges = truce_log::inclusion_ranges(i, size);
                        nodes.extend(ranges.into_iter().zip(proof));
                    }
                    Ok(nodes)
                })
                .collect::<Result<_>>()?;
            let mut nodes = BTreeMap::new();
            for p in parts {
                nodes.extend(p);
            }
            Ok((indexes, nodes))
        },
    );
    let (entries, (indexes, nodes)) = (entries?, proofs?);
    let inclusion = Inclusion {
        indexes,
        nodes: nodes
            .into_iter()
            .map(|((a, b), h)| (a, b, Hex(h)))
            .collect(),
    };
    let consistency = match parts.previous {
        Some(prev) => {
            let old = open(prev).ctx("the previous bundle")?;
            let (old_size, old_root) = old.checkpoint()?;
            if old_size > size {
                return Err(ReportError::Input(format!(
                    "the previous bundle's checkpoint ({old_size}) is newer than this store ({size})"
                )));
            }
            if old_size > 0 && log.root_at(old_size)? != old_root {
                return Err(ReportError::Input(
                    "this store's log is not an extension of the previous bundle's".into(),
                ));
            }
            let proof = if old_size > 0 && old_size < size {
                log.prove_consistency(old_size, size)?
            } else {
                Vec::new()
            };
            json!({"old_size": old_size, "old_root": hex(&old_root), "proof": hexes(&proof)})
        }
        None => Value::Null,
    };
    let body = Body {
        agreement: serde_json::from_slice(parts.agreement)?,
        all_events: parts.all_events_text,
        checkpoint: String::from_utf8(checkpoint).ctx("checkpoint is not UTF-8")?,
        config: json!({"engine": "default"}),
        consistency,
        entries,
        events: parts.events_text,
        findings: parts.findings_text,
        inclusion,
        log_key: &parts.store.config().evidence_vkey,
        mission_key: parts.mission_vkey,
        registry: serde_json::from_slice(parts.registry)?,
        truce_version: env!("CARGO_PKG_VERSION"),
        window: parts.window.to_json(),
    };
    let body = serde_json::to_vec(&body)?;
    seal_to(&body, parts.mission, out)
}

/// Proof nodes by leaf range `[start, end)`.
type ProofNodes = BTreeMap<(u64, u64), Hash>;

/// The inclusion proofs of the cited envelopes: their leaf indexes (ascending), and every tree
/// node their RFC 6962 audit paths use, once, as `[start, end, hash]`: the root of the leaves
/// `[start, end)` (`truce_log::inclusion_ranges` names the nodes of an index's path).
#[derive(serde::Serialize)]
struct Inclusion {
    indexes: Vec<u64>,
    nodes: Vec<(u64, u64, Hex)>,
}

/// A hash written as lower-case hexadecimal straight into the output: a day's bundle carries
/// 1.8 million proof hashes, and a `String` for each cost a tenth of the report's time.
struct Hex(Hash);

impl serde::Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.0.0, &mut buf).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

/// A bundle's body, serialised straight from its parts (a `Value` tree of a day's 160,000
/// envelopes and 46,000 proofs cost more to build and free than to write). Members in
/// alphabetical order, the order `serde_json` gives a `json!` object, so the bytes are those a
/// reader that builds the body as a `Value` would write.
#[derive(serde::Serialize)]
struct Body<'a> {
    agreement: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_events: Option<&'a str>,
    checkpoint: String,
    config: Value,
    consistency: Value,
    entries: Vec<String>,
    events: &'a str,
    findings: &'a str,
    inclusion: Inclusion,
    log_key: &'a str,
    mission_key: &'a str,
    registry: Value,
    truce_version: &'static str,
    window: Value,
}

/// Wrap a body in the bundle container and sign it with the mission's key.
pub fn seal(body: &[u8], mission: &LogSigner) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + 256);
    seal_to(body, mission, &mut out)?;
    Ok(out)
}

/// [`seal`], written to `out`. Returns the bundle's length in bytes.
pub fn seal_to(
    body: &[u8],
    mission: &LogSigner,
    out: &mut (impl std::io::Write + Send),
) -> Result<u64> {
    let head = format!("{MAGIC}{VERSION}\n{}\n", body.len());
    // The body is hashed (for the signature that follows it) while it is written.
    let (digest, written) = rayon::join(
        || -> [u8; 32] { Sha256::digest(body).into() },
        || -> std::io::Result<()> {
            out.write_all(head.as_bytes())?;
            out.write_all(body)
        },
    );
    written?;
    let note = mission.sign(body.len() as u64, Hash(digest))?;
    out.write_all(&note)?;
    out.flush()?;
    Ok((head.len() + body.len() + note.len()) as u64)
}

/// A bundle split into its parts, signature not yet checked.
#[derive(Debug)]
pub struct Opened<'a> {
    /// The body, exactly as signed.
    pub body_bytes: &'a [u8],
    /// The mission's signed note.
    pub note: &'a [u8],
}

/// Split a bundle into body and signature.
pub fn open(bytes: &[u8]) -> Result<Opened<'_>> {
    let bad = |m: &str| ReportError::NotABundle(m.to_string());
    if bytes.is_empty() {
        return Err(bad("the bundle is empty"));
    }
    let nl = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("not a Truce bundle (no header line)"))?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad("not a Truce bundle"))?;
    let Some(version) = header.strip_prefix(MAGIC) else {
        return Err(ReportError::NotABundle(format!(
            "not a Truce bundle (it must start with `{MAGIC}{VERSION}`)"
        )));
    };
    if version != VERSION {
        return Err(ReportError::NotABundle(format!(
            "unknown bundle version {version:?}; this Truce reads version {VERSION}"
        )));
    }
    let rest = &bytes[nl + 1..];
    let nl2 = rest
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("truncated bundle: no body length"))?;
    let len: usize = std::str::from_utf8(&rest[..nl2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("the body length is not a number"))?;
    let rest = &rest[nl2 + 1..];
    if rest.len() < len {
        return Err(ReportError::NotABundle(format!(
            "truncated bundle: the body should be {len} bytes, {} are there",
            rest.len()
        )));
    }
    let (body_bytes, note) = rest.split_at(len);
    if note.is_empty() {
        return Err(bad("truncated bundle: the mission signature is missing"));
    }
    Ok(Opened { body_bytes, note })
}

impl Opened<'_> {
    /// The body as JSON (`None` when it does not parse).
    pub fn body(&self) -> Option<Value> {
        serde_json::from_slice(self.body_bytes).ok()
    }

    /// The checkpoint (size, root) in the body, signature checked with the body's log key. Only
    /// those two members are read (a day's body is 185 MB: the rest is skipped, not built).
    pub fn checkpoint(&self) -> Result<(u64, Hash)> {
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(default)]
            log_key: Option<String>,
            #[serde(default)]
            checkpoint: Option<String>,
        }
        let head: Head =
            serde_json::from_slice(self.body_bytes).ctx("the body does not read as a bundle's")?;
        checkpoint_of(head.log_key.as_deref(), head.checkpoint.as_deref())
    }

    /// The findings text the body publishes (`None` when it does not read so); only that
    /// member is read.
    pub fn findings(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Body {
            findings: String,
        }
        let body: Body = serde_json::from_slice(self.body_bytes).ok()?;
        Some(body.findings)
    }
}

/// The checkpoint (size, root) of a body's `log_key` and `checkpoint`, its signature checked.
fn checkpoint_of(log_key: Option<&str>, checkpoint: Option<&str>) -> Result<(u64, Hash)> {
    let vkey = log_key.ctx("no log_key")?;
    let note = checkpoint.ctx("no checkpoint")?;
    let c = truce_log::verify_checkpoint(note.as_bytes(), vkey)
        .ctx("the checkpoint's signature does not verify")?;
    Ok((c.size, c.root))
}

/// Options of `truce verify`.
#[derive(Debug)]
pub struct VerifyOptions<'a> {
    /// Pin the mission's key (else the key in the bundle is used, which proves integrity only).
    pub mission_key: Option<&'a str>,
    /// An older bundle whose checkpoint this one must extend.
    pub previous: Option<&'a [u8]>,
    /// The agreement the bundle must be about.
    pub agreement: Option<&'a [u8]>,
    /// Re-run the whole analysis (association and location too), not only the assessment
    /// from the published events.
    pub full: bool,
}

/// Outcome of a verification: `Err` for input errors (exit 2), else the list of problems found
/// (empty = verified, exit 0; any = exit 1).
pub fn verify(bytes: &[u8], opts: &VerifyOptions<'_>) -> Result<Vec<String>> {
    verify_with_progress(bytes, opts, &|_, _| {})
}

/// A bundle's body as `verify` reads it: the envelopes borrowed from the bundle's bytes where
/// they hold no escapes (a day's 200,000 envelopes as `Value` strings, then copied, cost a
/// third of a second and 300 MB), members it does not read left out. A body whose members
/// have other types than `make` writes is not read as a body at all ("the signed body is not a
/// bundle body"): it was signed by the mission, and only the mission could have made it so.
#[derive(serde::Deserialize)]
struct BodyIn<'a> {
    #[serde(default)]
    agreement: Value,
    #[serde(default)]
    all_events: Option<String>,
    #[serde(default)]
    checkpoint: Option<String>,
    #[serde(default)]
    consistency: Value,
    #[serde(default, borrow)]
    entries: Vec<Envelope<'a>>,
    #[serde(default)]
    events: Option<String>,
    #[serde(default)]
    findings: Option<String>,
    #[serde(default)]
    inclusion: InclusionIn,
    #[serde(default)]
    log_key: Option<String>,
    #[serde(default)]
    mission_key: Option<String>,
    #[serde(default)]
    registry: Value,
    #[serde(default)]
    truce_version: Option<String>,
    #[serde(default)]
    window: Value,
}

/// The inclusion proofs as `verify` reads them.
#[derive(serde::Deserialize, Default)]
struct InclusionIn {
    #[serde(default)]
    indexes: Vec<u64>,
    #[serde(default)]
    nodes: Vec<(u64, u64, String)>,
}

/// One envelope of a body: borrowed from the bundle's bytes unless its JSON string has escapes.
struct Envelope<'a>(std::borrow::Cow<'a, str>);

impl AsRef<[u8]> for Envelope<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Envelope<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an envelope (a string)")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Envelope(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Envelope(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

/// [`verify`], telling `progress` how the re-run's association goes (picks done, in all; with
/// `full` only).
pub fn verify_with_progress(
    bytes: &[u8],
    opts: &VerifyOptions<'_>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<String>> {
    let opened = open(bytes)?;
    let mut problems = Vec::new();
    // The body is read while its hash is taken.
    let (parsed, digest) = rayon::join(
        || serde_json::from_slice::<BodyIn<'_>>(opened.body_bytes),
        || -> [u8; 32] { Sha256::digest(opened.body_bytes).into() },
    );
    // 1. The mission's signature over the body: nothing else is worth reading without it.
    let key = match opts.mission_key {
        Some(k) => k.to_string(),
        None => match &parsed {
            Ok(b) => b.mission_key.clone().unwrap_or_default(),
            // Not a body `make` writes: the key is looked for in any JSON.
            Err(_) => opened
                .body()
                .and_then(|b| b["mission_key"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        },
    };
    match truce_log::verify_checkpoint(opened.note, &key) {
        Err(e) => {
            problems.push(format!(
                "the mission signature does not verify ({e}): the signature was changed, or another key signed"
            ));
            return Ok(problems);
        }
        Ok(c) => {
            if c.size != opened.body_bytes.len() as u64 || c.root != Hash(digest) {
                problems.push(
                    "the body is not what the mission signed: it was changed after signing".into(),
                );
                return Ok(problems);
            }
        }
    }
    let body = match parsed {
        Ok(b) => b,
        Err(e) => {
            problems.push(format!("the signed body is not a bundle body: {e}"));
            return Ok(problems);
        }
    };
    if let Some(pinned) = opts.mission_key
        && body.mission_key.as_deref() != Some(pinned)
    {
        problems.push("the bundle names a different mission key than the one given".into());
    }
    // 2. The agreement, if the caller names one.
    if let Some(expected) = opts.agreement {
        let want: Value = serde_json::from_slice(expected).ctx("the given agreement")?;
        if want["agreement"]["id"] != body.agreement["agreement"]["id"] {
            return Err(ReportError::NotABundle(format!(
                "the bundle is about agreement {}, not {}",
                body.agreement["agreement"]["id"], want["agreement"]["id"]
            )));
        }
        if want != body.agreement {
            problems.push("the bundle's agreement differs from the given one".into());
        }
    }
    // 3. The checkpoint and every entry.
    let (size, root) = match checkpoint_of(body.log_key.as_deref(), body.checkpoint.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            problems.push(e.to_string());
            return Ok(problems);
        }
    };
    let entries = &body.entries;
    if entries.len() as u64 != size {
        problems.push(format!(
            "the bundle holds {} envelopes but its checkpoint covers {size} (envelopes dropped or added)",
            entries.len()
        ));
        return Ok(problems);
    }
    let registry_bytes = serde_json::to_vec(&body.registry)?;
    let registry = SensorRegistry::from_json(&registry_bytes).ctx("the bundled registry")?;
    let keyring = Keyring::new(&registry).ctx("the bundled registry")?;
    let agreement_bytes = serde_json::to_vec(&body.agreement)?;
    let agreement =
        truce_model::Agreement::from_json(&agreement_bytes).ctx("the bundled agreement")?;
    let window = Window::from_json(&body.window)?;
    // The envelopes parsed as ingest parses them; then their signatures (most of the work) are
    // checked on one side while the other checks the tree, the proofs and the history, and
    // re-runs the assessment from the published events.
    let envelopes = truce_ingest::parse_envelopes(&keyring, entries);
    let (signatures, (tree_problems, reassessed)) = rayon::join(
        || envelopes.signatures(),
        || {
            let tree = check_tree(&body, envelopes.leaves(), size, root, opts.previous);
            let reassessed = (!opts.full)
                .then(|| reassess(&body, &window, agreement.clone(), &registry, &envelopes));
            (tree, reassessed)
        },
    );
    problems.extend(tree_problems?);
    if !problems.is_empty() {
        return Ok(problems);
    }
    // 4. Every envelope passes ingest's checks again (signatures and acceptance rules, as a new
    // store would decide them), and the analysis re-runs to the same bytes.
    let decided = envelopes.decide(signatures);
    for (i, d) in decided.iter().enumerate() {
        if let Recheck::Refused { reason, message } = d {
            problems.push(format!(
                "envelope {i}: refused on re-check: {reason} ({message})"
            ));
        }
    }
    if !problems.is_empty() {
        return Ok(problems);
    }
    // Radar tracks the published events do not account for (`radar_tracks_unaccounted`), told
    // after the comparisons, which they do not stop.
    let mut unaccounted = Vec::new();
    let (findings_text, events_text) = match reassessed {
        None => {
            let observations = decided
                .into_iter()
                .enumerate()
                .filter_map(|(i, d)| match d {
                    Recheck::Accepted { leaf, observation } => Some(truce_engine::Evidence {
                        leaf_index: i as u64,
                        leaf_hash: hex(&leaf),
                        observation,
                    }),
                    Recheck::Refused { .. } => None,
                })
                .collect();
            let never = std::sync::atomic::AtomicBool::new(false);
            let again =
                analyse_evidence_until(agreement, &registry, observations, progress, &never)?
                    .unwrap_or_default();
            (
                window.apply(&again.findings_text)?,
                window.apply(&again.events_text)?,
            )
        }
        Some(Ok((findings, events, radar))) => {
            unaccounted = radar;
            (findings, events)
        }
        Some(Err(why)) => {
            problems.extend(why);
            (String::new(), String::new())
        }
    };
    let published_findings = body.findings.as_deref().unwrap_or_default();
    let published_events = body.events.as_deref().unwrap_or_default();
    // (Nothing to compare when the events could not be re-assessed.)
    let compare = problems.is_empty();
    if compare && findings_text != published_findings {
        problems.push(describe_difference(
            "findings",
            published_findings,
            &findings_text,
        ));
    }
    if compare && events_text != published_events {
        problems.push(describe_difference(
            "events",
            published_events,
            &events_text,
        ));
    }
    problems.extend(unaccounted);
    // Another version of Truce may analyse the same evidence differently: say so beside a
    // difference, so that it is not read as tampering before it is re-checked with that one.
    let made_by = body.truce_version.as_deref().unwrap_or("(unnamed)");
    if !problems.is_empty() && made_by != env!("CARGO_PKG_VERSION") {
        problems.push(format!(
            "the bundle was made by Truce {made_by} and this is Truce {}: re-check it with {made_by} before reading the difference as tampering",
            env!("CARGO_PKG_VERSION")
        ));
    }
    Ok(problems)
}

/// The log's side of a bundle: that its envelopes are the checkpoint's tree, that every cited
/// envelope has an inclusion proof that checks, and, given the previous bundle, that the
/// checkpoint extends that one's. The problems found.
fn check_tree(
    body: &BodyIn<'_>,
    leaves: Vec<Hash>,
    size: u64,
    root: Hash,
    previous: Option<&[u8]>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let tree = truce_log::MemTree::new(leaves);
    if tree.root() != root {
        problems.push(
            "the envelopes do not hash to the checkpoint's root (an envelope changed)".into(),
        );
    } else {
        // Every cited envelope's proof checks: each node its path names is in the bundle's
        // table, and is the node of the tree of the envelopes (whose root is the checkpoint's),
        // which is what checking each proof up to the root comes to. Each node is checked once
        // (a day's 112,000 proofs name 2 million nodes, far fewer distinct ones), in parallel.
        let inc = &body.inclusion;
        let good: Vec<Option<bool>> = inc
            .nodes
            .par_iter()
            .map(|(a, b, h)| unhex(h).map(|h| tree.hash(*a, *b) == Some(h)))
            .collect();
        let mut nodes: HashMap<(u64, u64), bool> = HashMap::with_capacity(inc.nodes.len());
        for ((a, b, h), good) in inc.nodes.iter().zip(good) {
            match good {
                Some(good) => {
                    nodes.insert((*a, *b), good);
                }
                None => {
                    problems.push(format!(
                        "an inclusion proof node is malformed: [{a}, {b}, {h:?}]"
                    ));
                    break;
                }
            }
        }
        let failed: Vec<Option<u64>> = inc
            .indexes
            .par_iter()
            .map(|&index| {
                let ok = index < size
                    && truce_log::inclusion_ranges(index, size)
                        .iter()
                        .all(|r| nodes.get(r) == Some(&true));
                (!ok).then_some(index)
            })
            .collect();
        for index in failed.into_iter().flatten() {
            problems.push(format!(
                "cited envelope {index}: its inclusion proof does not check"
            ));
        }
    }
    let inc = &body.inclusion;
    let proved: BTreeSet<u64> = inc.indexes.iter().copied().collect();
    let published = body.findings.as_deref().unwrap_or_default();
    for index in cited(published).unwrap_or_default().difference(&proved) {
        problems.push(format!(
            "cited envelope {index}: the bundle holds no inclusion proof of it"
        ));
    }
    // Consistency with the previous bundle.
    if let Some(prev) = previous {
        let old = open(prev).ctx("the previous bundle")?;
        let (old_size, old_root) = old.checkpoint()?;
        let c = &body.consistency;
        let proof: Option<Vec<Hash>> = c["proof"]
            .as_array()
            .map(|a| a.iter().map(|h| h.as_str().and_then(unhex)).collect())
            .unwrap_or(None);
        let consistent = match proof {
            _ if old_size == 0 => true,
            _ if old_size == size => old_root == root,
            Some(proof) => {
                c["old_size"].as_u64() == Some(old_size)
                    && truce_log::check_consistency(&proof, size, root, old_size, old_root).is_ok()
            }
            None => false,
        };
        if !consistent {
            problems.push(format!(
                "the checkpoint ({size}) is not proved consistent with the previous bundle's ({old_size}): the log may have rewritten history"
            ));
        }
    }
    Ok(problems)
}

/// The assessment re-run from the published events (`truce verify` without `--full`): the
/// events read back (the whole log's when the report has a window), each checked against the
/// envelopes it cites (its id is its evidence's, each reference names the envelope's leaf hash,
/// sensor and kind), written again, and assessed with the drone sightings and satellite
/// anomalies of the log. Returns the findings' and the events' texts, windowed, to compare
/// with the published ones, and the radar tracks the events do not account for; `Err` with
/// the problems when the events cannot be read back or cite what the log does not hold. Envelopes are read as parsed, before their signatures are
/// checked: the caller accepts the outcome only once every signature has.
fn reassess(
    body: &BodyIn<'_>,
    window: &Window,
    agreement: truce_model::Agreement,
    registry: &SensorRegistry,
    envelopes: &truce_ingest::ParsedEnvelopes<'_>,
) -> Result<(String, String, Vec<String>), Vec<String>> {
    let windowed = window.is_bounded();
    let (source, text) = if windowed {
        ("all_events", body.all_events.as_deref())
    } else {
        ("events", body.events.as_deref())
    };
    let Some(text) = text else {
        return Err(vec![format!(
            "the bundle has no {source} to re-assess from (a windowed report carries the whole log's events)"
        )]);
    };
    let events = truce_engine::parse_events(text).map_err(|e| vec![format!("{source}: {e}")])?;
    let mut problems = Vec::new();
    for e in &events {
        if truce_engine::located_event_id(e.kind, &e.evidence) != e.id {
            problems.push(format!("{source}: {} is not the id of its evidence", e.id));
        }
        let wrong = e.evidence.iter().find(|r| {
            envelopes
                .observation(r.leaf_index as usize)
                .is_none_or(|(leaf, o)| {
                    let mut text = [0u8; 64];
                    // 32 bytes always fit 64 hex digits.
                    let _ = hex::encode_to_slice(leaf.0, &mut text);
                    r.leaf_hash.as_bytes() != text
                        || o.sensor != r.sensor
                        || o.body.kind() != r.kind
                })
        });
        if let Some(r) = wrong {
            problems.push(format!(
                "{source}: {} cites envelope {} as {} of {} with leaf hash {}, which the log does not hold",
                e.id, r.leaf_index, r.kind, r.sensor, r.leaf_hash
            ));
        }
        if let Some(why) = method_mismatch(e) {
            problems.push(format!("{source}: {} {why}", e.id));
        }
        if let Some(why) = projectile_mismatch(e, envelopes) {
            problems.push(format!("{source}: {} {why}", e.id));
        }
        if problems.len() >= 20 {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let unaccounted = radar_tracks_unaccounted(source, &events, body, envelopes);
    // What the assessment reads of the log besides the events: drone sightings, thermal
    // anomalies and SAR changes (a few thousand of a day's 200,000 envelopes).
    let observations = (0..body.entries.len())
        .filter_map(|i| {
            let (leaf, o) = envelopes.observation(i)?;
            matches!(
                o.body,
                ObservationBody::DroneDetection(_)
                    | ObservationBody::ThermalAnomaly(_)
                    | ObservationBody::SarChange(_)
            )
            .then(|| truce_engine::Evidence {
                leaf_index: i as u64,
                leaf_hash: hex(&leaf),
                observation: o.clone(),
            })
        })
        .collect();
    let input = truce_engine::Input {
        agreement: Some(agreement),
        registry: registry.clone(),
        observations,
    };
    let ((findings, _), events_again) = rayon::join(
        || truce_engine::assess_events(&input, &events),
        || truce_engine::events_geojson_text(&events, registry),
    );
    let fail = |e: serde_json::Error| vec![format!("writing the re-assessment: {e}")];
    let events_again = events_again.map_err(fail)? + "\n";
    if windowed && events_again != text {
        problems.push(describe_difference("all_events", text, &events_again));
        return Err(problems);
    }
    if !windowed {
        let findings_text =
            truce_engine::violations_geojson_text(&findings, registry).map_err(fail)? + "\n";
        return Ok((findings_text, events_again, unaccounted));
    }
    // The window's share written as `Window::apply` would cut it from the whole text: the
    // features whose time is in it, in the same form (without parsing the whole texts again).
    let (findings_text, events_text) = rayon::join(
        || {
            let shown: Vec<_> = findings
                .iter()
                .filter(|f| window.contains(f.time))
                .collect();
            truce_engine::violations_geojson_text(&shown, registry)
        },
        || {
            let shown: Vec<_> = events.iter().filter(|e| window.contains(e.time)).collect();
            truce_engine::events_geojson_text(&shown, registry)
        },
    );
    Ok((
        findings_text.map_err(fail)? + "\n",
        events_text.map_err(fail)? + "\n",
        unaccounted,
    ))
}

/// What the engine does with every radar track, checked without re-running the association:
/// each end a track reports (launch, impact) is an event of its kind that cites the track,
/// fused with others or alone (a track is never dropped), and an event of one track alone is
/// at that end's point (to the bit) and time (to a microsecond: the time goes through seconds
/// since the day's start). So a quick check sees a radar-located event left out with its
/// finding, or moved together with it, which re-running the assessment alone cannot (the
/// acoustic-only events still need `--full`). At most 20 problems.
fn radar_tracks_unaccounted(
    source: &str,
    events: &[truce_engine::Event],
    body: &BodyIn<'_>,
    envelopes: &truce_ingest::ParsedEnvelopes<'_>,
) -> Vec<String> {
    use truce_engine::EventKind;
    let mut cited: BTreeMap<(u64, bool), Vec<&truce_engine::Event>> = BTreeMap::new();
    for e in events {
        for r in e.evidence.iter().filter(|r| r.kind == "radar_track") {
            cited
                .entry((r.leaf_index, e.kind == EventKind::Firing))
                .or_default()
                .push(e);
        }
    }
    let mut problems = Vec::new();
    for i in 0..body.entries.len() {
        let Some((_, o)) = envelopes.observation(i) else {
            continue;
        };
        let ObservationBody::RadarTrack(t) = &o.body else {
            continue;
        };
        for (end, point, launch) in [("launch", &t.launch, true), ("impact", &t.impact, false)] {
            let Some(pt) = point else { continue };
            match cited.get(&(i as u64, launch)) {
                None => problems.push(format!(
                    "{source}: radar track {i} of {} reports a {end}, but no {} event cites it (an event left out? `--full` re-runs the association)",
                    o.sensor,
                    if launch { "firing" } else { "impact" }
                )),
                Some(es) => {
                    for e in es.iter().filter(|e| e.evidence.len() == 1) {
                        let at = e.pos.lat_deg == pt.lat_deg && e.pos.lon_deg == pt.lon_deg;
                        if !at || (e.time.0 - pt.time.0).abs() > 1_000 {
                            problems.push(format!(
                                "{source}: {} is radar track {i}'s {end} alone, but is not at its point and time",
                                e.id
                            ));
                        }
                    }
                }
            }
            if problems.len() >= 20 {
                return problems;
            }
        }
    }
    problems
}

/// How an event's projectile and weapon class disagree with the radar tracks it cites, if they
/// do: the engine gives an event the projectile one of its tracks reported (never `unknown`),
/// none where no track classified it, and the class that projectile implies. Both bound the
/// flight of the round when its impact is linked, so the re-run assessment reads them.
fn projectile_mismatch(
    e: &truce_engine::Event,
    envelopes: &truce_ingest::ParsedEnvelopes<'_>,
) -> Option<String> {
    use truce_model::Projectile;
    let mut said: Vec<Projectile> = Vec::new();
    for r in e.evidence.iter().filter(|r| r.kind == "radar_track") {
        if let Some((_, o)) = envelopes.observation(r.leaf_index as usize)
            && let ObservationBody::RadarTrack(t) = &o.body
            && t.projectile != Projectile::Unknown
            && !said.contains(&t.projectile)
        {
            said.push(t.projectile);
        }
    }
    let consistent = e.projectile.map_or(said.is_empty(), |p| said.contains(&p))
        && e.weapon_class == truce_engine::weapon_class_of(e.projectile);
    // Names as FORMATS spells them (the types' serde names).
    let name = |v: Option<serde_json::Value>| {
        v.and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unsaid".into())
    };
    (!consistent).then(|| {
        let tracks: Vec<String> = said
            .iter()
            .map(|p| name(serde_json::to_value(p).ok()))
            .collect();
        format!(
            "says its projectile is {} and its class {}, but the radar tracks it cites say {}",
            name(e.projectile.and_then(|p| serde_json::to_value(p).ok())),
            name(e.weapon_class.and_then(|c| serde_json::to_value(c).ok())),
            if tracks.is_empty() {
                "nothing".to_string()
            } else {
                tracks.join(" or ")
            }
        )
    })
}

/// How an event's method, fit and evidence disagree, if they do. The engine locates an event
/// from acoustic picks (`acoustic`, with a fit over exactly the picks it cites), from radar
/// tracks alone (`radar`, no fit), or from both (`acoustic+radar`); nothing else.
fn method_mismatch(e: &truce_engine::Event) -> Option<String> {
    let picks = e
        .evidence
        .iter()
        .filter(|r| r.kind == "acoustic_pick")
        .count();
    let tracks = e
        .evidence
        .iter()
        .filter(|r| r.kind == "radar_track")
        .count();
    let others = e.evidence.len() - picks - tracks;
    let fitted = e.fit.map(|(n, _, _)| n);
    let consistent = others == 0
        && match e.method.as_str() {
            "acoustic" => picks > 0 && tracks == 0 && fitted == Some(picks),
            "radar" => picks == 0 && tracks > 0 && fitted.is_none(),
            "acoustic+radar" => picks > 0 && tracks > 0 && fitted == Some(picks),
            _ => false,
        };
    (!consistent).then(|| {
        format!(
            "says it was located by {} from {} picks, but cites {picks} acoustic picks, {tracks} radar tracks and {others} other envelopes",
            e.method,
            fitted.map_or("no".to_string(), |n| n.to_string()),
        )
    })
}

/// Name the first feature that differs between the published and the re-run text.
fn describe_difference(what: &str, published: &str, rerun: &str) -> String {
    let ids = |t: &str| -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
        v["features"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["properties"]["id"].as_str().unwrap_or("?").to_string(),
                    f.to_string(),
                )
            })
            .collect()
    };
    let (a, b) = (ids(published), ids(rerun));
    if a.len() != b.len() {
        return format!(
            "{what}: the bundle has {} but the re-run gives {}",
            a.len(),
            b.len()
        );
    }
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            return format!("{what}: {} differs from the re-run", x.0);
        }
    }
    format!("{what}: the text differs from the re-run (formatting)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cited indexes read through the few members `cited` needs are those read through a
    /// `Value`, for well-formed findings and for members of the wrong type, null or missing.
    #[test]
    fn cited_reads_as_through_a_value() {
        let texts = [
            r#"{"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": null, "properties": {"id": "f1", "p_party": 0.5,
                 "evidence": [{"leaf_index": 7, "leaf_hash": "ab", "sensor": "AC-1"}, {"leaf_index": 3}]}},
                {"type": "Feature", "properties": {"evidence": []}},
                {"type": "Feature", "properties": {"evidence": [{"leaf_index": 3}, {"leaf_index": 12}]}}]}"#,
            r#"{"features": [{"properties": {"evidence": [{"leaf_index": "7"}, {"leaf_index": 5}]}}]}"#,
            r#"{"features": [{"properties": null}, {"properties": {"evidence": [{"leaf_index": 2}]}}]}"#,
            r#"{"features": [{"properties": {"evidence": [{"leaf_index": -1}, {"leaf_index": 1.5}, {}]}}]}"#,
            r#"{"features": {"not": "an array"}}"#,
            r#"{"other": 1}"#,
            r#"[1, 2, 3]"#,
        ];
        for t in texts {
            assert_eq!(cited(t).unwrap(), cited_value(t).unwrap(), "{t}");
        }
        assert_eq!(
            cited(texts[0]).unwrap().into_iter().collect::<Vec<_>>(),
            vec![3, 7, 12]
        );
        assert!(cited("{not json").is_err());
    }
}
