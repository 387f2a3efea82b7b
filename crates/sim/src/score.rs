//! The scorer (FORMATS section 5): findings against ground truth.
//!
//! Findings are matched to truth one-to-one by type with an optimal assignment (Kuhn-Munkres on
//! each connected group of candidate pairs): fire events within 1 km and 5 s (a firing finding
//! at the round's launch, an impact finding at its impact; one finding per round either way),
//! weapon sightings within 500 m on the same UTC day. The assignment first maximises the number
//! of matches, then minimises the summed distance.

use std::collections::BTreeMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};
use truce_geo::{Enu, LatLon, distance_m};
use truce_model::UtcNanos;

use crate::truth::{Shot, Truth};

/// Match radius for fire events, metres.
pub const FIRE_RADIUS_M: f64 = 1000.0;
/// Match window for fire events, seconds.
pub const FIRE_WINDOW_S: f64 = 5.0;
/// Match radius for weapon sightings, metres.
pub const SIGHTING_RADIUS_M: f64 = 500.0;

/// Finding types matched as weapon sightings (500 m, same UTC day).
pub const SIGHTING_TYPES: [&str; 3] = [
    "weapon_in_withdrawal_zone",
    "buffer_zone_presence",
    "exclusion_zone_presence",
];

/// A 95 % error ellipse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ellipse95 {
    /// Semi-major axis, m.
    pub semi_major_m: f64,
    /// Semi-minor axis, m.
    pub semi_minor_m: f64,
    /// Azimuth of the major axis, degrees clockwise from north.
    pub azimuth_deg: f64,
}

impl Ellipse95 {
    /// Whether `truth` lies inside the ellipse centred at `centre`.
    pub fn contains(&self, centre: LatLon, truth: LatLon) -> bool {
        let v = Enu::new(centre, 0.0).to_enu(truth, 0.0);
        let az = self.azimuth_deg.to_radians();
        // Along the major axis (unit vector (sin az, cos az) in east-north) and across it.
        let u = v[0] * az.sin() + v[1] * az.cos();
        let w = v[0] * az.cos() - v[1] * az.sin();
        let (a, b) = (self.semi_major_m.max(1e-9), self.semi_minor_m.max(1e-9));
        (u / a).powi(2) + (w / b).powi(2) <= 1.0
    }
}

/// One finding, as far as the scorer reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `firing`, `impact`, `weapon_in_withdrawal_zone`...
    pub kind: String,
    /// Attributed party.
    pub party: Option<String>,
    /// Time.
    pub time: UtcNanos,
    /// Best location.
    pub point: LatLon,
    /// 95 % ellipse.
    pub ellipse95: Option<Ellipse95>,
}

/// Why findings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// Not a FeatureCollection of findings.
    #[error("findings: {0}")]
    Findings(String),
}

/// Read `violations.geojson` (or `events.geojson`).
pub fn read_findings(bytes: &[u8]) -> Result<Vec<Finding>, ScoreError> {
    #[derive(Deserialize)]
    struct Fc {
        features: Vec<F>,
    }
    #[derive(Deserialize)]
    struct F {
        geometry: Option<G>,
        properties: P,
    }
    #[derive(Deserialize)]
    struct G {
        coordinates: Vec<f64>,
    }
    #[derive(Deserialize)]
    struct P {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        party: Option<String>,
        time: UtcNanos,
        #[serde(default)]
        ellipse95: Option<Ellipse95>,
    }
    let fc: Fc = serde_json::from_slice(bytes).map_err(|e| ScoreError::Findings(e.to_string()))?;
    fc.features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let c = f
                .geometry
                .map(|g| g.coordinates)
                .filter(|c| c.len() >= 2)
                .ok_or_else(|| {
                    ScoreError::Findings(format!("feature {i} has no Point geometry"))
                })?;
            Ok(Finding {
                kind: f.properties.kind,
                party: f.properties.party,
                time: f.properties.time,
                point: LatLon::new(c[1], c[0]),
                ellipse95: f.properties.ellipse95,
            })
        })
        .collect()
}

/// A truth target for matching.
#[derive(Debug, Clone)]
struct Target {
    kind: &'static str,
    violation: usize,
    point: LatLon,
    time: UtcNanos,
    crb_m: Option<f64>,
}

/// The scorer's numbers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// Findings read.
    pub findings: usize,
    /// Findings matched to a truth.
    pub matched_findings: usize,
    /// matched / findings.
    pub precision: f64,
    /// Truth violations.
    pub truth: usize,
    /// Truth violations found (a firing counts when its launch or its impact is matched).
    pub found: usize,
    /// found / truth.
    pub recall: f64,
    /// Truth violations the network could have detected.
    pub detectable: usize,
    /// Detectable violations found.
    pub found_detectable: usize,
    /// found_detectable / detectable.
    pub recall_detectable: f64,
    /// Matched firing findings whose party is right / matched firing findings.
    pub attribution_accuracy: f64,
    /// Matched firing findings with a party.
    pub attributed: usize,
    /// Median location error of matched fire findings, m.
    pub median_error_m: f64,
    /// 95th percentile location error, m.
    pub p95_error_m: f64,
    /// Share of matched findings with an ellipse whose ellipse holds the truth.
    pub ellipse_coverage: f64,
    /// Matched findings with an ellipse.
    pub with_ellipse: usize,
    /// Median Cramér-Rao bound of the matched fire events, m.
    pub median_crb_m: f64,
    /// median_error / median_crb (1 is the best possible).
    pub error_over_crb: f64,
    /// The same over matched rounds' ends with no other round's end within `ISOLATED_M` and
    /// `ISOLATED_S`: the locator's own accuracy, where which round is which is not in doubt
    /// (in a ripple the matching may pair a finding with the round beside its own).
    #[serde(default)]
    pub isolated_error_over_crb: f64,
    /// Matched isolated ends with a bound.
    #[serde(default)]
    pub isolated: usize,
    /// Per finding type: (findings, matched).
    pub by_type: BTreeMap<String, (usize, usize)>,
    /// Detectable firings by what radars saw of the round (`firing_kinds`): "tracked" (either
    /// end), "untracked alone" (no other round of its battery within `RIPPLE_S`), "untracked
    /// in a ripple or volley". What was found is not split so: the matching may pair a
    /// ripple's rounds with each other's findings (they are within 1 km and 5 s), so only the
    /// total is the recall; these say how much of it the radars make easy.
    #[serde(default)]
    pub by_radar: BTreeMap<String, usize>,
    /// Detectable violations not found, by weapon class and what radars reported of the
    /// round's launch and impact ("mlrs: launch untracked, impact tracked"), or by type for
    /// sightings: where the recall is lost.
    #[serde(default)]
    pub missed_by: BTreeMap<String, usize>,
    /// Events against sources, when events were scored too (`score_events`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventScore>,
}

/// Located events (`events.geojson`) against the sources of every round, in effect or not: its
/// launch (a `firing` event) and its impact (an `impact` event), one event per source, matched
/// as findings are (1 km and 5 s, optimal one-to-one). The event-level measure of association
/// and location (issue 4), beside the findings' precision and recall.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventScore {
    /// Events read (firing and impact).
    pub events: usize,
    /// Events matched to a source.
    pub matched: usize,
    /// matched / events.
    pub precision: f64,
    /// Sources: two per round.
    pub sources: usize,
    /// Sources the network could have located (`launch_detectable`, `impact_detectable`).
    pub detectable: usize,
    /// Detectable sources matched by an event.
    pub found_detectable: usize,
    /// found_detectable / detectable.
    pub recall_detectable: f64,
    /// Harmonic mean of precision and recall_detectable.
    pub f1: f64,
    /// Detectable sources and those found, by weapon class, end (launch or impact) and what
    /// radars saw of it: "tracked" (a radar reported this end), "mission tracked" (not this
    /// one, but the same end of another round of its fire mission: `missions`), "untracked"
    /// (no round of its mission): where the recall is lost ("mlrs launch untracked").
    #[serde(default)]
    pub by_source: BTreeMap<String, (usize, usize)>,
    /// Median location error of matched events, m.
    #[serde(default)]
    pub median_error_m: f64,
    /// median_error over the median Cramér-Rao bound of the matched sources.
    #[serde(default)]
    pub error_over_crb: f64,
    /// The same over isolated sources (see `Score::isolated_error_over_crb`).
    #[serde(default)]
    pub isolated_error_over_crb: f64,
    /// Matched isolated sources with a bound.
    #[serde(default)]
    pub isolated: usize,
    /// Share of matched events with an ellipse whose ellipse holds their source (issue 4 asks
    /// 0.92-0.97 of the events' 95 % ellipses).
    #[serde(default)]
    pub ellipse_coverage: f64,
    /// Matched events with an ellipse.
    #[serde(default)]
    pub with_ellipse: usize,
}

/// Score events against every round's launch and impact (see `EventScore`).
pub fn score_events(truth: &Truth, events: &[Finding]) -> EventScore {
    let events: Vec<Finding> = events
        .iter()
        .filter(|e| e.kind == "firing" || e.kind == "impact")
        .cloned()
        .collect();
    let mut targets: Vec<Target> = Vec::new();
    let mut detectable: Vec<bool> = Vec::new();
    let mut source_kind: Vec<String> = Vec::new();
    let mission = missions(&truth.shots);
    // Per mission, whether a radar reported any launch, any impact.
    let mut seen = vec![(false, false); mission.iter().max().map_or(0, |m| m + 1)];
    for (shot, &m) in truth.shots.iter().zip(&mission) {
        seen[m].0 |= shot.radar_launch > 0;
        seen[m].1 |= shot.radar_impact > 0;
    }
    for (shot, &m) in truth.shots.iter().zip(&mission) {
        let class = serde_json::to_value(shot.weapon_class)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let tracked = |radars: usize, mission_seen: bool| match (radars > 0, mission_seen) {
            (true, _) => "tracked",
            (false, true) => "mission tracked",
            (false, false) => "untracked",
        };
        let ends = [
            (
                "firing",
                LatLon::new(shot.lat, shot.lon),
                shot.time,
                shot.launch_detectable,
                format!("{class} launch {}", tracked(shot.radar_launch, seen[m].0)),
                shot.crb_m,
            ),
            (
                "impact",
                LatLon::new(shot.impact.lat, shot.impact.lon),
                shot.impact.time,
                shot.impact_detectable,
                format!("{class} impact {}", tracked(shot.radar_impact, seen[m].1)),
                shot.impact_crb_m,
            ),
        ];
        for (kind, point, time, can, what, crb_m) in ends {
            source_kind.push(what);
            // Each source is its own target: a round's launch and impact are two events.
            targets.push(Target {
                kind,
                violation: targets.len(),
                point,
                time,
                crb_m,
            });
            detectable.push(can);
        }
    }
    let matches = assign(&events, &targets);
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let found_detectable = matches.iter().filter(|m| detectable[m.1]).count();
    let mut by_source: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (t, what) in source_kind.iter().enumerate() {
        if detectable[t] {
            by_source.entry(what.clone()).or_default().0 += 1;
        }
    }
    for m in &matches {
        if detectable[m.1] {
            by_source.entry(source_kind[m.1].clone()).or_default().1 += 1;
        }
    }
    let alone = isolated(&targets);
    let (mut errors, mut crbs) = (Vec::new(), Vec::new());
    let (mut alone_errors, mut alone_crbs) = (Vec::new(), Vec::new());
    let (mut with_ellipse, mut inside) = (0usize, 0usize);
    for &(fi, ti) in &matches {
        let error = distance_m(events[fi].point, targets[ti].point);
        errors.push(error);
        if let Some(e) = events[fi].ellipse95 {
            with_ellipse += 1;
            if e.contains(events[fi].point, targets[ti].point) {
                inside += 1;
            }
        }
        if let Some(c) = targets[ti].crb_m {
            crbs.push(c);
            if alone[ti] {
                alone_errors.push(error);
                alone_crbs.push(c);
            }
        }
    }
    let median_error_m = quantile(&mut errors, 0.5);
    let n_detectable = detectable.iter().filter(|d| **d).count();
    let precision = ratio(matches.len(), events.len());
    let recall = ratio(found_detectable, n_detectable);
    EventScore {
        events: events.len(),
        matched: matches.len(),
        precision,
        sources: targets.len(),
        detectable: n_detectable,
        found_detectable,
        recall_detectable: recall,
        f1: if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        },
        by_source,
        median_error_m,
        error_over_crb: over_bound(median_error_m, &mut crbs),
        isolated_error_over_crb: over_bound(quantile(&mut alone_errors, 0.5), &mut alone_crbs),
        isolated: alone_errors.len(),
        ellipse_coverage: ratio(inside, with_ellipse),
        with_ellipse,
    }
}

/// A median error over the median of `crbs`; 0 without bounds.
fn over_bound(median_error_m: f64, crbs: &mut [f64]) -> f64 {
    let crb = quantile(crbs, 0.5);
    if crb > 0.0 { median_error_m / crb } else { 0.0 }
}

/// How close another round of its battery must be for an untracked round to be one of a
/// ripple or volley, seconds: its picks then come among that round's at every station.
const RIPPLE_S: i64 = 2;

/// For each truth violation that is a firing of a known round: what radars saw of it (see
/// `Score::by_radar`). `None` for other violations.
fn firing_kinds(truth: &Truth) -> Vec<Option<&'static str>> {
    let shots: BTreeMap<&str, &Shot> = truth.shots.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut times: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for s in &truth.shots {
        times.entry(s.battery.as_str()).or_default().push(s.time.0);
    }
    for t in times.values_mut() {
        t.sort_unstable();
    }
    truth
        .violations
        .iter()
        .map(|v| {
            let shot = shots.get(v.id.as_deref()?)?;
            if v.kind != "firing" {
                return None;
            }
            if shot.radar_launch > 0 || shot.radar_impact > 0 {
                return Some("tracked");
            }
            let t = times.get(shot.battery.as_str())?;
            let w = RIPPLE_S * 1_000_000_000;
            let near = t.partition_point(|&x| x <= shot.time.0 + w)
                - t.partition_point(|&x| x < shot.time.0 - w);
            Some(if near > 1 {
                "untracked in a ripple or volley"
            } else {
                "untracked alone"
            })
        })
        .collect()
}

/// Longest pause within one fire mission of a battery, seconds.
const MISSION_GAP_S: i64 = 60;

/// The fire mission of each shot, numbered from 0: a battery's rounds, each within
/// `MISSION_GAP_S` of the one before it.
fn missions(shots: &[Shot]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..shots.len()).collect();
    order.sort_by(|&a, &b| {
        (&shots[a].battery, shots[a].time.0).cmp(&(&shots[b].battery, shots[b].time.0))
    });
    let mut mission = vec![0; shots.len()];
    let mut next = 0;
    let mut last: Option<usize> = None;
    for i in order {
        let same = last.is_some_and(|l| {
            shots[l].battery == shots[i].battery
                && shots[i].time.0 - shots[l].time.0 <= MISSION_GAP_S * 1_000_000_000
        });
        if !same {
            next += 1;
        }
        mission[i] = next - 1;
        last = Some(i);
    }
    mission
}

/// Score findings against truth.
pub fn score(truth: &Truth, findings: &[Finding]) -> Score {
    let mut targets: Vec<Target> = Vec::new();
    for (i, v) in truth.violations.iter().enumerate() {
        let p = LatLon::new(v.lat, v.lon);
        match v.kind.as_str() {
            "firing" => {
                targets.push(Target {
                    kind: "firing",
                    violation: i,
                    point: p,
                    time: v.time,
                    crb_m: v.crb_m,
                });
                if let Some(im) = &v.impact {
                    targets.push(Target {
                        kind: "impact",
                        violation: i,
                        point: LatLon::new(im.lat, im.lon),
                        time: im.time,
                        crb_m: v.impact_crb_m,
                    });
                }
            }
            kind @ ("weapon_in_withdrawal_zone"
            | "buffer_zone_presence"
            | "exclusion_zone_presence") => {
                let kind = SIGHTING_TYPES
                    .iter()
                    .find(|k| **k == kind)
                    .copied()
                    .unwrap_or("");
                targets.push(Target {
                    kind,
                    violation: i,
                    point: p,
                    time: v.time,
                    crb_m: None,
                });
            }
            _ => {}
        }
    }
    let matches = assign(findings, &targets);

    let mut s = Score {
        findings: findings.len(),
        truth: truth.violations.len(),
        ..Score::default()
    };
    for f in findings {
        s.by_type.entry(f.kind.clone()).or_default().0 += 1;
    }
    let mut found = vec![false; truth.violations.len()];
    let (mut errors, mut crbs) = (Vec::new(), Vec::new());
    let alone = isolated(&targets);
    let (mut alone_errors, mut alone_crbs) = (Vec::new(), Vec::new());
    let (mut right_party, mut inside) = (0usize, 0usize);
    for &(fi, ti) in &matches {
        let (f, t) = (&findings[fi], &targets[ti]);
        s.matched_findings += 1;
        s.by_type.entry(f.kind.clone()).or_default().1 += 1;
        found[t.violation] = true;
        if t.kind == "firing" || t.kind == "impact" {
            errors.push(distance_m(f.point, t.point));
            if let Some(c) = t.crb_m {
                crbs.push(c);
                if alone[ti] {
                    alone_errors.push(distance_m(f.point, t.point));
                    alone_crbs.push(c);
                }
            }
        }
        if t.kind == "firing" && f.party.is_some() {
            s.attributed += 1;
            if f.party.as_deref() == Some(truth.violations[t.violation].party.as_str()) {
                right_party += 1;
            }
        }
        if let Some(e) = f.ellipse95 {
            s.with_ellipse += 1;
            if e.contains(f.point, t.point) {
                inside += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    s.found = found.iter().filter(|x| **x).count();
    s.detectable = truth.violations.iter().filter(|v| v.detectable).count();
    s.found_detectable = truth
        .violations
        .iter()
        .zip(&found)
        .filter(|(v, f)| v.detectable && **f)
        .count();
    let kinds = firing_kinds(truth);
    for (v, kind) in truth.violations.iter().zip(&kinds) {
        if let (true, Some(kind)) = (v.detectable, kind) {
            *s.by_radar.entry((*kind).to_owned()).or_default() += 1;
        }
    }
    let shots: BTreeMap<&str, &Shot> = truth.shots.iter().map(|s| (s.id.as_str(), s)).collect();
    for (v, _) in truth
        .violations
        .iter()
        .zip(&found)
        .filter(|(v, f)| v.detectable && !**f)
    {
        let seen = |n: usize| if n > 0 { "tracked" } else { "untracked" };
        let key = match v.id.as_deref().and_then(|id| shots.get(id)) {
            Some(shot) if v.kind == "firing" => format!(
                "{}: launch {}, impact {}",
                serde_json::to_value(shot.weapon_class)
                    .ok()
                    .and_then(|c| c.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                seen(shot.radar_launch),
                seen(shot.radar_impact)
            ),
            _ => v.kind.clone(),
        };
        *s.missed_by.entry(key).or_default() += 1;
    }
    s.precision = ratio(s.matched_findings, s.findings);
    s.recall = ratio(s.found, s.truth);
    s.recall_detectable = ratio(s.found_detectable, s.detectable);
    s.attribution_accuracy = ratio(right_party, s.attributed);
    s.ellipse_coverage = ratio(inside, s.with_ellipse);
    s.median_error_m = quantile(&mut errors, 0.5);
    s.p95_error_m = quantile(&mut errors, 0.95);
    s.median_crb_m = quantile(&mut crbs, 0.5);
    s.error_over_crb = over_bound(s.median_error_m, &mut crbs);
    s.isolated = alone_errors.len();
    s.isolated_error_over_crb = over_bound(quantile(&mut alone_errors, 0.5), &mut alone_crbs);
    s
}

/// How far from any other round's launch or impact an end must be to count as isolated,
/// metres and seconds.
const ISOLATED_M: f64 = 2000.0;
/// See `ISOLATED_M`.
const ISOLATED_S: i64 = 10;

/// For each target: whether it is a round's end (launch or impact) with no other round's end
/// within `ISOLATED_M` and `ISOLATED_S`.
fn isolated(targets: &[Target]) -> Vec<bool> {
    let fire = |t: &Target| t.kind == "firing" || t.kind == "impact";
    let mut order: Vec<usize> = (0..targets.len()).filter(|&i| fire(&targets[i])).collect();
    order.sort_by_key(|&i| targets[i].time.0);
    let w = ISOLATED_S * 1_000_000_000;
    let mut out = vec![false; targets.len()];
    for (k, &i) in order.iter().enumerate() {
        let t = &targets[i];
        let lo = order.partition_point(|&j| targets[j].time.0 < t.time.0 - w);
        out[i] = order[lo..]
            .iter()
            .take_while(|&&j| targets[j].time.0 <= t.time.0 + w)
            .enumerate()
            .all(|(m, &j)| {
                lo + m == k
                    || targets[j].violation == t.violation && targets[j].kind != t.kind
                    || distance_m(targets[j].point, t.point) > ISOLATED_M
            });
    }
    out
}

/// The q-quantile (nearest rank) of `v`; 0 for an empty list.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[k]
}

fn utc_day(t: UtcNanos) -> i64 {
    t.0.div_euclid(86_400_000_000_000)
}

/// Candidate pairs, grouped into connected components, each solved by Kuhn-Munkres.
fn assign(findings: &[Finding], targets: &[Target]) -> Vec<(usize, usize)> {
    // Candidate edges by type and window. Targets sorted by time make the window a range.
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&i| targets[i].time);
    let times: Vec<UtcNanos> = order.iter().map(|&i| targets[i].time).collect();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    for (fi, f) in findings.iter().enumerate() {
        let fire = f.kind == "firing" || f.kind == "impact";
        let (lo, hi, radius) = if fire {
            let w = (FIRE_WINDOW_S * 1e9) as i64;
            (
                UtcNanos(f.time.0 - w),
                UtcNanos(f.time.0 + w),
                FIRE_RADIUS_M,
            )
        } else {
            let d = utc_day(f.time) * 86_400_000_000_000;
            (
                UtcNanos(d),
                UtcNanos(d + 86_400_000_000_000 - 1),
                SIGHTING_RADIUS_M,
            )
        };
        let start = times.partition_point(|t| *t < lo);
        for &ti in order[start..]
            .iter()
            .take_while(|&&ti| targets[ti].time <= hi)
        {
            let t = &targets[ti];
            if t.kind != f.kind || (!fire && utc_day(t.time) != utc_day(f.time)) {
                continue;
            }
            let d = distance_m(f.point, t.point);
            if d <= radius {
                edges.push((fi, ti, d));
            }
        }
    }
    // One finding per violation: a round's launch and its impact are two targets of one
    // violation, and a firing finding and a separate impact finding of the same round are one
    // report and a duplicate. So candidates are collapsed to (finding, violation), each keeping
    // its nearest target, and the assignment is made over violations.
    let mut nearest: BTreeMap<(usize, usize), (usize, f64)> = BTreeMap::new();
    for &(fi, ti, d) in &edges {
        let e = nearest
            .entry((fi, targets[ti].violation))
            .or_insert((ti, d));
        if d < e.1 {
            *e = (ti, d);
        }
    }
    let target_of: BTreeMap<(usize, usize), usize> =
        nearest.iter().map(|(&k, &(ti, _))| (k, ti)).collect();
    let edges: Vec<(usize, usize, f64)> = nearest
        .into_iter()
        .map(|((fi, vi), (_, d))| (fi, vi, d))
        .collect();
    let nv = targets.iter().map(|t| t.violation + 1).max().unwrap_or(0);
    // Union-find over findings (0..F) and violations (F..F+V).
    let nf = findings.len();
    let mut parent: Vec<usize> = (0..nf + nv).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(fi, ti, _) in &edges {
        let (a, b) = (find(&mut parent, fi), find(&mut parent, nf + ti));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<(usize, usize, f64)>> = BTreeMap::new();
    for &e in &edges {
        let root = find(&mut parent, e.0);
        groups.entry(root).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, es) in groups {
        let mut fs: Vec<usize> = es.iter().map(|e| e.0).collect();
        let mut ts: Vec<usize> = es.iter().map(|e| e.1).collect();
        fs.sort_unstable();
        fs.dedup();
        ts.sort_unstable();
        ts.dedup();
        if fs.len() == 1 || ts.len() == 1 {
            // One side is a single node: take its nearest candidate.
            if let Some(best) = es.iter().min_by(|a, b| a.2.total_cmp(&b.2)) {
                out.push((best.0, best.1));
            }
            continue;
        }
        // Weight: a match is worth far more than any distance, so the count comes first.
        let weight = |d: f64| 1_000_000_000i64 - (d * 1000.0) as i64;
        let transpose = fs.len() > ts.len();
        let (rows, cols) = if transpose { (&ts, &fs) } else { (&fs, &ts) };
        let mut m = Matrix::new(rows.len(), cols.len(), 0i64);
        for &(fi, ti, d) in &es {
            let (r, c) = if transpose { (ti, fi) } else { (fi, ti) };
            let (ri, ci) = (
                rows.binary_search(&r).unwrap_or(0),
                cols.binary_search(&c).unwrap_or(0),
            );
            m[(ri, ci)] = weight(d);
        }
        let (_, assignment) = kuhn_munkres(&m);
        for (ri, &ci) in assignment.iter().enumerate() {
            if m[(ri, ci)] > 0 {
                let (r, c) = (rows[ri], cols[ci]);
                out.push(if transpose { (c, r) } else { (r, c) });
            }
        }
    }
    let mut out: Vec<(usize, usize)> = out
        .into_iter()
        .filter_map(|(fi, vi)| target_of.get(&(fi, vi)).map(|&ti| (fi, ti)))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_to_score_are_read_or_refused_with_the_reason() {
        let read = |text: &str| read_findings(text.as_bytes()).map_err(|e| e.to_string());
        assert!(read("").unwrap_err().starts_with("findings: EOF"));
        assert!(
            read(r#"{"type": "FeatureCollection"}"#)
                .unwrap_err()
                .contains("missing field `features`")
        );
        let feature = |geometry: &str, props: &str| {
            format!(r#"{{"features": [{{"geometry": {geometry}, "properties": {{{props}}}}}]}}"#)
        };
        let ok = r#""type": "firing", "party": "A", "time": "2026-01-12T10:00:00.5Z""#;
        assert_eq!(
            read(&feature("null", ok)).unwrap_err(),
            "findings: feature 0 has no Point geometry"
        );
        assert_eq!(
            read(&feature(r#"{"coordinates": [37.5]}"#, ok)).unwrap_err(),
            "findings: feature 0 has no Point geometry"
        );
        let point = r#"{"type": "Point", "coordinates": [37.5, 48.25]}"#;
        assert!(
            read(&feature(point, r#""type": "firing""#))
                .unwrap_err()
                .contains("missing field `time`")
        );
        assert!(read(&feature(point, r#""type": "firing", "time": "yesterday""#)).is_err());
        let f = read(&feature(point, ok)).unwrap();
        assert_eq!(f.len(), 1);
        // GeoJSON puts longitude first.
        assert_eq!((f[0].point.lat_deg, f[0].point.lon_deg), (48.25, 37.5));
        assert_eq!(
            (f[0].kind.as_str(), f[0].party.as_deref()),
            ("firing", Some("A"))
        );
        assert_eq!(f[0].time.to_string(), "2026-01-12T10:00:00.5Z");
        assert!(f[0].ellipse95.is_none());
    }

    /// A round of `battery` launched from `launch` at `t` ns, landing at `impact` 20 s later,
    /// both ends detectable, no radar.
    fn test_shot(
        id: &str,
        battery: &str,
        class: truce_model::WeaponClass,
        launch: LatLon,
        t: i64,
        impact: LatLon,
    ) -> Shot {
        Shot {
            id: id.into(),
            battery: battery.into(),
            party: "A".into(),
            weapon_class: class,
            time: UtcNanos(t),
            lat: launch.lat_deg,
            lon: launch.lon_deg,
            impact: crate::truth::TruthImpact {
                lat: impact.lat_deg,
                lon: impact.lon_deg,
                time: UtcNanos(t + 20_000_000_000),
            },
            in_effect: true,
            blast_picks: 8,
            detonation_picks: 8,
            radar_launch: 0,
            radar_impact: 0,
            launch_detectable: true,
            impact_detectable: true,
            crb_m: None,
            impact_crb_m: None,
        }
    }

    use truce_geo::direct;

    /// Two rounds, four sources: an event at a launch, one at an impact, a firing event
    /// in the right place but a minute late and one far from anything.
    #[test]
    fn events_are_matched_to_sources_one_to_one() {
        let shot = |id: &str, p: LatLon, t: i64, imp: LatLon| Shot {
            impact_detectable: id == "R1",
            crb_m: (id == "R1").then_some(50.0),
            ..test_shot(id, "b", truce_model::WeaponClass::Mortar, p, t, imp)
        };
        let a = LatLon::new(48.0, 37.0);
        let (ia, b, ib) = (
            direct(a, 90.0, 3000.0),
            direct(a, 0.0, 5000.0),
            direct(a, 0.0, 8000.0),
        );
        let truth = Truth {
            scenario: String::new(),
            violations: Vec::new(),
            shots: vec![shot("R1", a, 0, ia), shot("R2", b, 60_000_000_000, ib)],
            objects: Vec::new(),
            fires: Vec::new(),
            stats: Default::default(),
        };
        let ev = |kind: &str, p: LatLon, t: i64| Finding {
            kind: kind.into(),
            party: None,
            time: UtcNanos(t),
            point: p,
            ellipse95: None,
        };
        let events = vec![
            ev("firing", direct(a, 45.0, 200.0), 1_000_000_000),
            ev("impact", direct(ia, 0.0, 100.0), 20_500_000_000),
            ev("firing", b, 0),
            ev("firing", direct(a, 180.0, 30_000.0), 0),
        ];
        let s = score_events(&truth, &events);
        assert_eq!((s.events, s.matched, s.sources), (4, 2, 4));
        // R2's impact cannot be located: three detectable sources, two found.
        assert_eq!((s.detectable, s.found_detectable), (3, 2));
        assert!((s.precision - 0.5).abs() < 1e-12);
        let r = 2.0 / 3.0;
        assert!((s.f1 - 2.0 * 0.5 * r / (0.5 + r)).abs() < 1e-12);
        // By kind of source: R1's launch and impact found, R2's launch not (none tracked).
        assert_eq!(s.by_source["mortar launch untracked"], (2, 1));
        assert_eq!(s.by_source["mortar impact untracked"], (1, 1));
        // Two events at one source: one matches, the other is one too many.
        let twice = vec![events[0].clone(), events[0].clone()];
        assert_eq!(score_events(&truth, &twice).matched, 1);
        // Errors 200 m (R1's launch, bound 50 m) and 100 m (its impact, no bound): the median
        // (nearest rank) 100 m over the median bound 50 m; R1's launch alone, 200 / 50, and
        // isolated (R2 is a minute and 5 km away).
        assert!(
            (s.median_error_m - 100.0).abs() < 1.0,
            "{}",
            s.median_error_m
        );
        assert!(
            (s.error_over_crb - 2.0).abs() < 0.02,
            "{}",
            s.error_over_crb
        );
        assert_eq!(s.isolated, 1);
        assert!((s.isolated_error_over_crb - 4.0).abs() < 0.05);
        // No ellipses, no coverage; then the launch event's ellipse (250 m round) holds R1's
        // launch 200 m off, the impact event's (50 m) does not hold its impact 100 m off, and
        // the unmatched events' ellipses do not count.
        assert_eq!((s.with_ellipse, s.ellipse_coverage), (0, 0.0));
        let round = |r: f64| {
            Some(Ellipse95 {
                semi_major_m: r,
                semi_minor_m: r,
                azimuth_deg: 0.0,
            })
        };
        let mut with = events.clone();
        with[0].ellipse95 = round(250.0);
        with[1].ellipse95 = round(50.0);
        with[3].ellipse95 = round(50_000.0);
        let s = score_events(&truth, &with);
        assert_eq!(s.with_ellipse, 2);
        assert!((s.ellipse_coverage - 0.5).abs() < 1e-12);
    }

    /// A battery's rounds within a minute of each other are one mission; another battery's,
    /// or the same battery's after a longer pause, are another. An untracked end is "mission
    /// tracked" only when a radar saw that end of a round of its own mission.
    #[test]
    fn untracked_rounds_are_told_apart_by_their_mission() {
        let shot = |battery: &str, t_s: i64, radar_launch: usize| Shot {
            radar_launch,
            impact_detectable: false,
            ..test_shot(
                &format!("{battery}{t_s}"),
                battery,
                truce_model::WeaponClass::Mlrs,
                LatLon::new(48.0, 37.0 + t_s as f64 * 1e-3),
                t_s * 1_000_000_000,
                LatLon::new(48.1, 37.0),
            )
        };
        // Battery a: rounds at 0, 50 and 100 s (one mission, chained), then 200 s (another);
        // battery b fires at 10 s. Only a's round at 0 s was tracked.
        let shots = vec![
            shot("a", 100, 0),
            shot("b", 10, 0),
            shot("a", 0, 1),
            shot("a", 200, 0),
            shot("a", 50, 0),
        ];
        let m = missions(&shots);
        assert_eq!(m[0], m[2]);
        assert_eq!(m[0], m[4]);
        assert_ne!(m[0], m[1]);
        assert_ne!(m[0], m[3]);
        assert_ne!(m[1], m[3]);
        let truth = Truth {
            scenario: String::new(),
            violations: Vec::new(),
            shots,
            objects: Vec::new(),
            fires: Vec::new(),
            stats: Default::default(),
        };
        let s = score_events(&truth, &[]);
        assert_eq!(s.by_source["mlrs launch tracked"], (1, 0));
        assert_eq!(s.by_source["mlrs launch mission tracked"], (2, 0));
        assert_eq!(s.by_source["mlrs launch untracked"], (2, 0));
        assert!(!s.by_source.keys().any(|k| k.contains("impact")));
    }

    /// A round a radar saw at either end is tracked; an untracked one is of a ripple or volley
    /// when another round of its own battery is within 2 s, whatever other batteries do.
    #[test]
    fn firings_are_told_apart_by_what_radars_saw() {
        let shot = |id: &str, battery: &str, t_ms: i64, radar_impact: usize| Shot {
            radar_impact,
            ..test_shot(
                id,
                battery,
                truce_model::WeaponClass::ArtilleryGe100,
                LatLon::new(48.0, 37.0),
                t_ms * 1_000_000,
                LatLon::new(48.1, 37.0),
            )
        };
        let violation = |kind: &str, id: Option<&str>| crate::truth::TruthViolation {
            kind: kind.into(),
            party: "A".into(),
            time: UtcNanos(0),
            lat: 48.0,
            lon: 37.0,
            weapon_class: truce_model::WeaponClass::ArtilleryGe100,
            impact: None,
            detectable: true,
            crb_m: None,
            impact_crb_m: None,
            id: id.map(str::to_owned),
        };
        let shots = vec![
            shot("T", "a", 0, 1),
            // The next round of battery a, 1.5 s after the tracked one: a volley.
            shot("V", "a", 1_500, 0),
            // Battery b alone, though battery a fires 1 s away.
            shot("L", "b", 2_500, 0),
            // Battery b again, 2.5 s later: alone too.
            shot("M", "b", 5_000, 0),
        ];
        let truth = Truth {
            scenario: String::new(),
            violations: vec![
                violation("firing", Some("T")),
                violation("firing", Some("V")),
                violation("firing", Some("L")),
                violation("firing", Some("M")),
                violation("buffer_zone_presence", Some("T")),
                violation("firing", None),
            ],
            shots,
            objects: Vec::new(),
            fires: Vec::new(),
            stats: Default::default(),
        };
        assert_eq!(
            firing_kinds(&truth),
            vec![
                Some("tracked"),
                Some("untracked in a ripple or volley"),
                Some("untracked alone"),
                Some("untracked alone"),
                None,
                None,
            ]
        );
        let s = score(&truth, &[]);
        assert_eq!(s.by_radar["untracked alone"], 2);
        assert_eq!(s.by_radar.values().sum::<usize>(), 4);
        // With nothing found, every detectable violation is missed, told by class and ends.
        let missed = |s: &Score| -> Vec<(String, usize)> {
            s.missed_by.iter().map(|(k, n)| (k.clone(), *n)).collect()
        };
        assert_eq!(
            missed(&s),
            vec![
                (
                    "artillery_ge100: launch untracked, impact tracked".to_string(),
                    1
                ),
                (
                    "artillery_ge100: launch untracked, impact untracked".to_string(),
                    3
                ),
                ("buffer_zone_presence".to_string(), 1),
                ("firing".to_string(), 1),
            ]
        );
        // A finding where and when they all are: one of them is found, the rest still missed.
        let found = Finding {
            kind: "firing".into(),
            point: LatLon::new(48.0, 37.0),
            time: UtcNanos(0),
            party: Some("A".into()),
            ellipse95: None,
        };
        let s = score(&truth, &[found]);
        assert_eq!(s.missed_by.values().sum::<usize>(), 5, "{:?}", s.missed_by);
    }

    /// An end is isolated when no other round's end is within 2 km and 10 s; a round's own
    /// other end does not count, and sightings are never ends.
    #[test]
    fn isolated_ends_are_those_far_from_other_rounds() {
        let a = LatLon::new(48.0, 37.0);
        let target = |kind: &'static str, violation: usize, point: LatLon, t_s: i64| Target {
            kind,
            violation,
            point,
            time: UtcNanos(t_s * 1_000_000_000),
            crb_m: Some(10.0),
        };
        let targets = vec![
            // Two rounds 1 km apart, 3 s apart: neither launch is isolated.
            target("firing", 0, a, 0),
            target("firing", 1, direct(a, 90.0, 1000.0), 3),
            // Round 0's impact 1.5 km from its own launch, 8 s later: isolated from round 1's
            // launch (2.5 km away), and its own launch does not count.
            target("impact", 0, direct(a, 270.0, 1500.0), 8),
            // A round 5 km away: isolated; then one 20 s after round 1 at its place: isolated.
            target("firing", 2, direct(a, 0.0, 5000.0), 1),
            target("firing", 3, direct(a, 90.0, 1000.0), 23),
            // A sighting at round 2's place: not an end, and no end's neighbour.
            target("buffer_zone_presence", 4, direct(a, 0.0, 5000.0), 1),
        ];
        assert_eq!(
            isolated(&targets),
            vec![false, false, true, true, true, false]
        );
    }

    #[test]
    fn ellipse_containment_respects_orientation() {
        let c = LatLon::new(48.0, 37.0);
        let e = Ellipse95 {
            semi_major_m: 100.0,
            semi_minor_m: 10.0,
            azimuth_deg: 90.0,
        };
        assert!(e.contains(c, direct(c, 90.0, 90.0)));
        assert!(e.contains(c, direct(c, 270.0, 90.0)));
        assert!(!e.contains(c, direct(c, 0.0, 20.0)));
        assert!(e.contains(c, direct(c, 0.0, 9.0)));
    }
}
