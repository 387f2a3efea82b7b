//! Subcommands.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::{Args, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use truce_ingest::{IngestOptions, IngestSummary, Keyring, Reason, Store};
use truce_model::SensorRegistry;

/// `println!` that ends the process quietly when stdout is closed (`truce ... | head`), instead of
/// panicking on a broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// Truce: ceasefire verification from signed sensor observations.
#[derive(Debug, Parser)]
#[command(name = "truce", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole chain on a built-in scenario (simulate, process, score, report, verify),
    /// then bad input on the sample set, and say what it did.
    Demo {
        /// Where to put the store (default: a fresh temporary directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Which built-in scenario: `small` (30 minutes, about 3 s) or `day` (a full day on
        /// the 430 km line, 200,000 observations: several minutes on 2 cores).
        #[arg(long, default_value = "small", value_parser = ["small", "day"])]
        scenario: String,
    },
    /// Ingest signed observation files (.jwsl) into a store (created if absent).
    Ingest(IngestArgs),
    /// Inspect the quarantine.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Work with the evidence log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Make keys: a log's checkpoint key, or a sensor's key as JWKs.
    Keygen {
        #[command(subcommand)]
        command: KeygenCommand,
    },
    /// Ingest, log, locate and assess against the agreement: writes events.geojson,
    /// violations.geojson, quarantine.jsonl and summary.json into --out.
    Process {
        /// Agreement (GeoJSON).
        #[arg(long)]
        agreement: PathBuf,
        /// Sensor registry.
        #[arg(long)]
        sensors: PathBuf,
        /// Output directory (its `store/` holds the evidence log of this run).
        #[arg(long)]
        out: PathBuf,
        /// Observation files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Publish a report of a `truce process` run: report.html (self-contained), findings.kml,
    /// findings.cot (Cursor on Target), the GeoJSON outputs, and a bundle signed by the mission
    /// key that any party can re-check with `truce verify`.
    Report {
        /// The output directory of `truce process` (holds store/, violations.geojson, ...).
        dir: PathBuf,
        /// The agreement that run used.
        #[arg(long)]
        agreement: PathBuf,
        /// The sensor registry that run used.
        #[arg(long)]
        sensors: PathBuf,
        /// The mission's signing key (from `truce keygen log --origin MISSION --out FILE`).
        #[arg(long)]
        key: PathBuf,
        /// The previous report's bundle: this bundle then proves its log extends that one's.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Where to write the report (default DIR/report).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Report only findings and events from this time on (RFC 3339), e.g. the day's start.
        #[arg(long)]
        from: Option<String>,
        /// Report only findings and events before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
    },
    /// Re-check a report bundle offline: every signature and proof, the events against the
    /// envelopes they cite (and every radar track against the events), and the assessment re-run from the published events, which must
    /// give the published findings byte for byte (with --full, the whole analysis re-run,
    /// association and location included). Exit 0 verified, 1 a check failed, 2 not a
    /// readable bundle.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// The mission's public key (FILE.pub of the key); without it the key inside the bundle
        /// is used, which proves integrity but not who signed.
        #[arg(long)]
        mission_key: Option<PathBuf>,
        /// An older bundle whose log this one must extend (no rewritten history).
        #[arg(long)]
        previous: Option<PathBuf>,
        /// The agreement the bundle must be about.
        #[arg(long)]
        agreement: Option<PathBuf>,
        /// Re-run the whole analysis from the envelopes (association and location too, as
        /// `truce process` did): the only check that the published events are all the
        /// evidence holds and none was left out. As long as `truce process` took.
        #[arg(long)]
        full: bool,
    },
    /// Abnormal fire activity (docs/fires.md): learn a per-cell, per-day-of-year baseline from
    /// reference years of FIRMS data, flag the store's thermal anomalies that it makes unlikely,
    /// and write weekly activity near the line by side, flagged cells, and `impact` findings
    /// graded `possible` (fire_findings.geojson, report.html).
    Fires {
        /// Store whose evidence log holds the analysis year's thermal anomalies
        /// (`truce ingest firms`).
        #[arg(long)]
        store: PathBuf,
        /// The agreement whose line and control areas the activity is measured against.
        #[arg(long)]
        agreement: PathBuf,
        /// Reference (pre-war) FIRMS CSV files, one or more years.
        #[arg(long, required = true, num_args = 1..)]
        reference: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Simulate a scenario: agreement, sensors, keys, signed observations and ground truth.
    Simulate {
        /// Scenario file (TOML), e.g. scenarios/small.toml.
        scenario: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Score findings (violations.geojson) against ground truth (truth.json).
    Score {
        /// truth.json from `truce simulate`.
        #[arg(long)]
        truth: PathBuf,
        /// Findings: violations.geojson or events.geojson.
        #[arg(long)]
        findings: PathBuf,
        /// Also score located events (events.geojson) against every round's launch and impact:
        /// precision, recall of detectable sources and F1.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Build agreements from real geometry.
    Agreement {
        #[command(subcommand)]
        command: AgreementCommand,
    },
    /// Write the sample data set (registry, observations, expected outcomes).
    Sample {
        /// Output directory.
        #[arg(long, default_value = "testdata/sample")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct IngestArgs {
    #[command(subcommand)]
    feed: Option<IngestFeed>,
    /// Store directory.
    #[arg(long, required = true)]
    store: Option<PathBuf>,
    /// Sensor registry (sensors.json).
    #[arg(long, required = true)]
    sensors: Option<PathBuf>,
    /// Origin for the logs of a new store.
    #[arg(long)]
    origin: Option<String>,
    /// Print `ack <log size> <accepted> <rejected>` on stdout after every durable commit.
    #[arg(long)]
    acks: bool,
    /// Lines per group commit.
    #[arg(long, default_value_t = 8192)]
    group_lines: usize,
    /// Observation files, one compact JWS per line.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum IngestFeed {
    /// NASA FIRMS CSV rows as thermal_anomaly observations signed by a gateway sensor.
    Firms {
        /// Store directory (created if absent).
        #[arg(long)]
        store: PathBuf,
        /// The gateway's private key: a JWK with `d` (from `truce keygen sensor`).
        #[arg(long)]
        gateway: PathBuf,
        /// The gateway's sensor id (default: the JWK's `kid`, else GW-FIRMS).
        #[arg(long)]
        id: Option<String>,
        /// FIRMS CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AgreementCommand {
    /// The demo agreement on the Minsk-era line of contact (see scenarios/agreements/PROVENANCE.md).
    Minsk {
        /// The derived contact-line file of shared/data/deepstate-frontline.
        #[arg(
            long,
            default_value = "../shared/data/deepstate-frontline/derived_minsk_era_contact_line_20220403.geojson"
        )]
        contact_line: PathBuf,
        /// The ADM1 boundaries of shared/data/ukraine-admin-boundaries.
        #[arg(
            long,
            default_value = "../shared/data/ukraine-admin-boundaries/geoBoundaries-UKR-ADM1_simplified.geojson"
        )]
        admin: PathBuf,
        /// Output file.
        #[arg(long, default_value = "scenarios/agreements/minsk-2022.geojson")]
        out: PathBuf,
    },
    /// An agreement on the front of a snapshot of occupied territory (a DeepStateMap layer, the
    /// ISW layer or a daily DeepState MultiPolygon): party B holds the occupied polygons clipped
    /// to Ukraine, party A the rest; the line is where they meet away from the state border.
    Occupation {
        /// The snapshot (GeoJSON).
        snapshot: PathBuf,
        /// The ADM1 boundaries of shared/data/ukraine-admin-boundaries.
        #[arg(
            long,
            default_value = "../shared/data/ukraine-admin-boundaries/geoBoundaries-UKR-ADM1_simplified.geojson"
        )]
        admin: PathBuf,
        /// Agreement id.
        #[arg(long, default_value = "occupation")]
        id: String,
        /// Attribution of the snapshot's source (goes into the agreement).
        #[arg(
            long,
            default_value = "DeepStateMap; boundaries: geoBoundaries UKR-ADM1 (ODbL 1.0)"
        )]
        attribution: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// List quarantined lines: file:line: reason: message.
    List {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// One JSON record per line instead.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Sign checkpoints of the evidence and quarantine logs and write their tiles.
    Checkpoint {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
    },
    /// Print an inclusion proof of entry N (or a consistency proof with --from) as JSON.
    Prove {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// Entry index.
        #[arg(long, required_unless_present = "from")]
        index: Option<u64>,
        /// Tree size (default: the latest checkpoint's).
        #[arg(long)]
        size: Option<u64>,
        /// Prove that the tree of this size is a prefix of the tree of --size.
        #[arg(long, conflicts_with = "index")]
        from: Option<u64>,
    },
    /// Re-hash every entry and check the latest checkpoints and tiles. Exit 1 on any problem.
    Verify {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeygenCommand {
    /// A C2SP signed-note key for checkpoints: writes FILE (private) and FILE.pub.
    Log {
        /// The log's origin, e.g. `mission.example.org/evidence`.
        #[arg(long)]
        origin: String,
        /// Output file for the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// An Ed25519 sensor key: writes FILE (private JWK) and FILE.pub (public JWK).
    Sensor {
        /// Output file for the private key.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { out, scenario } => demo(out, &scenario),
        Command::Ingest(args) => ingest(args),
        Command::Quarantine {
            command: QuarantineCommand::List { store, json },
        } => quarantine_list(&store, json),
        Command::Log { command } => match command {
            LogCommand::Checkpoint { store } => {
                let mut s = open_store(&store)?;
                s.checkpoint()?;
                say!(
                    "checkpoint: evidence {} entries, quarantine {} entries",
                    s.evidence().size(),
                    s.quarantine().size()
                );
                Ok(ExitCode::SUCCESS)
            }
            LogCommand::Prove {
                store,
                index,
                size,
                from,
            } => prove(&store, index, size, from),
            LogCommand::Verify { store } => verify(&store),
        },
        Command::Keygen { command } => keygen(command),
        Command::Simulate { scenario, out } => simulate(&scenario, &out),
        Command::Process {
            agreement,
            sensors,
            out,
            files,
        } => process(&agreement, &sensors, &out, &files),
        Command::Report {
            dir,
            agreement,
            sensors,
            key,
            previous,
            out,
            from,
            until,
        } => {
            let time = |s: Option<String>| -> Result<Option<truce_model::UtcNanos>> {
                s.map(|s| {
                    truce_model::UtcNanos::parse(&s)
                        .with_context(|| format!("{s:?} is not an RFC 3339 time"))
                })
                .transpose()
            };
            let window = truce_report::bundle::Window {
                from: time(from)?,
                until: time(until)?,
            };
            report(
                &dir,
                &agreement,
                &sensors,
                &key,
                previous.as_deref(),
                out.as_deref(),
                &window,
            )
        }
        Command::Verify {
            bundle,
            mission_key,
            previous,
            agreement,
            full,
        } => verify_bundle(
            &bundle,
            mission_key.as_deref(),
            previous.as_deref(),
            agreement.as_deref(),
            full,
        ),
        Command::Fires {
            store,
            agreement,
            reference,
            out,
        } => fires(&store, &agreement, &reference, &out),
        Command::Score {
            truth,
            findings,
            events,
            json,
        } => score(&truth, &findings, events.as_deref(), json),
        Command::Agreement {
            command:
                AgreementCommand::Minsk {
                    contact_line,
                    admin,
                    out,
                },
        } => {
            let read =
                |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
            let text = truce_sim::agreements::minsk(&read(&contact_line)?, &read(&admin)?)?;
            truce_model::Agreement::from_json(text.as_bytes())
                .context("the built agreement does not pass its own checks")?;
            if let Some(dir) = out.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
            say!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Agreement {
            command:
                AgreementCommand::Occupation {
                    snapshot,
                    admin,
                    id,
                    attribution,
                    out,
                },
        } => {
            let read =
                |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
            let occupied = truce_sim::agreements::occupied_polygons(&read(&snapshot)?)?;
            let name = format!("Front of {}", snapshot.display());
            let text = truce_sim::agreements::occupation(
                occupied,
                &read(&admin)?,
                &id,
                &name,
                &attribution,
            )?;
            let agreement = truce_model::Agreement::from_json(text.as_bytes())
                .context("the built agreement does not pass its own checks")?;
            for p in truce_assess::check_agreement(&agreement) {
                say!("warning: {p}");
            }
            if let Some(dir) = out.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
            say!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sample { out } => {
            write_sample(&out)?;
            say!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_store(dir: &Path) -> Result<Store> {
    Store::open(dir).with_context(|| format!("cannot open store {}", dir.display()))
}

fn read_registry(path: &Path) -> Result<Keyring> {
    let bytes = fs::read(path)
        .with_context(|| format!("cannot read sensor registry {}", path.display()))?;
    let registry = SensorRegistry::from_json(&bytes)
        .with_context(|| format!("sensor registry {} is unusable", path.display()))?;
    Keyring::new(&registry).with_context(|| format!("sensor registry {}", path.display()))
}

fn ingest(args: IngestArgs) -> Result<ExitCode> {
    if let Some(IngestFeed::Firms {
        store,
        gateway,
        id,
        files,
    }) = args.feed
    {
        return ingest_firms(&store, &gateway, id, &files);
    }
    let (Some(store_dir), Some(sensors)) = (args.store, args.sensors) else {
        bail!("give --store and --sensors (or `ingest firms`)");
    };
    let keyring = read_registry(&sensors)?;
    let mut store = Store::open_or_create(&store_dir, args.origin.as_deref())
        .with_context(|| format!("cannot open store {}", store_dir.display()))?;
    let opts = IngestOptions {
        group_lines: args.group_lines,
        ..IngestOptions::default()
    };
    let mut total = IngestSummary::default();
    for file in &args.files {
        let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.display().to_string();
        let bar = progress_bar(bytes.len() as u64, &name);
        let acks = args.acks;
        let summary = store.ingest(&keyring, &name, &bytes, &opts, &mut |p| {
            bar.set_position(p.bytes_done);
            if acks {
                // Printed only after the commit: a test kills the process and checks these.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "ack {} {} {}", p.log_size, p.accepted, p.rejected);
                let _ = out.flush();
            }
        })?;
        bar.finish_and_clear();
        for m in &summary.messages {
            eprintln!("{m}");
        }
        if summary.rejected() > summary.messages.len() as u64 {
            eprintln!(
                "... {} more refusals: see `truce quarantine list --store {}`",
                summary.rejected() - summary.messages.len() as u64,
                store_dir.display()
            );
        }
        merge(&mut total, &summary);
    }
    store.checkpoint()?;
    print_summary(&total, store.evidence().size());
    Ok(ExitCode::SUCCESS)
}

/// A bar counting picks (its length is set once known).
fn count_bar(name: &str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} picks, eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar
}

fn progress_bar(len: u64, name: &str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar
}

/// Ingest one input with a progress bar and default options.
fn ingest_with_bar(
    store: &mut Store,
    keyring: &Keyring,
    name: &str,
    bytes: &[u8],
) -> Result<IngestSummary> {
    let bar = progress_bar(bytes.len() as u64, name);
    let s = store.ingest(keyring, name, bytes, &IngestOptions::default(), &mut |p| {
        bar.set_position(p.bytes_done)
    })?;
    bar.finish_and_clear();
    Ok(s)
}

fn merge(total: &mut IngestSummary, s: &IngestSummary) {
    total.lines += s.lines;
    total.blank_lines += s.blank_lines;
    total.accepted += s.accepted;
    for (r, n) in &s.by_reason {
        *total.by_reason.entry(*r).or_default() += n;
    }
}

fn print_summary(s: &IngestSummary, log_size: u64) {
    say!("lines read:        {:>9}", s.lines);
    say!("accepted:          {:>9}", s.accepted);
    say!("rejected:          {:>9}", s.rejected());
    for (reason, n) in &s.by_reason {
        say!("  {:<22}{:>9}  {}", reason.code(), n, reason.describe());
    }
    if s.blank_lines > 0 {
        say!("blank lines:       {:>9}", s.blank_lines);
    }
    say!("evidence log size: {log_size:>9}");
}

fn quarantine_list(dir: &Path, as_json: bool) -> Result<ExitCode> {
    let store = open_store(dir)?;
    let mut out = std::io::stdout().lock();
    for rec in store.quarantine_records()? {
        match rec {
            Ok(r) if as_json => writeln!(out, "{}", serde_json::to_string(&r)?)?,
            Ok(r) => writeln!(out, "{}", r.display_line())?,
            Err(i) => writeln!(out, "quarantine entry {i}: not a valid record")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn prove(dir: &Path, index: Option<u64>, size: Option<u64>, from: Option<u64>) -> Result<ExitCode> {
    let store = open_store(dir)?;
    let log = store.evidence();
    let config = store.config();
    let checkpoint = log.latest_checkpoint();
    let size = match (size, &checkpoint) {
        (Some(s), _) => s,
        (None, Some(note)) => {
            truce_log::verify_checkpoint(note, &config.evidence_vkey)
                .context("the latest checkpoint does not verify")?
                .size
        }
        (None, None) => bail!("no checkpoint yet: give --size or run `truce log checkpoint`"),
    };
    let b64 = |h: &truce_log::Hash| STANDARD.encode(h.0);
    let out = if let Some(old) = from {
        let proof = log.prove_consistency(old, size)?;
        json!({"type": "consistency", "old_size": old, "old_root": b64(&log.root_at(old)?),
            "size": size, "root": b64(&log.root_at(size)?),
            "proof": proof.iter().map(b64).collect::<Vec<_>>()})
    } else {
        let index = index.context("give --index or --from")?;
        let proof = log.prove_inclusion(index, size)?;
        let entry = log.entry(index)?;
        json!({"type": "inclusion", "index": index, "size": size,
            "leaf_hash": b64(&log.leaf_hash(index)?), "root": b64(&log.root_at(size)?),
            "proof": proof.iter().map(b64).collect::<Vec<_>>(),
            "entry": String::from_utf8_lossy(&entry),
            "checkpoint": checkpoint.map(|c| String::from_utf8_lossy(&c).into_owned())})
    };
    say!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &Path) -> Result<ExitCode> {
    let report = Store::verify(dir).with_context(|| format!("cannot verify {}", dir.display()))?;
    for (name, r) in [
        ("evidence", &report.evidence),
        ("quarantine", &report.quarantine),
    ] {
        let status = if r.ok() { "ok" } else { "FAILED" };
        say!(
            "{name}: {status}: {} entries, checkpoint {}",
            r.entries,
            r.checkpoint_size
                .map_or("none".into(), |s| format!("at {s}"))
        );
        if let Some(cp) = r.checkpoint_size.filter(|cp| *cp < r.entries) {
            say!(
                "{name}: note: {} entries after the checkpoint are re-hashed but not yet signed (run `truce log checkpoint`)",
                r.entries - cp
            );
        }
        if r.torn_tail_bytes > 0 {
            say!(
                "{name}: note: {} bytes of torn tail after the last entry (a crash; cut on next open)",
                r.torn_tail_bytes
            );
        }
        for p in &r.problems {
            say!("{name}: {p}");
        }
    }
    for i in &report.bad_quarantine_records {
        say!("quarantine: entry {i} is not a valid quarantine record");
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn keygen(cmd: KeygenCommand) -> Result<ExitCode> {
    let (out, private, public) = match cmd {
        KeygenCommand::Log { origin, out } => {
            let k = truce_log::generate_key(&origin)?;
            (out, k.skey, k.vkey)
        }
        KeygenCommand::Sensor { out } => {
            let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            let public = json!({"kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())});
            let mut private = public.clone();
            private["d"] = json!(URL_SAFE_NO_PAD.encode(key.to_bytes()));
            (out, private.to_string(), public.to_string())
        }
    };
    // Both files or neither: a private key left beside another key's .pub signs what the .pub
    // does not verify (and a report made with it fails `truce verify` for no visible reason).
    let pub_path = PathBuf::from(format!("{}.pub", out.display()));
    for path in [&out, &pub_path] {
        if fs::symlink_metadata(path).is_ok() {
            bail!(
                "{} exists: keygen never overwrites a key (choose another --out, or remove {} and {})",
                path.display(),
                out.display(),
                pub_path.display()
            );
        }
    }
    write_new(&out, &private, true)?;
    if let Err(e) = write_new(&pub_path, &public, false) {
        // Created just now by this run (create_new), so nobody else's.
        let _ = fs::remove_file(&out);
        return Err(e);
    }
    say!(
        "wrote {} (private) and {}",
        out.display(),
        pub_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_new(path: &Path, text: &str, private: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
    writeln!(f, "{text}")?;
    Ok(())
}

fn write_sample(out: &Path) -> Result<()> {
    let s = truce_sim::sample::sample();
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    fs::write(
        out.join("sensors.json"),
        serde_json::to_string_pretty(&s.registry)? + "\n",
    )?;
    fs::write(out.join("observations.jwsl"), &s.jwsl)?;
    fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&s.expected)? + "\n",
    )?;
    Ok(())
}

/// The built-in scenario of the demo (the same file as scenarios/small.toml).
const DEMO_SCENARIO: &str = include_str!("../../../scenarios/small.toml");
const DAY_SCENARIO: &str = include_str!("../../../scenarios/day.toml");

fn demo(out: Option<PathBuf>, which: &str) -> Result<ExitCode> {
    let root = match out {
        Some(p) => p,
        None => std::env::temp_dir().join(format!("truce-demo-{}", std::process::id())),
    };
    if root.join("run").exists() || root.join("sample-store").exists() {
        bail!(
            "{} already holds a demo; give another --out",
            root.display()
        );
    }
    fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    say!("Truce demo: the whole chain on the built-in scenario, then bad input on the sample set");
    say!();
    let (text, what) = if which == "day" {
        (
            DAY_SCENARIO,
            "a day on the Minsk-era line (scenarios/day.toml)",
        )
    } else {
        (
            DEMO_SCENARIO,
            "30 minutes on 70 km of the Minsk-era line (scenarios/small.toml)",
        )
    };
    say!("1. simulating {what}");
    let scenario = root.join(format!("{which}.toml"));
    fs::write(&scenario, text)?;
    let sim = root.join("sim");
    simulate(&scenario, &sim)?;
    say!();
    say!("2. processing: ingest into a signed evidence log, locate, assess against the agreement");
    let run = root.join("run");
    process(
        &sim.join("agreement.geojson"),
        &sim.join("sensors.json"),
        &run,
        &[sim.join("observations.jwsl")],
    )?;
    say!();
    say!("3. scoring the findings against the simulator's ground truth");
    score(
        &sim.join("truth.json"),
        &run.join("violations.geojson"),
        Some(&run.join("events.geojson")),
        false,
    )?;
    say!();
    say!("4. verifying the run's evidence log offline");
    let run_code = verify(&run.join("store"))?;
    say!();
    say!("5. publishing: the report, its exports and a bundle signed by the mission's key");
    let key = truce_log::generate_key("demo.mission.truce")?;
    let key_path = root.join("mission.key");
    write_new(&key_path, &key.skey, true)?;
    write_new(&root.join("mission.key.pub"), &key.vkey, false)?;
    let report_dir = run.join("report");
    report(
        &run,
        &sim.join("agreement.geojson"),
        &sim.join("sensors.json"),
        &key_path,
        None,
        Some(&report_dir),
        &truce_report::bundle::Window::default(),
    )?;
    say!();
    say!(
        "6. what a party does with it: re-check the bundle offline (signatures, proofs, and the whole analysis re-run: `truce verify --full`)"
    );
    let bundle_code = verify_bundle(
        &report_dir.join("report.truce-bundle"),
        Some(&root.join("mission.key.pub")),
        None,
        None,
        true,
    )?;
    say!();
    say!("7. bad input: the sample set has one line for every reason code");
    let keyring = read_registry_from(&truce_sim::sample::sample().registry)?;
    let store_dir = root.join("sample-store");
    let mut store = Store::open_or_create(&store_dir, Some("demo.truce.local"))?;
    let sample = truce_sim::sample::sample();
    let summary = store.ingest(
        &keyring,
        "sample/observations.jwsl",
        &sample.jwsl,
        &IngestOptions::default(),
        &mut |_| {},
    )?;
    print_summary(&summary, store.evidence().size());
    let missing: Vec<_> = Reason::ALL
        .iter()
        .filter(|r| r.is_observation_reason() && !summary.by_reason.contains_key(r))
        .map(|r| r.code())
        .collect();
    store.checkpoint()?;
    let log = store.evidence();
    let last = log.size() - 1;
    let proof = log.prove_inclusion(last, log.size())?;
    truce_log::check_inclusion(&proof, log.size(), log.root()?, last, log.leaf_hash(last)?)?;
    say!(
        "   entry {last} proved included in the tree of {} entries ({} hashes)",
        log.size(),
        proof.len()
    );
    drop(store);
    let sample_code = verify(&store_dir)?;
    say!();
    say!("report:      {}", report_dir.join("report.html").display());
    say!(
        "bundle:      {} (truce verify it)",
        report_dir.join("report.truce-bundle").display()
    );
    say!("findings:    {}", run.join("violations.geojson").display());
    say!("events:      {}", run.join("events.geojson").display());
    say!("truth:       {}", sim.join("truth.json").display());
    say!(
        "quarantine:  truce quarantine list --store {}",
        store_dir.display()
    );
    if !missing.is_empty() {
        bail!("the sample did not exercise reasons {missing:?}");
    }
    Ok(
        if run_code == ExitCode::SUCCESS
            && sample_code == ExitCode::SUCCESS
            && bundle_code == ExitCode::SUCCESS
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

fn read_registry_from(registry: &SensorRegistry) -> Result<Keyring> {
    Keyring::new(registry).context("sample registry")
}

fn simulate(scenario_path: &Path, out: &Path) -> Result<ExitCode> {
    let text = fs::read_to_string(scenario_path)
        .with_context(|| format!("cannot read scenario {}", scenario_path.display()))?;
    let scenario = truce_sim::scenario::Scenario::from_toml(&text)
        .with_context(|| format!("scenario {} is invalid", scenario_path.display()))?;
    let agreement = if scenario.agreement == "minsk" {
        None
    } else {
        let p = scenario_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&scenario.agreement);
        Some(
            fs::read_to_string(&p)
                .with_context(|| format!("cannot read agreement {}", p.display()))?,
        )
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("simulating {}", scenario.name));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let t = std::time::Instant::now();
    let sim = truce_sim::generate::simulate(&scenario, agreement.as_deref())?;
    spinner.finish_and_clear();
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        fs::write(out.join(name), bytes)
            .with_context(|| format!("cannot write {}", out.join(name).display()))
    };
    write("agreement.geojson", sim.agreement_json.as_bytes())?;
    write(
        "sensors.json",
        (serde_json::to_string_pretty(&sim.registry)? + "\n").as_bytes(),
    )?;
    write(
        "keys.json",
        truce_sim::generate::keys_json(&sim.keys).as_bytes(),
    )?;
    write("observations.jwsl", &sim.jwsl)?;
    write(
        "truth.json",
        (serde_json::to_string_pretty(&sim.truth)? + "\n").as_bytes(),
    )?;
    write("picks_truth.csv", sim.picks_truth.as_bytes())?;
    let st = &sim.truth.stats;
    say!(
        "{}: {} observations ({} picks, {} false, {} late) from {} sensors; {} rounds, {} violations; {:.1} s",
        scenario.name,
        st.observations,
        st.picks,
        st.false_picks,
        st.late_picks,
        sim.registry.sensors.len(),
        st.rounds,
        sim.truth.violations.len(),
        t.elapsed().as_secs_f64()
    );
    for (kind, n) in truce_sim::generate::kinds(&sim.jwsl) {
        say!("  {kind:<18}{n:>9}");
    }
    say!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn score(
    truth_path: &Path,
    findings_path: &Path,
    events_path: Option<&Path>,
    as_json: bool,
) -> Result<ExitCode> {
    let truth: truce_sim::truth::Truth = serde_json::from_slice(
        &fs::read(truth_path).with_context(|| format!("cannot read {}", truth_path.display()))?,
    )
    .with_context(|| format!("{} is not a truth.json", truth_path.display()))?;
    let findings = truce_sim::score::read_findings(
        &fs::read(findings_path)
            .with_context(|| format!("cannot read {}", findings_path.display()))?,
    )
    .with_context(|| format!("{}", findings_path.display()))?;
    let mut s = truce_sim::score::score(&truth, &findings);
    if let Some(path) = events_path {
        let events = truce_sim::score::read_findings(
            &fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{}", path.display()))?;
        s.events = Some(truce_sim::score::score_events(&truth, &events));
    }
    if as_json {
        say!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "findings:             {:>8}   matched {:>8}   precision {:.3}",
        s.findings,
        s.matched_findings,
        s.precision
    );
    say!(
        "truth violations:     {:>8}   found   {:>8}   recall    {:.3}",
        s.truth,
        s.found,
        s.recall
    );
    say!(
        "detectable:           {:>8}   found   {:>8}   recall    {:.3}",
        s.detectable,
        s.found_detectable,
        s.recall_detectable
    );
    say!(
        "attribution accuracy: {:.3} over {} attributed firings",
        s.attribution_accuracy,
        s.attributed
    );
    say!(
        "location error:       median {:.0} m, 95th percentile {:.0} m",
        s.median_error_m,
        s.p95_error_m
    );
    say!(
        "ellipse coverage:     {:.3} over {} ellipses (0.95 is honest)",
        s.ellipse_coverage,
        s.with_ellipse
    );
    say!(
        "Cramér-Rao bound:     median {:.0} m; error / bound {:.2} ({:.2} over {} isolated ends)",
        s.median_crb_m,
        s.error_over_crb,
        s.isolated_error_over_crb,
        s.isolated
    );
    for (kind, (n, m)) in &s.by_type {
        say!("  {kind:<28}{n:>8} findings {m:>8} matched");
    }
    let firings: usize = s.by_radar.values().sum();
    if firings > 0 {
        say!("detectable firings by what radars saw of the round (the recall is not split so):");
        for (what, n) in &s.by_radar {
            let share = *n as f64 / firings as f64;
            say!("  {what:<32}{n:>8}   share {share:.3}");
        }
    }
    if !s.missed_by.is_empty() {
        say!("detectable violations missed, by class and what radars saw of each end:");
        for (what, n) in &s.missed_by {
            say!("  {what:<48}{n:>8}");
        }
    }
    if let Some(e) = &s.events {
        say!(
            "events:               {:>8}   matched {:>8}   precision {:.3}",
            e.events,
            e.matched,
            e.precision
        );
        say!(
            "detectable sources:   {:>8}   found   {:>8}   recall    {:.3}   F1 {:.3}",
            e.detectable,
            e.found_detectable,
            e.recall_detectable,
            e.f1
        );
        say!(
            "event location error: median {:.0} m; error / bound {:.2} ({:.2} over {} isolated sources)",
            e.median_error_m,
            e.error_over_crb,
            e.isolated_error_over_crb,
            e.isolated
        );
        say!(
            "event ellipse coverage: {:.3} over {} ellipses (0.95 is honest)",
            e.ellipse_coverage,
            e.with_ellipse
        );
        for (what, (n, found)) in &e.by_source {
            let recall = if *n == 0 {
                0.0
            } else {
                *found as f64 / *n as f64
            };
            say!("  {what:<40}{n:>8} detectable {found:>8} found   recall {recall:.3}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn process(
    agreement_path: &Path,
    sensors: &Path,
    out: &Path,
    files: &[PathBuf],
) -> Result<ExitCode> {
    let t = std::time::Instant::now();
    let agreement_bytes = fs::read(agreement_path)
        .with_context(|| format!("cannot read agreement {}", agreement_path.display()))?;
    let agreement = truce_model::Agreement::from_json(&agreement_bytes)
        .with_context(|| format!("agreement {} is unusable", agreement_path.display()))?;
    let problems = truce_assess::check_agreement(&agreement);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}: {p}", agreement_path.display());
        }
        bail!(
            "agreement {} has {} geometry problem(s); findings would be wrong",
            agreement_path.display(),
            problems.len()
        );
    }
    let registry_bytes = fs::read(sensors)
        .with_context(|| format!("cannot read sensor registry {}", sensors.display()))?;
    let registry = SensorRegistry::from_json(&registry_bytes)
        .with_context(|| format!("sensor registry {} is unusable", sensors.display()))?;
    let keyring = Keyring::new(&registry)
        .with_context(|| format!("sensor registry {}", sensors.display()))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // Each run starts from a fresh store, so that its outputs depend only on its inputs.
    let store_dir = out.join("store");
    if store_dir.join("store.json").exists() {
        fs::remove_dir_all(&store_dir)
            .with_context(|| format!("cannot clear {}", store_dir.display()))?;
    } else if store_dir.exists() {
        bail!(
            "{} exists and is not a Truce store; refusing to overwrite it",
            store_dir.display()
        );
    }
    let mut store = Store::open_or_create(&store_dir, None)?;
    let mut total = IngestSummary::default();
    let inputs = files
        .iter()
        .map(|f| fs::read(f).with_context(|| format!("cannot read {}", f.display())))
        .collect::<Result<Vec<_>>>()?;
    // Each input is parsed once (on all cores), for ingest and for the analysis. The analysis
    // starts at once, on the envelopes the log will hold if every signature verifies, beside
    // ingest (whose work is checking the signatures) and on its own threads, so that each takes
    // the cores the other leaves idle. It is stopped as soon as ingest's log falls behind what
    // was expected (a bad signature), and kept only if the log came out the same, envelope for
    // envelope; otherwise the log's own entries are analysed after it.
    let bars = MultiProgress::new();
    let bar = bars.add(count_bar("associating and locating acoustic picks"));
    let progress = |done: usize, all: usize| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
    };
    let parsed: Vec<truce_ingest::ParsedEnvelopes<'_>> = inputs
        .iter()
        .map(|bytes| truce_ingest::parse_input(&keyring, bytes))
        .collect();
    let expected = truce_ingest::expected_envelopes(&parsed);
    // Per input, where its expected envelopes' lines end.
    let mut ends: Vec<Vec<usize>> = vec![Vec::new(); inputs.len()];
    for e in &expected {
        ends[e.input].push(e.end);
    }
    let envelopes: Vec<&[u8]> = expected.iter().map(|e| e.envelope).collect();
    // The payloads as ingest parsed them, as the analysis would parse the log.
    let observations: Vec<truce_engine::Evidence> = expected
        .into_iter()
        .enumerate()
        .map(|(i, e)| truce_engine::Evidence {
            leaf_index: i as u64,
            leaf_hash: truce_log::hex(&e.leaf),
            observation: e.observation,
        })
        .collect();
    let ingest_pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("ingest-{i}"))
        .build()?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (ingested, early) = std::thread::scope(|scope| {
        let early = scope.spawn(|| {
            truce_report::analyse_evidence_until(
                agreement.clone(),
                &registry,
                observations,
                &progress,
                &stop,
            )
        });
        let ingested = ingest_pool.install(|| -> Result<f64> {
            for (k, (file, input)) in files.iter().zip(parsed).enumerate() {
                let name = file.display().to_string();
                let file_bar = bars.add(progress_bar(inputs[k].len() as u64, &name));
                let s = store.ingest_parsed(&name, input, &IngestOptions::default(), &mut |p| {
                    file_bar.set_position(p.bytes_done);
                    // The log so far must be the expected envelopes so far.
                    let logged = ends[..k].iter().map(Vec::len).sum::<usize>()
                        + ends[k].partition_point(|&e| e as u64 <= p.bytes_done);
                    if p.log_size != logged as u64 {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                })?;
                file_bar.finish_and_clear();
                merge(&mut total, &s);
            }
            store.checkpoint()?;
            Ok(t.elapsed().as_secs_f64())
        });
        if ingested.is_err() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let early = early
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (ingested, early)
    });
    let ingested = ingested?;
    let log = store.evidence();
    let analysis = match early {
        Ok(Some(analysis)) if log.holds_exactly(&envelopes) => analysis,
        _ => {
            let entries = log.entries(0, log.size())?;
            truce_report::analyse_with_progress(agreement, &registry, &entries, &progress)?
        }
    };
    bar.finish_and_clear();
    let analysed = t.elapsed().as_secs_f64();
    let output = &analysis.output;
    fs::write(out.join("events.geojson"), &analysis.events_text)?;
    fs::write(out.join("violations.geojson"), &analysis.findings_text)?;
    let mut q = String::new();
    for rec in store.quarantine_records()? {
        match rec {
            Ok(r) => q.push_str(&(serde_json::to_string(&r)? + "\n")),
            Err(i) => bail!("quarantine entry {i} is damaged"),
        }
    }
    fs::write(out.join("quarantine.jsonl"), q)?;
    let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
    for e in &output.events {
        let k = format!("{:?}/{}", e.kind, e.method).to_lowercase();
        *by_kind.entry(k).or_default() += 1;
    }
    let summary = serde_json::json!({
        "observations": {"lines": total.lines, "accepted": total.accepted,
            "rejected": total.rejected(), "by_reason": total.by_reason.iter().map(|(r, n)| (r.code(), n)).collect::<std::collections::BTreeMap<_, _>>()},
        "events": output.events.len(), "events_by_type_and_method": by_kind,
        "findings": output.findings.len(),
        "unassociated_picks": output.unassociated_picks, "diagnostics": output.diagnostics,
        "checkpoint_size": store.evidence().size(),
    });
    fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    print_summary(&total, store.evidence().size());
    say!("events:            {:>9}", output.events.len());
    for (k, n) in &by_kind {
        say!("  {k:<22}{n:>9}");
    }
    say!("unassociated picks:{:>9}", output.unassociated_picks);
    for (why, n) in &output.diagnostics {
        say!("skipped: {n} x {why}");
    }
    say!("findings:          {:>9}", output.findings.len());
    let mut table: std::collections::BTreeMap<(String, String, String), u64> = Default::default();
    for f in &output.findings {
        let party = f.party.clone().unwrap_or_else(|| "-".into());
        *table
            .entry((f.kind.to_owned(), party, f.grade.to_owned()))
            .or_default() += 1;
    }
    say!(
        "  {:<28}{:<7}{:<11}{:>7}",
        "type",
        "party",
        "grade",
        "count"
    );
    for ((kind, party, grade), n) in &table {
        say!("  {kind:<28}{party:<7}{grade:<11}{n:>7}");
    }
    let secs = t.elapsed().as_secs_f64();
    say!(
        "wrote {} in {:.1} s (ingest and log {:.1} s, and beside it association, location and assessment, done at {:.1} s; writing {:.1} s)",
        out.display(),
        secs,
        ingested,
        analysed,
        secs - analysed
    );
    Ok(ExitCode::SUCCESS)
}

fn ingest_firms(
    store_dir: &Path,
    gateway: &Path,
    id: Option<String>,
    files: &[PathBuf],
) -> Result<ExitCode> {
    let jwk: serde_json::Value = serde_json::from_slice(
        &fs::read(gateway)
            .with_context(|| format!("cannot read gateway key {}", gateway.display()))?,
    )
    .with_context(|| format!("gateway key {} is not a JWK", gateway.display()))?;
    let d = jwk["d"]
        .as_str()
        .context("gateway key has no private part `d` (make one with `truce keygen sensor`)")?;
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(d)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("gateway key `d` is not 32 bytes of base64url")?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let id = id
        .or_else(|| jwk["kid"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "GW-FIRMS".into());
    // The gateway is the only sensor this feed needs: it vouches for the rows it re-signs.
    let registry = SensorRegistry {
        sensors: vec![truce_model::Sensor {
            id: id.clone(),
            kind: truce_model::SensorKind::Gateway,
            owner: "NASA-FIRMS".into(),
            key: truce_model::Jwk::ed25519(key.verifying_key().as_bytes()),
            position: None,
            timing_sigma_s: None,
            active_from: None,
            active_until: None,
        }],
    };
    let keyring = Keyring::new(&registry)?;
    let mut store = Store::open_or_create(store_dir, None)
        .with_context(|| format!("cannot open store {}", store_dir.display()))?;
    let mut total = IngestSummary::default();
    let (mut feed_bad, mut rows_read) = (0u64, 0u64);
    for file in files {
        let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.display().to_string();
        let rows = truce_ingest::firms::parse(&bytes).with_context(|| name.clone())?;
        rows_read += rows.len() as u64;
        for r in &rows {
            if let truce_ingest::firms::Row::Bad {
                line,
                reason,
                message,
                raw,
            } = r
            {
                eprintln!("{name}:{line}: {reason}: {message}");
                store.quarantine_feed_row(&name, *line, raw, *reason, message.clone())?;
                feed_bad += 1;
            }
        }
        let first = store.last_seq(&id).map_or(1, |s| s + 1);
        let signed = truce_ingest::firms::sign(&rows, &id, &key, first);
        let mut jwsl = Vec::with_capacity(signed.iter().map(|(_, l)| l.len() + 1).sum());
        for (_, l) in &signed {
            jwsl.extend_from_slice(l.as_bytes());
            jwsl.push(b'\n');
        }
        let s = ingest_with_bar(
            &mut store,
            &keyring,
            &format!("{name} (signed by {id})"),
            &jwsl,
        )?;
        merge(&mut total, &s);
    }
    store.checkpoint()?;
    say!("FIRMS rows read:   {rows_read:>9}");
    say!("rows refused:      {feed_bad:>9}  (quarantined with their line numbers)");
    print_summary(&total, store.evidence().size());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report(
    dir: &Path,
    agreement: &Path,
    sensors: &Path,
    key: &Path,
    previous: Option<&Path>,
    out: Option<&Path>,
    window: &truce_report::bundle::Window,
) -> Result<ExitCode> {
    let t = std::time::Instant::now();
    let read = |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let out = out.map_or_else(|| dir.join("report"), Path::to_path_buf);
    let store = open_store(&dir.join("store"))?;
    let findings_text =
        window.apply(&String::from_utf8(read(&dir.join("violations.geojson"))?)?)?;
    let all_events_text = String::from_utf8(read(&dir.join("events.geojson"))?)?;
    let events_text = window.apply(&all_events_text)?;
    let windowed = window.is_bounded();
    let summary: serde_json::Value = serde_json::from_slice(&read(&dir.join("summary.json"))?)?;
    let agreement_bytes = read(agreement)?;
    let registry_bytes = read(sensors)?;
    let skey = String::from_utf8(read(key)?)?;
    let mission = truce_log::LogSigner::from_skey(&skey).context("the mission key")?;
    let pub_path = PathBuf::from(format!("{}.pub", key.display()));
    let vkey = String::from_utf8(read(&pub_path)?)?.trim().to_string();
    let previous_bytes = previous.map(read).transpose()?;
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    // The bundle (most of the work: every envelope, the proofs, a signature over 180 MB for a
    // day) is built and written on its own thread while this one writes the report and exports.
    let parts = truce_report::bundle::Parts {
        store: &store,
        agreement: &agreement_bytes,
        registry: &registry_bytes,
        findings_text: &findings_text,
        events_text: &events_text,
        all_events_text: windowed.then_some(all_events_text.as_str()),
        mission: &mission,
        mission_vkey: &vkey,
        previous: previous_bytes.as_deref(),
        window: window.clone(),
    };
    // Written under a temporary name and renamed when whole: a failed run leaves no bundle
    // that looks complete.
    let bundle_path = out.join("report.truce-bundle.partial");
    let (bundle_len, rest) = std::thread::scope(|scope| {
        let bundle = scope.spawn(|| -> Result<u64> {
            let file = fs::File::create(&bundle_path)
                .with_context(|| format!("cannot create {}", bundle_path.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            Ok(truce_report::bundle::make_to(&parts, &mut w)?)
        });
        let rest = (|| -> Result<()> {
            let previous_findings = match &previous_bytes {
                Some(b) => truce_report::bundle::open(b)?
                    .findings()
                    .and_then(|t| truce_report::html::counts(&t)),
                None => None,
            };
            let findings: serde_json::Value = serde_json::from_str(&findings_text)?;
            let agreement_json: serde_json::Value = serde_json::from_slice(&agreement_bytes)?;
            let checkpoint =
                String::from_utf8(store.evidence().latest_checkpoint().unwrap_or_default())?;
            let mut statuses = Vec::new();
            let log = store.evidence();
            for entry in log.entries(0, log.size())? {
                // Only payloads that name the kind are parsed (a day's log holds 200,000
                // envelopes and a few hundred status reports).
                if let Ok(jws) = truce_ingest::jws::parse(&entry)
                    && memchr::memmem::find(&jws.payload, b"sensor_status").is_some()
                    && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&jws.payload)
                    && v["kind"] == "sensor_status"
                {
                    statuses.push(v);
                }
            }
            let sensors_down = truce_report::html::down_periods(&statuses);
            let html = truce_report::html::html(&truce_report::html::Inputs {
                agreement: &agreement_json,
                findings: &findings,
                summary: &summary,
                previous_findings,
                checkpoint: &checkpoint,
                sensors_down: &sensors_down,
            });
            fs::write(out.join("report.html"), html)?;
            fs::write(out.join("findings.kml"), truce_report::html::kml(&findings))?;
            fs::write(out.join("findings.cot"), truce_report::html::cot(&findings))?;
            fs::write(out.join("violations.geojson"), &findings_text)?;
            fs::write(out.join("events.geojson"), &events_text)?;
            Ok(())
        })();
        let bundle = bundle
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("building the bundle panicked")));
        (bundle, rest)
    });
    let bundle_len = match (rest, bundle_len) {
        (Ok(()), Ok(n)) => n,
        (rest, bundle) => {
            let _ = fs::remove_file(&bundle_path);
            rest?;
            bundle?
        }
    };
    fs::rename(&bundle_path, out.join("report.truce-bundle"))?;
    say!(
        "wrote {} (report.html, findings.kml, findings.cot, violations.geojson, events.geojson, report.truce-bundle: {} bytes) in {:.1} s",
        out.display(),
        bundle_len,
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify_bundle(
    bundle: &Path,
    mission_key: Option<&Path>,
    previous: Option<&Path>,
    agreement: Option<&Path>,
    full: bool,
) -> Result<ExitCode> {
    let t = std::time::Instant::now();
    let read = |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let bytes = read(bundle)?;
    let key = mission_key
        .map(read)
        .transpose()?
        .map(|k| String::from_utf8_lossy(&k).trim().to_string());
    let previous = previous.map(read).transpose()?;
    let agreement = agreement.map(read).transpose()?;
    // Without --full there is no association to follow: a spinner (a day's bundle takes a few
    // seconds, three hours of heavy fire twenty).
    let bar = if full {
        count_bar("re-running the analysis: acoustic picks")
    } else {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message(
            "checking every signature and proof, and re-running the assessment from the published events",
        );
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    };
    let problems = truce_report::bundle::verify_with_progress(
        &bytes,
        &truce_report::bundle::VerifyOptions {
            mission_key: key.as_deref(),
            previous: previous.as_deref(),
            agreement: agreement.as_deref(),
            full,
        },
        &|done, all| {
            bar.set_length(all as u64);
            bar.set_position(done as u64);
        },
    )
    .with_context(|| format!("{}", bundle.display()))?;
    bar.finish_and_clear();
    if problems.is_empty() {
        let what = if full {
            "every signature and proof, and the whole analysis re-run gives the published events and findings byte for byte"
        } else {
            "every signature and proof, the events cite what the log holds and every radar track, and the assessment re-run from them gives the published findings byte for byte; `--full` re-runs the association too"
        };
        say!(
            "{}: verified ({what}) in {:.1} s",
            bundle.display(),
            t.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{}: {p}", bundle.display());
        }
        eprintln!(
            "{}: NOT verified ({} problem(s))",
            bundle.display(),
            problems.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn fires(
    store_dir: &Path,
    agreement_path: &Path,
    reference: &[PathBuf],
    out: &Path,
) -> Result<ExitCode> {
    use truce_assess::fires::{Baseline, Detection, FireConfig, flag};
    let t = std::time::Instant::now();
    let day_of = |secs: f64| (secs / 86_400.0).floor() as i64;
    // Reference years.
    let mut refs = Vec::new();
    let mut years = std::collections::BTreeSet::new();
    for f in reference {
        let bytes = fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let rows = truce_ingest::firms::parse(&bytes)
            .with_context(|| format!("{} is not a FIRMS CSV", f.display()))?;
        for r in rows {
            if let truce_ingest::firms::Row::Anomaly { time, body, .. } = r
                && let (Some(lat), Some(lon)) = (body["lat"].as_f64(), body["lon"].as_f64())
            {
                let day = day_of(time.as_secs_f64());
                years.insert(time.to_string()[..4].to_string());
                refs.push(Detection { lat, lon, day });
            }
        }
    }
    let config = FireConfig::default();
    let baseline = Baseline::learn(&refs, years.len(), config);
    say!(
        "baseline: {} detections in {} reference years ({}), {} cells",
        refs.len(),
        years.len(),
        years.iter().cloned().collect::<Vec<_>>().join(", "),
        baseline.cells().count()
    );
    // The analysis year: thermal anomalies in the evidence log.
    let store = open_store(store_dir)?;
    let log = store.evidence();
    let mut det = Vec::new();
    let mut refs_of = Vec::new();
    for i in 0..log.size() {
        let entry = log.entry(i)?;
        let Ok(jws) = truce_ingest::jws::parse(&entry) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&jws.payload) else {
            continue;
        };
        if v["kind"] != "thermal_anomaly" {
            continue;
        }
        let (Some(lat), Some(lon), Some(time)) = (
            v["lat"].as_f64(),
            v["lon"].as_f64(),
            v["time"]
                .as_str()
                .and_then(|s| truce_model::UtcNanos::parse(s).ok()),
        ) else {
            continue;
        };
        det.push(Detection {
            lat,
            lon,
            day: day_of(time.as_secs_f64()),
        });
        refs_of.push((
            i,
            truce_log::hex(&log.leaf_hash(i)?),
            v["sensor"].as_str().unwrap_or("").to_string(),
        ));
    }
    let agreement_bytes = fs::read(agreement_path)
        .with_context(|| format!("cannot read agreement {}", agreement_path.display()))?;
    let agreement = truce_model::Agreement::from_json(&agreement_bytes)
        .with_context(|| format!("agreement {} is unusable", agreement_path.display()))?;
    let zones = truce_assess::Zones::new(agreement)?;
    // Distances to the line only matter within 50 km (activity bands) and beyond 150 km (quiet
    // cells): a box around the line bounds the work.
    let mut quiet_cache: std::collections::BTreeMap<(i32, i32), bool> = Default::default();
    let mut quiet = |c: (i32, i32)| -> bool {
        *quiet_cache.entry(c).or_insert_with(|| {
            let (lat, lon) = baseline.centre(c);
            zones.distance_to_line_m(truce_geo::LatLon::new(lat, lon)) > 150_000.0
        })
    };
    for c in baseline.cells().collect::<Vec<_>>() {
        quiet(c);
    }
    for d in &det {
        quiet(baseline.cell(d.lat, d.lon));
    }
    let (flags, _) = flag(&baseline, &det, |c| {
        quiet_cache.get(&c).copied().unwrap_or(false)
    });
    // Weekly activity within 10/25/50 km of the line, by side.
    let bar = progress_bar(det.len() as u64, "weekly activity near the line");
    let mut weekly: std::collections::BTreeMap<(i64, String), [u64; 3]> = Default::default();
    for (k, d) in det.iter().enumerate() {
        if k % 1024 == 0 {
            bar.set_position(k as u64);
        }
        let p = truce_geo::LatLon::new(d.lat, d.lon);
        let c = baseline.cell(d.lat, d.lon);
        if quiet_cache.get(&c).copied().unwrap_or(false) {
            continue;
        }
        let dist = zones.distance_to_line_m(p) / 1000.0;
        if dist > 50.0 {
            continue;
        }
        let party = zones.party_at(p).unwrap_or("none").to_string();
        let week = d.day - (d.day + 3).rem_euclid(7); // Monday of the ISO week
        let e = weekly.entry((week, party)).or_default();
        for (i, lim) in [10.0, 25.0, 50.0].iter().enumerate() {
            if dist <= *lim {
                e[i] += 1;
            }
        }
    }
    bar.finish_and_clear();
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let date = |day: i64| {
        truce_model::UtcNanos::from_unix_secs(day * 86_400).to_string()[..10].to_string()
    };
    let mut csv = String::from("week_start,party,within_10km,within_25km,within_50km\n");
    for ((week, party), n) in &weekly {
        csv.push_str(&format!(
            "{},{party},{},{},{}\n",
            date(*week),
            n[0],
            n[1],
            n[2]
        ));
    }
    fs::write(out.join("fires_weekly.csv"), csv)?;
    // Flagged cell-days as findings.
    let mut features = Vec::new();
    let mut cells: std::collections::BTreeMap<(i32, i32), usize> = Default::default();
    for f in &flags {
        *cells.entry(f.cell).or_default() += 1;
        let (lat, lon) = baseline.centre(f.cell);
        // p_party: the share of the cell in each party's area, on a 10 x 10 grid of points.
        let mut share: std::collections::BTreeMap<String, f64> = Default::default();
        for i in 0..10 {
            for j in 0..10 {
                let q = truce_geo::LatLon::new(
                    lat - 0.05 + 0.01 * (i as f64 + 0.5),
                    lon - 0.05 + 0.01 * (j as f64 + 0.5),
                );
                if let Some(pp) = zones.party_at(q) {
                    *share.entry(pp.to_string()).or_default() += 0.01;
                }
            }
        }
        let (party, p) = truce_assess::attribute(&share);
        let evidence: Vec<serde_json::Value> = f
            .detections
            .iter()
            .map(|&k| {
                let (i, h, s) = &refs_of[k];
                json!({"leaf_index": i, "leaf_hash": h, "sensor": s, "kind": "thermal_anomaly"})
            })
            .collect();
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        for k in &f.detections {
            sha2::Digest::update(&mut hasher, refs_of[*k].1.as_bytes());
        }
        let id: String = sha2::Digest::finalize(hasher)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        // The cell as an ellipse: the rectangle's circumscribed ellipse.
        let half_ns = 0.05 * 111_320.0;
        let half_ew = 0.05 * 111_320.0 * lat.to_radians().cos();
        features.push(json!({"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": format!("fire-{id}"), "type": "impact", "method": "fire_anomaly",
                "party": party, "p_party": if party.is_some() { json!((p * 100.0).round() / 100.0) } else { json!(null) },
                "grade": "possible",
                "time": format!("{}T00:00:00Z", date(f.day)), "time_end": format!("{}T23:59:59Z", date(f.day)),
                "weapon_class": null,
                "ellipse95": {"semi_major_m": (half_ns * std::f64::consts::SQRT_2).round(), "semi_minor_m": (half_ew * std::f64::consts::SQRT_2).round(), "azimuth_deg": 0.0},
                "impact": null, "evidence": evidence,
                "corroboration": {"sensors": 1, "owners": [], "kinds": ["thermal_anomaly"]},
                "fire": {"count": f.count, "expected": (f.expected * 1000.0).round() / 1000.0, "p": f.p}}}));
    }
    let findings = json!({"type": "FeatureCollection", "features": features});
    let findings_text = serde_json::to_string_pretty(&findings)? + "\n";
    fs::write(out.join("fire_findings.geojson"), &findings_text)?;
    let mut cells_csv = String::from("lat,lon,flagged_days\n");
    for (c, n) in &cells {
        let (lat, lon) = baseline.centre(*c);
        cells_csv.push_str(&format!("{lat:.2},{lon:.2},{n}\n"));
    }
    fs::write(out.join("fire_cells.csv"), cells_csv)?;
    let agreement_json: serde_json::Value = serde_json::from_slice(&agreement_bytes)?;
    let checkpoint = String::from_utf8(log.latest_checkpoint().unwrap_or_default())?;
    let summary = json!({"observations": {"lines": det.len(), "accepted": det.len(), "rejected": 0, "by_reason": {}}});
    let html = truce_report::html::html(&truce_report::html::Inputs {
        agreement: &agreement_json,
        findings: &findings,
        summary: &summary,
        previous_findings: None,
        checkpoint: &checkpoint,
        sensors_down: &[],
    });
    fs::write(out.join("report.html"), html)?;
    // Where the flags lie: near the front, or far from any fighting (mostly false alarms).
    let (mut near, mut far) = (0usize, 0usize);
    for f in &flags {
        let (lat, lon) = baseline.centre(f.cell);
        let d = zones.distance_to_line_m(truce_geo::LatLon::new(lat, lon));
        near += usize::from(d <= 50_000.0);
        far += usize::from(d > 150_000.0);
    }
    let share = |n: usize| 100.0 * n as f64 / flags.len().max(1) as f64;
    say!(
        "{} thermal anomalies; {} flagged cell-days in {} recurring cells ({:.0} % within 50 km of the line, {:.0} % beyond 150 km); wrote {} (fires_weekly.csv, fire_cells.csv, fire_findings.geojson, report.html) in {:.1} s",
        det.len(),
        flags.len(),
        cells.len(),
        share(near),
        share(far),
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
