//! The associator: picks in time order become events, without knowing how many there are.
//!
//! The same code runs streaming (`Stream::push` with a bounded look-back window) and in batch
//! (`Associator::run`: the oldest picks' searches side by side on all cores, each seeing exactly
//! what it would see streaming, kept in order up to the first that finds something). When the
//! oldest pending pick is older than the window, every pick that could share its source has
//! arrived: the picks at nearby
//! stations whose times are compatible with the inter-station distance become candidates, a
//! robust location is tried from a few starting points (near the earliest stations, where the
//! source must be), and the largest consistent set (at least `min_stations` stations, one pick
//! per station and phase, residuals within 3.5 sigma) becomes an event. Its picks leave the
//! pending list; a pick that fits no event is counted as unassociated. Overlapping events (a
//! volley) separate because each event takes only the picks that fit it.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use truce_geo::{LatLon, distance_m};

use crate::locator::{LocatorConfig, Setting, Solution, StationGeometry, locate};
use crate::medium::{
    AirSpeed, Frame, Medium, MetTable, Phase, Pick, Station, Weather, travel_time_with,
};

/// Associator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssocConfig {
    /// Stations farther apart than this never share an event, metres.
    pub max_station_distance_m: f64,
    /// Fewest stations for an event.
    pub min_stations: usize,
    /// Slack added to the inter-station travel time when gathering candidates, seconds.
    pub slack_s: f64,
    /// How far from the earliest station the source may be, metres (seeding radius).
    pub seed_radius_m: f64,
    /// Earliest candidate picks (at distinct stations) paired with the oldest pick for seeding.
    pub seed_picks: usize,
    /// An event whose chi-square per degree of freedom exceeds this is a mixture of sources,
    /// not one: refused.
    pub max_chi2_per_dof: f64,
    /// In dense sequences, how many of the nearest stations offer more than their earliest pick
    /// as seeds, and how many picks each.
    pub dense_stations: usize,
    /// See `dense_stations`.
    pub dense_picks: usize,
    /// Hypotheses fitted in full per seed.
    pub full_fits: usize,
    /// Fewest nats of evidence an event needs against chance: the log-likelihood ratio of its
    /// picks' residuals under "one source" versus "picks arriving at random at each station's
    /// local rate". A pick at a quiet station is strong evidence; a pick at a station hearing a
    /// rocket every quarter second is almost none, whatever its residual.
    pub min_evidence: f64,
    /// Half-width of the window in which a station's local pick rate is counted, seconds.
    pub rate_window_s: f64,
    /// Fewest nats of evidence for a later round from the place of a recent event (a salvo's
    /// next rocket, a repeated volley), counted with the place (and its wind) held fixed and
    /// only the origin time fitted: so far fewer hypotheses compete by chance that less
    /// evidence proves as much. Chance picks at a wrong place score about 0 +- 4 nats this way.
    pub min_repeat_evidence: f64,
    /// Fewest nats for a later round from a salvo's place (one whose first round needed later
    /// rounds to make up its evidence, or one three or more `Hint`s of one kind fix): the
    /// place itself is already proven by the salvo.
    pub min_salvo_round_evidence: f64,
    /// The same in the second pass (`Associator::with_hints`): a round from a salvo's place
    /// among the picks the hints' rounds left, whose rate of chance picks is that of what
    /// was left, not of all that was heard.
    pub min_rest_salvo_round_evidence: f64,
    /// Longest gap between a salvo's rounds, seconds: a round later than this after the
    /// place's last located one is judged as any repeat is (`min_repeat_evidence`); a round on
    /// the time of one of a salvo's hints is always a salvo's round.
    pub salvo_gap_s: f64,
    /// Fewest nats for a round from a `Hint`'s place on its time (one not of a salvo).
    pub min_known_evidence: f64,
    /// What a round from a detonation's place (a radar's impact fix, a recent impact) needs
    /// beyond the threshold of its kind of place, nats: its picks' chance rate is counted over
    /// `rate_window_s` rather than a salvo's burst (`View::detonation_rate_at`), which adds
    /// about that much to a true round's evidence where impacts come thick.
    pub detonation_round_margin: f64,
    /// How long a located source stays a place to look for repeats, seconds after its origin.
    pub repeat_memory_s: f64,
    /// How far short of `min_evidence` a first round may fall and still become an event when
    /// later rounds from its place make up the difference (a salvo or a mission's volleys are
    /// one place with many origin times: their evidence adds up), nats. 0 turns this off.
    pub salvo_reach: f64,
    /// How long after a first round its place's later rounds are looked for, seconds.
    pub salvo_window_s: f64,
    /// What each later round's evidence is discounted before it counts for the first, nats:
    /// the cost of searching its origin time over the window (about ln of window / resolution).
    pub round_cost: f64,
    /// What each station that should have heard an event but heard nothing costs it, nats
    /// (0 turns this off): a station nearer the source than the farthest station that heard
    /// it, alive (it has picks within `rate_window_s`), with no pick at all near its
    /// predicted arrival. Without it an event chooses its stations for free, and chance picks
    /// at six of twenty stations line up somewhere.
    pub silent_station_cost: f64,
    /// Locator settings.
    pub locator: LocatorConfig,
}

impl AssocConfig {
    /// Settings for local earthquakes (P and S in a constant-velocity Earth, free depth): stations
    /// up to 120 km apart, at least 4 stations, model error 2 % of the travel time plus 0.1 s.
    pub fn seismic() -> Self {
        AssocConfig {
            max_station_distance_m: 120_000.0,
            seed_radius_m: 60_000.0,
            // Not yet calibrated on seismic data: no evidence threshold.
            min_evidence: f64::NEG_INFINITY,
            // Earthquakes and explosions seldom repeat from one place within minutes.
            min_repeat_evidence: f64::INFINITY,
            min_salvo_round_evidence: f64::INFINITY,
            min_rest_salvo_round_evidence: f64::INFINITY,
            salvo_gap_s: 0.0,
            min_known_evidence: f64::INFINITY,
            salvo_reach: 0.0,
            // S is often not picked where P is: silence proves little.
            silent_station_cost: 0.0,
            full_fits: 2,
            // As calibrated on Central Italy (the acoustic setting's three is from the day).
            dense_stations: 4,
            locator: LocatorConfig {
                model_share: 0.02,
                model_sigma_s: 0.1,
                ..LocatorConfig::default()
            },
            ..AssocConfig::acoustic()
        }
    }

    /// Settings for long-range infrasound from arrays (time and back azimuth) hundreds of km
    /// away: use with `Medium::Air` at a celerity of about 300 m/s. Stratospheric and
    /// thermospheric ducts give celerities of 0.28-0.32 km/s, so the model error is 6 % of the
    /// travel time plus 10 s; at least 3 arrays.
    pub fn infrasound() -> Self {
        AssocConfig {
            max_station_distance_m: 2_000_000.0,
            min_stations: 3,
            slack_s: 60.0,
            seed_radius_m: 1_500_000.0,
            // A handful of arrays with errors of tens of seconds: every event is weak evidence
            // by this measure, and such streams are sparse; no threshold.
            min_evidence: f64::NEG_INFINITY,
            // Earthquakes and explosions seldom repeat from one place within minutes.
            min_repeat_evidence: f64::INFINITY,
            min_salvo_round_evidence: f64::INFINITY,
            min_rest_salvo_round_evidence: f64::INFINITY,
            salvo_gap_s: 0.0,
            min_known_evidence: f64::INFINITY,
            salvo_reach: 0.0,
            // Whether an array hears a source hundreds of km off depends on the ducts.
            silent_station_cost: 0.0,
            dense_stations: 4,
            locator: LocatorConfig {
                model_share: 0.06,
                model_sigma_s: 10.0,
                model_cap_s: 20_000.0,
                ..LocatorConfig::default()
            },
            ..AssocConfig::acoustic()
        }
    }

    /// Settings for battlefield acoustics: sensors up to 45 km apart, at least 4 stations.
    pub fn acoustic() -> Self {
        AssocConfig {
            max_station_distance_m: 45_000.0,
            min_stations: 4,
            slack_s: 1.0,
            seed_radius_m: 25_000.0,
            seed_picks: 7,
            max_chi2_per_dof: 3.0,
            // Three, not four: the pairs of the fourth station found nothing the others did not
            // (day: precision 0.975 either way, recall 0.862 both; three hours of stress 0.963 /
            // 0.858 against 0.962 / 0.857) and cost 8 % of the time.
            dense_stations: 3,
            dense_picks: 2,
            full_fits: 4,
            min_evidence: 30.0,
            rate_window_s: 60.0,
            silent_station_cost: SILENT_STATION_COST,
            min_repeat_evidence: 17.0,
            min_salvo_round_evidence: 8.0,
            min_rest_salvo_round_evidence: 16.0,
            salvo_gap_s: 4.0,
            min_known_evidence: 15.0,
            // With the rate at detonations' places (`View::detonation_rate_at`): day precision /
            // recall of detectable violations 0.970 / 0.952 at 2.5 nats, 0.971 / 0.951 at 2.75,
            // 0.971 / 0.949 at 3; 0.973 / 0.945 before (docs/decisions, session 19).
            detonation_round_margin: 2.75,
            repeat_memory_s: 120.0,
            salvo_reach: 20.0,
            salvo_window_s: 30.0,
            round_cost: 10.0,
            locator: LocatorConfig::default(),
        }
    }
}

/// A located event and the picks that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Best location.
    pub pos: LatLon,
    /// Depth below the surface, metres (0 in air).
    pub depth_m: f64,
    /// Origin time, seconds since the reference epoch.
    pub origin_s: f64,
    /// The solution (covariance, ellipse, fit).
    pub solution: Solution,
    /// The picks, inliers only.
    pub picks: Vec<Pick>,
    /// Sum of label votes: > 0 blast, < 0 detonation.
    pub label: f64,
    /// The weather used.
    pub weather: Weather,
}

/// What association produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Association {
    /// Events in order of their first pick.
    pub events: Vec<Located>,
    /// Picks that fit no event.
    pub unassociated: Vec<Pick>,
    /// Picks refused on arrival (diagnostics): far out of order, unknown station, bad sigma.
    pub refused: Vec<(Pick, &'static str)>,
}

/// The associator: stations, medium, weather and settings.
#[derive(Debug, Clone)]
pub struct Associator {
    stations: Vec<Station>,
    medium: Medium,
    met: MetTable,
    config: AssocConfig,
    /// Per station, the other stations within `max_station_distance_m`, nearest first.
    neighbours: Vec<Vec<(usize, f64)>>,
    /// Per station, its ECEF coordinates (and its north's, for the locator): every search
    /// puts its neighbours in its own frame, and the geodetic trigonometry is then done once,
    /// not per search.
    geometry: StationGeometry,
    /// Per station, the met stations' distances (`MetTable::distances_km`): every search
    /// looks up the weather at its station.
    met_km: Vec<Vec<(LatLon, i64)>>,
    /// Sources known from elsewhere, in time order (`with_hints`).
    hints: Vec<Hint>,
    /// Per hint, whether it is one of a salvo the hints themselves show (`with_hints`).
    hint_salvo: Vec<bool>,
}

impl Associator {
    /// Build; computes the station distance table.
    pub fn new(stations: Vec<Station>, medium: Medium, met: MetTable, config: AssocConfig) -> Self {
        let neighbours = stations
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut n: Vec<(usize, f64)> = stations
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(j, b)| (j, distance_m(a.pos, b.pos)))
                    .filter(|(_, d)| *d <= config.max_station_distance_m)
                    .collect();
                n.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
                n
            })
            .collect();
        let met_km = stations.iter().map(|s| met.distances_km(s.pos)).collect();
        let geometry = StationGeometry::new(&stations);
        Associator {
            stations,
            medium,
            met,
            config,
            neighbours,
            geometry,
            met_km,
            hints: Vec::new(),
            hint_salvo: Vec::new(),
        }
    }

    /// Sources whose place and time other sensors gave (radar fixes): a pick is first tried
    /// as a round from one of them, as from a recent source's place (`min_repeat_evidence`,
    /// the place held fixed), with its origin time within the hint's. Batch and streaming see
    /// the same hints. Hints with a non-finite place or time are ignored, and so are vague
    /// ones (a place known to worse than `MAX_HINT_SIGMA_M`): the round must be located
    /// within `REPEAT_RADIUS_M` of the place, and the wide tolerances of a vague place find
    /// chance picks (a test with 1 km fixes found no round and one ghost).
    pub fn with_hints(mut self, mut hints: Vec<Hint>) -> Self {
        hints.retain(|h| {
            h.pos.lat_deg.is_finite()
                && h.pos.lon_deg.is_finite()
                && h.time_s.is_finite()
                && h.sigma_s.is_finite()
                && (0.0..=MAX_HINT_SIGMA_M).contains(&h.sigma_m)
        });
        hints.sort_by(|a, b| {
            a.time_s
                .total_cmp(&b.time_s)
                .then(a.pos.lat_deg.total_cmp(&b.pos.lat_deg))
                .then(a.pos.lon_deg.total_cmp(&b.pos.lon_deg))
        });
        // Several hints of one kind from one place within a salvo's window are a salvo that
        // another sensor saw: a place whose rounds need only `min_salvo_round_evidence` (the
        // same hint from two radars, at one time, counts once).
        let window = self.config.salvo_window_s;
        self.hint_salvo = hints
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let lo = hints.partition_point(|o| o.time_s < h.time_s - window);
                let mut times: Vec<f64> = hints[lo..]
                    .iter()
                    .enumerate()
                    .take_while(|(_, o)| o.time_s <= h.time_s + window)
                    .filter(|&(j, o)| {
                        lo + j != i
                            && (o.time_s - h.time_s).abs() > SAME_TIME_S
                            && o.label.signum() == h.label.signum()
                            && near(h.pos, o.pos, HINT_SALVO_SIGMAS * hyp(h.sigma_m, o.sigma_m))
                    })
                    .map(|(_, o)| o.time_s)
                    .collect();
                times.sort_by(f64::total_cmp);
                times.dedup_by(|a, b| (*a - *b).abs() <= SAME_TIME_S);
                times.len() + 1 >= HINT_SALVO_ROUNDS
            })
            .collect();
        self.hints = hints;
        self
    }

    /// The stations.
    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    /// Batch: sort the picks by time and stream them through.
    pub fn run(&self, picks: Vec<Pick>) -> Association {
        self.run_with_progress(picks, &|_, _| {})
    }

    /// [`run`](Self::run), telling `progress` (picks done, picks in all) as it goes. The
    /// progress has no effect on the result.
    pub fn run_with_progress(
        &self,
        picks: Vec<Pick>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Association {
        // Never stopped: always an association.
        self.run_until(picks, progress, &AtomicBool::new(false))
            .unwrap_or_default()
    }

    /// [`run_with_progress`](Self::run_with_progress), given up (`None`) soon after `stop` is
    /// set: for a caller that ran it on a guess and learns the guess was wrong.
    pub fn run_until(
        &self,
        mut picks: Vec<Pick>,
        progress: &(dyn Fn(usize, usize) + Sync),
        stop: &AtomicBool,
    ) -> Option<Association> {
        picks.sort_by(|a, b| {
            a.time_s
                .total_cmp(&b.time_s)
                .then(a.station.cmp(&b.station))
        });
        // On a worker of the thread pool, so that the parallel steps start there and do not
        // hand work across threads and back.
        rayon::scope(|_| {
            let total = picks.len();
            let mut s = self.stream();
            if s.relay.is_none() {
                s.run_batch(picks, progress, stop)?;
                progress(total, total);
                return Some(s.out);
            }
            // Two passes: told as the first half of the way and the second.
            let half = total / 2;
            s.run_batch(picks, &|done, _| progress(done / 2, total), stop)?;
            let rest = s.hand_over(i64::MAX);
            let Relay {
                mut second,
                set_aside,
                ..
            } = s.relay.take()?;
            let n = rest.len().max(1);
            second.run_batch(
                rest,
                &|done, _| progress(half + done * (total - half) / n, total),
                stop,
            )?;
            progress(total, total);
            Some(merged(s.out, second.out, set_aside))
        })
    }

    /// A streaming session.
    pub fn stream(&self) -> Stream<'_> {
        if self.hints.is_empty() {
            return self.pass(Pass::Only);
        }
        let mut first = self.pass(Pass::Hints);
        first.relay = Some(Relay {
            second: Box::new(self.pass(Pass::Rest)),
            left: Vec::new(),
            claimed: vec![Vec::new(); self.stations.len()],
            set_aside: Vec::new(),
            places: Vec::new(),
        });
        first
    }

    fn pass(&self, pass: Pass) -> Stream<'_> {
        Stream {
            pass,
            prior: Vec::new(),
            relay: None,
            assoc: self,
            pending: Pending::default(),
            by_station: vec![Keys::default(); self.stations.len()],
            heard: vec![Keys::default(); self.stations.len()],
            next_id: 0,
            newest: f64::NEG_INFINITY,
            max_sigma_s: 0.0,
            recent: Vec::new(),
            located: Vec::new(),
            out: Association::default(),
            in_events: 0,
        }
    }

    /// The look-back window: the longest time two picks of one event can be apart.
    pub fn window_s(&self) -> f64 {
        self.config.max_station_distance_m / self.medium.slowest_mps() + self.config.slack_s
    }
}

/// A streaming association session: bounded memory (the picks of one window).
#[derive(Debug)]
pub struct Stream<'a> {
    assoc: &'a Associator,
    /// Pending picks in time order, keyed by (time in ns, arrival number).
    pending: Pending,
    /// The same keys per station.
    by_station: Vec<Keys>,
    /// Per station, the keys of every pick let in, whatever became of it, as far back as a
    /// search may still look (`insert`; for `silence`).
    heard: Vec<Keys>,
    next_id: u64,
    newest: f64,
    /// The largest sigma of any pick let in, seconds: how far from a predicted arrival a pick
    /// can be and still be within `k` sigmas of it (`unique`).
    max_sigma_s: f64,
    /// Recently located sources, oldest first: where later rounds are looked for first.
    recent: Vec<Recent>,
    /// Origin time and place of every event located as long as `recent` remembers: a salvo's
    /// rounds share one place in `recent`, but each is a round a later search may find again.
    located: Vec<(f64, LatLon)>,
    out: Association,
    /// Picks in `out.events`.
    in_events: usize,
    /// Which pass this stream is.
    pass: Pass,
    /// In the second pass: the first pass's rounds, as places, in order of origin time.
    prior: Vec<Prior>,
    /// In the first pass: the second, and what is on its way there.
    relay: Option<Relay<'a>>,
}

/// Which pass a stream is. With hints (`Associator::with_hints`) the association runs in two:
/// the first takes only rounds from the hints' places (the rounds another sensor located), the
/// second searches the picks the first left in full (the hints' places included), with the
/// first's rounds as places to look for later rounds. The tracked rounds' picks are then never
/// the seeds or the candidates of a search from scratch, most of such searches' work in a
/// salvo: the day's `truce process` a fifth faster, as many rounds found (docs/decisions,
/// session 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The only pass: no hints.
    Only,
    /// The first of two: rounds from the hints' places only.
    Hints,
    /// The second of two.
    Rest,
}

/// A round the first pass found, as a place for the second (`Stream::prior`).
#[derive(Debug, Clone, Copy)]
struct Prior {
    place: Recent,
    /// The origin time of the first later round the first pass found at the same place
    /// (infinite if none): a search from then on sees that one instead, as `remember` replaces
    /// a place by its latest round.
    next_same: f64,
}

/// The first pass's hand-over to the second (`Pass::Hints`). A pick the first pass left goes on
/// once no later decision of the first pass can bear on it, in time order, so that the second
/// pass is fed the same picks in the same order streaming or in batch; and a round the first
/// pass found is a place for the second before any search there may look for it.
#[derive(Debug)]
struct Relay<'a> {
    second: Box<Stream<'a>>,
    /// Picks the first pass left, not yet handed on.
    left: Vec<Pick>,
    /// Per station, the picks the first pass's rounds took (time, sigma, phase), in time order,
    /// as far back as `beside_claimed` looks.
    claimed: Vec<Vec<(f64, f64, Phase)>>,
    /// Picks left beside a claimed one (`beside_claimed`): not searched again.
    set_aside: Vec<Pick>,
    /// Rounds the first pass found since the last hand-over, as places.
    places: Vec<Recent>,
}

/// A pick the first pass left within this many combined sigmas of one its rounds took at the
/// same station is set aside, not searched again: beside a tracked round's arrival it is that
/// round's sound picked twice, or another round's lost in it, and in the second pass such
/// leftovers line up into rounds 100-300 m off the tracked ones (docs/decisions, session 17).
const SET_ASIDE_SIGMAS: f64 = 2.0;

impl Relay<'_> {
    /// Note the picks a first-pass round took.
    fn claim(&mut self, picks: &[Pick]) {
        for q in picks {
            if let Some(c) = self.claimed.get_mut(q.station) {
                let at = c.partition_point(|x| x.0 <= q.time_s);
                c.insert(at, (q.time_s, q.sigma_s, q.phase));
            }
        }
    }

    /// Whether a round of the first pass took a pick of `p`'s station and phase within
    /// `SET_ASIDE_SIGMAS` combined sigmas of it (and within `reach` seconds, what the
    /// hand-over leaves time for).
    fn beside_claimed(&self, p: &Pick, reach: f64) -> bool {
        let Some(c) = self.claimed.get(p.station) else {
            return false;
        };
        let lo = c.partition_point(|x| x.0 < p.time_s - reach);
        c[lo..]
            .iter()
            .take_while(|x| x.0 <= p.time_s + reach)
            .any(|&(t, sigma, phase)| {
                phase == p.phase && (t - p.time_s).abs() <= SET_ASIDE_SIGMAS * hyp(sigma, p.sigma_s)
            })
    }
}

/// Picks in time order, then by station and log index (the order both passes hand them on in).
fn pick_order(a: &Pick, b: &Pick) -> std::cmp::Ordering {
    a.time_s
        .total_cmp(&b.time_s)
        .then(a.station.cmp(&b.station))
        .then(a.evidence.cmp(&b.evidence))
}

/// The two passes' association as one: events in order of their first pick, the picks no
/// round took (the second pass's and those set aside) in time order.
fn merged(first: Association, second: Association, set_aside: Vec<Pick>) -> Association {
    let mut events = first.events;
    events.extend(second.events);
    events.sort_by(|a, b| {
        match (a.picks.first(), b.picks.first()) {
            (Some(x), Some(y)) => pick_order(x, y),
            _ => a.picks.len().cmp(&b.picks.len()),
        }
        .then(a.origin_s.total_cmp(&b.origin_s))
    });
    let mut unassociated = second.unassociated;
    unassociated.extend(set_aside);
    unassociated.sort_by(pick_order);
    let mut refused = first.refused;
    refused.extend(second.refused);
    Association {
        events,
        unassociated,
        refused,
    }
}

/// Where a search started by a pick looks: its frame (at the pick's station), weather, locator
/// setting and the stations to look up.
struct Around<'s> {
    frame: Frame,
    weather: Weather,
    setting: Setting<'s>,
    air: AirSpeed,
    sta_p: [f64; 3],
    lookups: Vec<(usize, [f64; 3])>,
}

/// The picks of a round from a given place that explains a pick (`View::place_round`): the
/// place in the frame, its wind, the origin time that puts the pick on time, and at each
/// station the clear nearest pick (key `None` for the pick itself).
struct Round<'s> {
    src: [f64; 3],
    wind: AirSpeed,
    t0: f64,
    keys: Vec<Option<Key>>,
    group: Vec<&'s Pick>,
}

/// One station's pending keys in time order. A sorted vector, by hand rather than a `BTreeSet`:
/// a station holds the picks of one look-back window (tens to hundreds), picks arrive nearly in
/// time order (appended at the end), and the searches ask for time ranges millions of times, each
/// two binary searches over contiguous memory here instead of a walk down a tree.
#[derive(Debug, Clone, Default)]
struct Keys(Vec<(i64, u64)>);

impl Keys {
    fn insert(&mut self, k: (i64, u64)) {
        let i = self.0.partition_point(|x| *x < k);
        self.0.insert(i, k);
    }

    fn remove(&mut self, k: &(i64, u64)) {
        if let Ok(i) = self.0.binary_search(k) {
            self.0.remove(i);
        }
    }

    /// The keys in `r`, in order. Up to 16 keys are walked; more are searched, the binary
    /// searches comparing times only (a tuple's comparison branches on its first member; times
    /// are nanoseconds and seldom equal), then stepping over the keys of the bounds' own times
    /// that the arrival numbers put outside.
    fn range(&self, r: std::ops::RangeInclusive<Key>) -> &[Key] {
        let (lo, hi) = (*r.start(), *r.end());
        let v = &self.0;
        // A station holds a few pending keys at a time outside heavy fire: walked, not searched.
        if v.len() <= 16 {
            let a = v.iter().take_while(|x| **x < lo).count();
            let b = a + v[a..].iter().take_while(|x| **x <= hi).count();
            return &v[a..b];
        }
        let mut a = v.partition_point(|x| x.0 < lo.0);
        while a < v.len() && v[a].0 == lo.0 && v[a].1 < lo.1 {
            a += 1;
        }
        // Most ranges asked for hold a few keys: look at the next few before searching.
        let rest = &v[a..];
        let mut b = a + match rest.iter().take(8).position(|x| x.0 > hi.0) {
            Some(n) => n,
            None => rest.partition_point(|x| x.0 <= hi.0),
        };
        while b > a && v[b - 1].0 == hi.0 && v[b - 1].1 > hi.1 {
            b -= 1;
        }
        &v[a..b]
    }
}

/// The pending picks: their keys in order, and the picks by arrival number. The searches look
/// picks up by key tens of millions of times (a tenth of their instructions through a
/// `BTreeMap`); arrival numbers are given in sequence, so a pick's place in a deque is its
/// number less the oldest's.
#[derive(Debug, Default)]
struct Pending {
    order: BTreeSet<Key>,
    picks: VecDeque<Option<Pick>>,
    /// The arrival number of `picks[0]`.
    base: u64,
}

impl Pending {
    fn slot(&self, key: &Key) -> Option<usize> {
        usize::try_from(key.1.checked_sub(self.base)?).ok()
    }

    fn get(&self, key: &Key) -> Option<&Pick> {
        self.picks.get(self.slot(key)?)?.as_ref()
    }

    fn insert(&mut self, key: Key, p: Pick) {
        if self.order.is_empty() {
            self.picks.clear();
            self.base = key.1;
        }
        // Arrival numbers only grow and the base is the oldest held, so every new key has a
        // slot; none is refused here.
        let Some(i) = self.slot(&key) else {
            debug_assert!(false, "arrival number {} below the oldest held", key.1);
            return;
        };
        if i >= self.picks.len() {
            self.picks.resize(i + 1, None);
        }
        self.picks[i] = Some(p);
        self.order.insert(key);
    }

    fn remove(&mut self, key: &Key) -> Option<Pick> {
        let p = self.picks.get_mut(self.slot(key)?)?.take()?;
        self.order.remove(key);
        while let Some(None) = self.picks.front() {
            self.picks.pop_front();
            self.base += 1;
        }
        Some(p)
    }

    fn first_key(&self) -> Option<Key> {
        self.order.first().copied()
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        self.order.iter()
    }

    fn len(&self) -> usize {
        self.order.len()
    }

    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// A pending pick's key: its time in nanoseconds and its arrival number.
type Key = (i64, u64);

/// Searches started together in batch (`Stream::run_batch`): the oldest pending picks.
const BATCH: usize = 32;

/// The weight of each search in `found_share` (`Stream::run_batch`): about the last ten.
const SHARE_WEIGHT: f64 = 0.1;

/// Past every key.
const MAX_KEY: Key = (i64::MAX, u64::MAX);

/// Before every key.
const MIN_KEY: Key = (i64::MIN, 0);

/// What the search started by a pick decided (`View::decide`), for `Stream::apply`.
enum Outcome {
    /// Too few stations could have heard the pick's source: no search was made.
    Unheard,
    /// The pick fits no event.
    Alone,
    /// The picks `keys` (and the pick itself if `with_p`) are taken for `what`.
    Found {
        keys: Vec<Key>,
        with_p: bool,
        what: Found,
    },
}

/// What a search's picks are.
enum Found {
    /// The rest of a source already located: unassociated.
    Rest(Vec<Pick>),
    /// A new event, at a place to look for later rounds.
    Event(Recent, Box<Located>),
}

/// The stream as a search started by the pending pick `key` sees it when run in streaming
/// order: the picks after `key` (the older ones were taken before it, as it was the oldest)
/// up to `hi` (the last that had arrived), less `skip` (picks held by a round being judged), and
/// the recent places not yet forgotten at its pick's time. Searches only read, so several run
/// at once (`Stream::run_batch`).
struct View<'v, 'a> {
    s: &'v Stream<'a>,
    key: Key,
    hi: Key,
    skip: Vec<Key>,
    recent_from: f64,
    /// The time of the search's own pick: the first pass's rounds a search in the second sees
    /// are those before it (`Stream::prior_in`).
    until: f64,
    /// Whether the search spreads its own work over the cores (it runs alone).
    fan_out: bool,
    /// In a batch (`Stream::run_batch`): the index of the first search that found something so
    /// far, and this search's index. A later search's outcome will be thrown away, so it stops
    /// as soon as it sees one (`cancelled`) rather than hold up the batch.
    cancel: Option<(&'v AtomicUsize, usize)>,
}

impl<'a> std::ops::Deref for View<'_, 'a> {
    type Target = Stream<'a>;

    fn deref(&self) -> &Stream<'a> {
        self.s
    }
}

impl<'v> View<'v, '_> {
    /// The keys at `station` in `r` that this search sees, in order.
    fn keys(
        &self,
        station: usize,
        r: std::ops::RangeInclusive<Key>,
    ) -> impl Iterator<Item = &'v Key> + Clone + '_ {
        self.seen(station, r)
            .iter()
            .filter(|k| !self.skip.contains(k))
    }

    /// How many keys `keys` would give.
    fn count(&self, station: usize, r: std::ops::RangeInclusive<Key>) -> usize {
        let seen = self.seen(station, r);
        let skipped = self
            .skip
            .iter()
            .filter(|k| seen.binary_search(k).is_ok())
            .count();
        seen.len() - skipped
    }

    fn seen(&self, station: usize, r: std::ops::RangeInclusive<Key>) -> &'v [Key] {
        let lo = (*r.start()).max((self.key.0, self.key.1.saturating_add(1)));
        let hi = (*r.end()).min(self.hi);
        if lo > hi {
            return &[];
        }
        self.s.by_station[station].range(lo..=hi)
    }

    /// If there is no key at all at `station` in `lo..=hi`, the open range of keys around it
    /// in which this search sees none: between the station's neighbouring keys, unbounded past
    /// the keys it does not see (its own and older, or later than `hi`).
    fn gap(&self, station: usize, lo: Key, hi: Key) -> Option<(Key, Key)> {
        gap_in(&self.s.by_station[station].0, (self.key, self.hi), lo, hi)
    }

    /// Whether `station` had any pick (pending, taken or set aside) in `lo..=hi` seconds that
    /// had arrived when this search ran.
    fn heard_any(&self, station: usize, lo: f64, hi: f64) -> bool {
        let hi = (key_time(hi), u64::MAX).min(self.hi);
        !self.s.heard[station]
            .range((key_time(lo), 0)..=hi)
            .is_empty()
    }

    /// The recent places this search may look at, oldest first, each with whether the first
    /// pass found it: none in the first of two passes (it looks only at the hints' places); in
    /// the second, its own and then the first pass's rounds before the search's pick, each the
    /// latest of its place.
    fn recent(&self) -> impl DoubleEndedIterator<Item = (&'v Recent, bool)> + '_ {
        let s: &'v Stream<'_> = self.s;
        let own: &'v [Recent] = if s.pass == Pass::Hints {
            &[]
        } else {
            &s.recent
        };
        own.iter()
            .filter(|r| r.origin_s >= self.recent_from)
            .map(|r| (r, false))
            .chain(
                s.prior_in(self.recent_from, self.until)
                    .iter()
                    .filter(|p| p.next_same >= self.until)
                    .map(|p| (&p.place, true)),
            )
    }

    /// The events located that this search may look at (origin time, place): in the second
    /// pass, the first pass's too, up to the search's pick (and `SAME_TIME_S` after: a round
    /// at its time is the same source).
    fn located(&self) -> impl Iterator<Item = (f64, LatLon)> + '_ {
        let s: &'v Stream<'_> = self.s;
        s.located
            .iter()
            .copied()
            .filter(|l| l.0 >= self.recent_from)
            .chain(
                s.prior_in(self.recent_from, self.until + SAME_TIME_S)
                    .iter()
                    .map(|p| (p.place.origin_s, p.place.pos)),
            )
    }

    /// The same view without the picks `keys`.
    fn without(&self, keys: &[Key]) -> View<'v, '_> {
        View {
            s: self.s,
            key: self.key,
            hi: self.hi,
            skip: self.skip.iter().chain(keys).copied().collect(),
            recent_from: self.recent_from,
            until: self.until,
            fan_out: self.fan_out,
            cancel: self.cancel,
        }
    }

    /// Whether an earlier search of the batch has found something: this one's outcome will
    /// be thrown away, whatever it is.
    fn cancelled(&self) -> bool {
        self.cancel
            .is_some_and(|(stop, i)| stop.load(Ordering::Relaxed) < i)
    }

    /// `f` of every item, in order: on all cores when this search runs alone (streaming), on
    /// this one when others run beside it (`Stream::run_batch`). The same results either way.
    fn each<T: Sync, R: Send>(&self, items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
        if self.fan_out {
            items.par_iter().map(f).collect()
        } else {
            items.iter().map(f).collect()
        }
    }
}

/// A recently located source.
#[derive(Debug, Clone, Copy)]
struct Recent {
    pos: LatLon,
    depth_m: f64,
    origin_s: f64,
    wind_offset: (f64, f64),
    /// For a source known from elsewhere (a `Hint`): its origin time is known (to its
    /// sigma, seconds), and its place to `spread_s` (the place's error as time of travel).
    /// `None` for a located source, whose later rounds come after it.
    known: Option<Known>,
    /// Whether the place is a salvo's: a round too weak alone, made up by later rounds from
    /// the place (`salvo_support`), a round from a salvo's place, or a `Hint` one of three or
    /// more from one place (`Associator::with_hints`). Its later rounds need only
    /// `min_salvo_round_evidence`.
    salvo: bool,
    /// What sounds from the place are, in pick label votes (see `Located::label`): a later
    /// round from it is of the same kind unless its own picks outvote them.
    label: f64,
}

/// What a `Hint` adds to a place: the round's own time, and how loosely the place is known.
#[derive(Debug, Clone, Copy)]
struct Known {
    sigma_s: f64,
    sigma_m: f64,
    spread_s: f64,
}

impl Known {
    /// The normal equations of a round from the known place (unknowns: the place's shift east
    /// and north, metres, and the origin time) holding only the priors: no shift, and the
    /// source's time `origin_s`, to their sigmas.
    fn prior(&self, origin_s: f64) -> ([[f64; 3]; 3], [f64; 3]) {
        let (wp, wt) = (self.sigma_m.powi(-2), self.sigma_s.powi(-2));
        (
            [[wp, 0.0, 0.0], [0.0, wp, 0.0], [0.0, 0.0, wt]],
            [0.0, 0.0, wt * origin_s],
        )
    }
}

/// Add a pick's row to the normal equations of a round from a known place (`Known::prior`):
/// its reduced time (pick less travel time), sigma, and d(travel time)/d(east, north).
fn add_row(n: &mut [[f64; 3]; 3], b: &mut [f64; 3], rt: f64, sigma: f64, grad: [f64; 2]) {
    let v = [grad[0], grad[1], 1.0];
    let w = 1.0 / (sigma * sigma);
    for i in 0..3 {
        b[i] += w * v[i] * rt;
        for j in 0..3 {
            n[i][j] += w * v[i] * v[j];
        }
    }
}

/// A source whose place and time another sensor gave (a weapon-locating radar's launch or
/// impact point): its picks are looked for first, as a recent source's later rounds are, with
/// the small shift of its place and its origin time fitted within their stated errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hint {
    /// The place.
    pub pos: LatLon,
    /// The time, seconds since the reference epoch.
    pub time_s: f64,
    /// Standard error of the place in each horizontal axis, metres.
    pub sigma_m: f64,
    /// Standard error of the time, seconds.
    pub sigma_s: f64,
    /// What the source is, in votes like a pick's `label` (> 0 a blast, < 0 a detonation, 0
    /// unknown), added to the votes of the picks of a round found from it.
    pub label: f64,
}

/// See `AssocConfig::silent_station_cost`: ln(1 / (1 - 0.9)), a station nearer a source than
/// one that heard it hearing it nine times in ten (the simulator's near stations, 98 %). Chance
/// picks at 0.05 to 1 a second at 22 stations made 26 to 149 ghosts in 600 s without it; with
/// it none in 1,000 s at 0.1, 0.25, 0.5 or 1 a second (`uncorrelated_chance_picks_form_no_events`).
/// 1.6 nats (four in five) left 0 / 0 / 4 / 1; counting only stations nearer than the median
/// one that heard it, 14 to 64. Day: precision 0.980 -> 0.990, recall of detectable violations
/// 0.859 -> 0.856.
const SILENT_STATION_COST: f64 = 2.3;

/// The vaguest place a `Hint` may have, metres (one sigma): half `REPEAT_RADIUS_M`. The
/// simulated radars' fixes are 40-100 m.
const MAX_HINT_SIGMA_M: f64 = 150.0;

/// How many hints of one kind from one place make a salvo (`Associator::with_hints`).
const HINT_SALVO_ROUNDS: usize = 3;

/// How far apart two hints may be and be of one place, in their combined sigmas.
const HINT_SALVO_SIGMAS: f64 = 3.0;

/// Whether `a` and `b` are within `radius` metres (a flat-earth bound first: most pairs asked
/// about are far apart, and the geodesic costs microseconds).
fn near(a: LatLon, b: LatLon, radius: f64) -> bool {
    maybe_within(a, b, radius) && distance_m(a, b) <= radius
}

/// Whether `a` and `b` may be within `radius` metres: `false` only when a flat-earth bound
/// (with a margin) says they are not, without a geodesic.
fn maybe_within(a: LatLon, b: LatLon, radius: f64) -> bool {
    let dn = (a.lat_deg - b.lat_deg).abs() * 110_000.0;
    let de = (a.lon_deg - b.lon_deg).abs() * 110_000.0 * a.lat_deg.to_radians().cos();
    dn.max(de) <= 1.1 * radius + 100.0
}

/// Most recent sources kept (a salvo adds one place, not one per rocket).
const MAX_RECENT: usize = 64;
/// A new source within this distance of a recent one is the same place, metres.
const SAME_PLACE_M: f64 = 50.0;
/// Two events this close in origin time at the same place are one source, seconds (no gun
/// fires twice, and no launcher ripples, faster).
const SAME_TIME_S: f64 = 0.25;
/// A repeat's own fit may move this far from the recent place before it is another source,
/// metres.
const REPEAT_RADIUS_M: f64 = 300.0;
/// An event this close to a recent one (and within `SAME_TIME_S`) is the rest of that source,
/// metres: farther, it is another launcher or gun firing at the same moment (a battery's are
/// 20-300 m apart).
const DUPLICATE_RADIUS_M: f64 = 100.0;

/// A time as a key's nanoseconds: `(t * 1e9).round() as i64`, rounded by hand. `f64::round`
/// is a software routine on the baseline x86-64 target (about 4 % of the association's
/// instructions on a day's picks, which makes hundreds of millions of keys); this is the same
/// integer for every input (tested), NaN and the infinities included.
fn key_time(t: f64) -> i64 {
    let x = t * 1e9;
    let i = x as i64;
    let f = x - i as f64;
    // Without branches: the fraction is as likely above a half as below.
    i.saturating_add(i64::from(f >= 0.5) - i64::from(f <= -0.5))
}

impl Stream<'_> {
    /// Add a pick. Picks should come in time order; one older than the window is refused.
    pub fn push(&mut self, p: Pick) {
        if let Some(why) = self.refusal(&p) {
            self.out.refused.push((p, why));
            return;
        }
        self.insert(p);
        let horizon = key_time(self.newest - self.assoc.window_s());
        while let Some(k) = self.pending.first_key() {
            if k.0 < horizon {
                self.process_oldest();
            } else {
                break;
            }
        }
        if self.relay.is_some() {
            // Every pick older than both the oldest pending and the refusal horizon is
            // decided for good; what the first pass left a window before that goes on.
            let decided = self
                .pending
                .first_key()
                .map_or(horizon, |k| k.0.min(horizon));
            let rest = self.hand_over(decided.saturating_sub(key_time(self.assoc.window_s())));
            if let Some(relay) = &mut self.relay {
                for p in rest {
                    relay.second.push(p);
                }
            }
        }
    }

    /// In the first of two passes: the picks it left with times before `cut` (nanoseconds),
    /// in time order, to go on to the second pass, less those set aside; the rounds found so
    /// far become the second pass's places first. A round is found by the time the first pass
    /// has decided its first pick, which is before its origin time plus a window, and a pick
    /// is taken by then too: so with `cut` a window before what is decided, the second pass's
    /// searches (a window behind its newest pick) see every round and claim they would in batch.
    fn hand_over(&mut self, cut: i64) -> Vec<Pick> {
        let Some(relay) = &mut self.relay else {
            return Vec::new();
        };
        // Nothing new and nothing due (what is left stays sorted between hand-overs): most
        // pushes of a stream.
        if self.out.unassociated.is_empty()
            && relay.places.is_empty()
            && relay.left.first().is_none_or(|p| key_time(p.time_s) >= cut)
        {
            return Vec::new();
        }
        let window = self.assoc.window_s();
        relay.left.append(&mut self.out.unassociated);
        for place in relay.places.drain(..) {
            relay.second.add_prior(place);
        }
        relay.left.sort_by(pick_order);
        let n = relay.left.partition_point(|p| key_time(p.time_s) < cut);
        let mut rest = Vec::with_capacity(n);
        let left: Vec<Pick> = relay.left.drain(..n).collect();
        for p in left {
            if relay.beside_claimed(&p, window) {
                relay.set_aside.push(p);
            } else {
                rest.push(p);
            }
        }
        if cut < i64::MAX {
            // What no later hand-over looks back to: the picks handed on later are after `cut`.
            let forget = cut as f64 * 1e-9 - 2.0 * window;
            for c in &mut relay.claimed {
                let old = c.partition_point(|x| x.0 < forget);
                if old >= 64 {
                    c.drain(..old);
                }
            }
            // And what no later search of the second pass looks back to: each starts at one of
            // its pending picks, of these, or of later ones, and looks back by the repeat memory
            // and a window. (Its pending picks may be far behind `cut` where the first pass
            // left nothing for a while.)
            let start = [
                relay.second.pending.first_key().map(|k| k.0),
                rest.first().map(|p| key_time(p.time_s)),
                Some(cut),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(cut);
            let a = self.assoc;
            relay.second.forget_prior(
                start as f64 * 1e-9 - a.config.repeat_memory_s - window - SAME_TIME_S - 1.0,
            );
        }
        rest
    }

    /// Why `p` cannot be taken, if it cannot.
    fn refusal(&self, p: &Pick) -> Option<&'static str> {
        if p.station >= self.assoc.stations.len() {
            Some("unknown station")
        } else if !(p.sigma_s.is_finite() && p.sigma_s > 0.0 && p.time_s.is_finite()) {
            Some("sigma or time not a positive finite number")
        } else if p.time_s < self.newest - self.assoc.window_s() {
            Some("far out of order (older than the look-back window)")
        } else {
            None
        }
    }

    /// Hold a pick that `refusal` let through.
    fn insert(&mut self, p: Pick) {
        let key = (key_time(p.time_s), self.next_id);
        self.next_id += 1;
        self.newest = self.newest.max(p.time_s);
        self.max_sigma_s = self.max_sigma_s.max(p.sigma_s);
        self.by_station[p.station].insert(key);
        // What no search will look at again goes: searches start at picks within the window
        // of the newest, and look back from them by the seeding reach and the rate window.
        let heard = &mut self.heard[p.station];
        heard.insert(key);
        let a = self.assoc;
        let memory = 2.0 * a.window_s()
            + a.config.seed_radius_m / a.medium.slowest_mps()
            + a.config.rate_window_s;
        let old = heard
            .0
            .partition_point(|k| k.0 < key_time(self.newest - memory));
        if old >= 64 {
            heard.0.drain(..old);
        }
        self.pending.insert(key, p);
    }

    /// Flush everything pending and return the result.
    pub fn finish(mut self) -> Association {
        while !self.pending.is_empty() {
            self.process_oldest();
        }
        let rest = self.hand_over(i64::MAX);
        match self.relay.take() {
            None => self.out,
            Some(relay) => {
                let Relay {
                    mut second,
                    set_aside,
                    ..
                } = relay;
                for p in rest {
                    second.push(p);
                }
                merged(self.out, second.finish(), set_aside)
            }
        }
    }

    /// Picks currently held (for memory checks), in both passes and between them.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
            + self
                .relay
                .as_ref()
                .map_or(0, |r| r.left.len() + r.second.pending_len())
    }

    /// The first pass's rounds with origin times in `lo..hi` (`Pass::Rest`).
    fn prior_in(&self, lo: f64, hi: f64) -> &[Prior] {
        if self.prior.is_empty() {
            return &[];
        }
        let a = self.prior.partition_point(|p| p.place.origin_s < lo);
        let b = self.prior.partition_point(|p| p.place.origin_s < hi);
        &self.prior[a..b.max(a)]
    }

    /// A round of the first pass, as a place (`Pass::Rest`), in order of origin time, hiding
    /// the place's earlier rounds from the searches after it (`Prior::next_same`).
    fn add_prior(&mut self, place: Recent) {
        let same = |a: &Recent, b: &Recent| {
            maybe_within(a.pos, b.pos, SAME_PLACE_M) && distance_m(a.pos, b.pos) < SAME_PLACE_M
        };
        let t = place.origin_s;
        let at = self.prior.partition_point(|p| p.place.origin_s <= t);
        let next_same = self.prior[at..]
            .iter()
            .find(|p| p.place.origin_s > t && same(&p.place, &place))
            .map_or(f64::INFINITY, |p| p.place.origin_s);
        for p in &mut self.prior[..at] {
            if p.place.origin_s < t && p.next_same > t && same(&p.place, &place) {
                p.next_same = t;
            }
        }
        self.prior.insert(at, Prior { place, next_same });
    }

    /// Forget the first pass's rounds before `before` (origin time): no search looks back to
    /// them any more.
    fn forget_prior(&mut self, before: f64) {
        let old = self.prior.partition_point(|p| p.place.origin_s < before);
        if old >= 64 {
            self.prior.drain(..old);
        }
    }

    fn take(&mut self, key: (i64, u64)) -> Option<Pick> {
        let p = self.pending.remove(&key)?;
        self.by_station[p.station].remove(&key);
        Some(p)
    }

    fn process_oldest(&mut self) {
        let Some(key) = self.pending.first_key() else {
            return;
        };
        let outcome = self.view(key, MAX_KEY).decide();
        self.apply(key, outcome);
    }

    /// How the stream looks to a search started by the pending pick `key` when the picks up to
    /// `hi` have arrived: as if every older pick had been taken already.
    fn view(&self, key: Key, hi: Key) -> View<'_, '_> {
        let until = self
            .pending
            .get(&key)
            .map_or(f64::NEG_INFINITY, |p| p.time_s);
        let recent_from = until - self.assoc.config.repeat_memory_s - self.assoc.window_s();
        View {
            s: self,
            key,
            hi,
            skip: Vec::new(),
            recent_from,
            until,
            fan_out: true,
            cancel: None,
        }
    }

    /// Carry out what the search started by the pending pick `key` decided.
    fn apply(&mut self, key: Key, outcome: Outcome) {
        let Some(p) = self.take(key) else { return };
        if !matches!(outcome, Outcome::Unheard) {
            let from = p.time_s - self.assoc.config.repeat_memory_s - self.assoc.window_s();
            self.recent.retain(|r| r.origin_s >= from);
            self.located.retain(|l| l.0 >= from);
        }
        match outcome {
            Outcome::Unheard | Outcome::Alone => self.out.unassociated.push(p),
            Outcome::Found { keys, with_p, what } => {
                for k in keys {
                    self.take(k);
                }
                if !with_p {
                    self.out.unassociated.push(p);
                }
                match what {
                    Found::Rest(picks) => self.out.unassociated.extend(picks),
                    Found::Event(place, event) => {
                        if let Some(relay) = &mut self.relay {
                            relay.claim(&event.picks);
                            relay.places.push(place);
                        }
                        self.located.push((place.origin_s, place.pos));
                        self.remember(place);
                        self.in_events += event.picks.len();
                        self.out.events.push(*event);
                    }
                }
            }
        }
    }

    /// Batch: every pick is pushed in time order and the oldest are searched `ways` at a time
    /// on all cores, each as if the older ones had fitted no event (three searches in four do
    /// not). The outcomes are carried out in order up to the first that found something; the
    /// searches after it saw a stream that has since changed and are run again. Each search
    /// sees exactly the picks it would see streaming (`view`), so the result is `push`'s, byte
    /// for byte, whatever the number of cores.
    /// `None` if `stop` was set before the end (checked before each round of searches).
    fn run_batch(
        &mut self,
        picks: Vec<Pick>,
        progress: &(dyn Fn(usize, usize) + Sync),
        stop: &AtomicBool,
    ) -> Option<()> {
        let ways = rayon::current_num_threads().max(1);
        let total = picks.len();
        let window = self.assoc.window_s();
        let mut accepted = Vec::with_capacity(picks.len());
        for p in picks {
            match self.refusal(&p) {
                Some(why) => self.out.refused.push((p, why)),
                None => accepted.push(p),
            }
        }
        // A pick is searched in streaming order once a pick arrives that puts the horizon past
        // it (the first whose time less the window is later): the picks up to that one are what
        // its search may see.
        let first_id = self.next_id;
        let arrival: Vec<Key> = accepted
            .iter()
            .zip(first_id..)
            .map(|(p, id)| (key_time(p.time_s), id))
            .collect();
        let horizons: Vec<i64> = accepted
            .iter()
            .map(|p| key_time(p.time_s - window))
            .collect();
        let mut accepted = accepted.into_iter();
        let mut inserted = 0;
        // The share of recent searches that found something (a moving average).
        let mut found_share = 0.0;
        let mut told = 0;
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            while self.pending.len() < BATCH
                && let Some(p) = accepted.next()
            {
                self.insert(p);
                inserted += 1;
            }
            let keys: Vec<Key> = self.pending.keys().take(BATCH).copied().collect();
            if keys.is_empty() {
                break;
            }
            let his: Vec<(Key, usize)> = keys
                .iter()
                .map(|k| {
                    let j = horizons.partition_point(|&h| h <= k.0);
                    arrival
                        .get(j)
                        .map_or((MAX_KEY, arrival.len()), |&hi| (hi, j + 1))
                })
                .collect();
            let upto = his.iter().map(|h| h.1).max().unwrap_or(inserted);
            while inserted < upto
                && let Some(p) = accepted.next()
            {
                self.insert(p);
                inserted += 1;
            }
            // Where most searches find something (a sparse stream of clear sources, as in
            // Central Italy), the searches run one at a time with their own work on all cores;
            // where most find nothing (dense fire), side by side. The same outcomes either way.
            let alone = ways == 1 || found_share > 0.5;
            // The workers take the searches in order; once one finds something, none after it
            // is started (those under way are wasted).
            let next = AtomicUsize::new(0);
            let stop = AtomicUsize::new(usize::MAX);
            let this = &*self;
            let work = |_| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= keys.len() || i > stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut view = this.view(keys[i], his[i].0);
                    view.fan_out = alone;
                    view.cancel = Some((&stop, i));
                    let outcome = view.decide();
                    if !matches!(outcome, Outcome::Unheard | Outcome::Alone) {
                        stop.fetch_min(i, Ordering::SeqCst);
                    }
                    mine.push((i, outcome));
                }
                mine
            };
            let mut done: Vec<(usize, Outcome)> = if alone {
                work(0)
            } else {
                (0..ways).into_par_iter().flat_map_iter(work).collect()
            };
            done.sort_by_key(|d| d.0);
            // Every search before the first that found something was made: carry them out in
            // order, up to and including that one.
            let stop = stop.into_inner();
            for (i, outcome) in done {
                if i > stop {
                    break;
                }
                match outcome {
                    Outcome::Unheard => {}
                    Outcome::Alone => found_share *= 1.0 - SHARE_WEIGHT,
                    _ => found_share = found_share * (1.0 - SHARE_WEIGHT) + SHARE_WEIGHT,
                }
                self.apply(keys[i], outcome);
            }
            // Told about every thousandth of the way.
            let done = self.out.refused.len() + self.out.unassociated.len() + self.in_events;
            if done >= told + total / 1000 {
                progress(done, total);
                told = done;
            }
        }
        Some(())
    }
}

impl View<'_, '_> {
    /// The pending pick of `phase` at `station` nearest in time to `t`, within `tol` seconds.
    fn nearest(
        &self,
        station: usize,
        phase: Phase,
        t: f64,
        tol: f64,
    ) -> Option<((i64, u64), &Pick)> {
        let lo = (key_time(t - tol), 0);
        let hi = (key_time(t + tol), u64::MAX);
        let keys = self.keys(station, lo..=hi);
        // The nearest by the key's time (the pick's, in nanoseconds) is the answer when it has
        // the phase, as it has in a medium of one phase; the picks are looked up only then.
        let tk = key_time(t);
        let near = keys.clone().min_by_key(|k| (k.0 - tk).abs())?;
        if let Some(q) = self.pending.get(near)
            && q.phase == phase
        {
            return Some((*near, q));
        }
        keys.filter_map(|k| self.pending.get(k).map(|p| (*k, p)))
            .filter(|(_, p)| p.phase == phase)
            .min_by(|a, b| (a.1.time_s - t).abs().total_cmp(&(b.1.time_s - t).abs()))
    }

    /// The pending pick of `phase` at `station` nearest to `t` within `k` sigmas (its own sigma
    /// and the model sigma `m` combined), if it is clearly the nearest: `None` when there is
    /// none, or when a second pick is within `AMBIGUOUS_SIGMAS` of it. Arrays' back azimuths
    /// (predicted from `sta` to `src`, frame coordinates) count too.
    #[allow(clippy::too_many_arguments)]
    fn unique(
        &self,
        station: usize,
        phase: Phase,
        t: f64,
        k: f64,
        m: f64,
        sta: [f64; 3],
        src: [f64; 3],
    ) -> Option<((i64, u64), &Pick)> {
        let (lo, hi) = reach_keys(t, self.reach(k, m));
        self.unique_in(station, phase, t, k, m, sta, src, lo..=hi)
    }

    /// How far from its predicted arrival `unique` looks for a pick, seconds: no pick is further
    /// than `k` of its combined sigmas at the largest pick sigma let in (a nanosecond more for
    /// the keys' rounding); the exact test is `unique_in`'s.
    fn reach(&self, k: f64, m: f64) -> f64 {
        k * hyp(m, self.max_sigma_s) + 1e-9
    }

    /// `unique` among the keys `r` (`reach`'s, worked out by a caller that has it).
    #[allow(clippy::too_many_arguments)]
    fn unique_in(
        &self,
        station: usize,
        phase: Phase,
        t: f64,
        k: f64,
        m: f64,
        sta: [f64; 3],
        src: [f64; 3],
        r: std::ops::RangeInclusive<Key>,
    ) -> Option<((i64, u64), &Pick)> {
        /// Two picks whose normalised residuals differ by less than this are equally likely.
        /// Measured (session 15; precision / recall of detectable violations, event F1): the
        /// day 2.0: 0.980 / 0.914, 0.909; 1.5: 0.977 / 0.923, 0.913; 1.0: 0.972 / 0.933,
        /// 0.916; 0.5: 0.975 / 0.930, 0.916. Three hours of stress 2.0: 0.977 / 0.900, 0.935;
        /// 1.0: 0.971 / 0.914, 0.941 (173 s of CPU to 140). A station whose nearest pick is
        /// clear by one sigma more often counts: in salvos, where a ripple's next rockets sit
        /// a few sigmas off, rounds kept more of their own picks and left fewer to blur the
        /// next round's evidence. Precision stays above its target (0.97) either way.
        const AMBIGUOUS_SIGMAS: f64 = 1.0;
        let mut best: Option<(f64, (i64, u64), &Pick)> = None;
        let mut second = f64::INFINITY;
        // The back azimuth from the station to the source, computed once if a pick has one.
        let mut predicted_deg: Option<f64> = None;
        for key in self.keys(station, r) {
            let Some(q) = self.pending.get(key) else {
                continue;
            };
            let mut z2 = ((q.time_s - t) / hyp(q.sigma_s, m)).powi(2);
            if let Some((observed_deg, sigma_deg)) = q.back_azimuth {
                let predicted = *predicted_deg
                    .get_or_insert_with(|| (src[0] - sta[0]).atan2(src[1] - sta[1]).to_degrees());
                let d = (observed_deg - predicted + 540.0).rem_euclid(360.0) - 180.0;
                z2 += (d / sigma_deg.max(1e-3)).powi(2);
            }
            let z = z2.sqrt();
            if q.phase != phase || z > k {
                continue;
            }
            match best {
                Some((zb, _, _)) if zb <= z => second = second.min(z),
                _ => {
                    if let Some((zb, _, _)) = best {
                        second = second.min(zb);
                    }
                    best = Some((z, *key, q));
                }
            }
        }
        let (z, key, q) = best?;
        (second - z >= AMBIGUOUS_SIGMAS).then_some((key, q))
    }

    /// What the pick `key` starts: a search for the event that explains it.
    fn decide(&self) -> Outcome {
        let Some(p) = self.s.pending.get(&self.key) else {
            return Outcome::Unheard;
        };
        let a = self.assoc;
        let cfg = &a.config;
        let slow = a.medium.slowest_mps();
        // The earliest compatible pick at each neighbouring station: the seeds.
        let neighbours = &a.neighbours[p.station];
        let mut early: Vec<(f64, usize, Key)> = Vec::with_capacity(neighbours.len());
        for &(s, d) in neighbours {
            let lo = (key_time(p.time_s - cfg.slack_s), 0);
            let hi = (key_time(p.time_s + d / slow + cfg.slack_s), u64::MAX);
            if let Some(k) = self.keys(s, lo..=hi).next()
                && let Some(q) = self.pending.get(k)
            {
                early.push((q.time_s, s, *k));
            }
        }
        if early.len() + 1 < cfg.min_stations {
            return Outcome::Unheard;
        }
        early.sort_by(|x, y| x.0.total_cmp(&y.0));
        early.truncate(cfg.seed_picks);
        // A repeat has met its own threshold.
        let around = self.around(p);
        if self.cancelled() {
            return Outcome::Alone;
        }
        let found = match self.repeat(p, &around) {
            Some((place, r)) => Some((f64::INFINITY, Some(place), r)),
            None if self.cancelled() || self.s.pass == Pass::Hints => None,
            None => self
                .best_solution(p, &early, &around)
                .map(|r| (r.0, None, r)),
        };
        let Some((evidence, from, (_, sol, frame, weather, keys))) = found else {
            return Outcome::Alone;
        };
        if self.cancelled() {
            return Outcome::Alone;
        }
        let taken: Vec<Key> = sol.inliers.iter().filter_map(|&i| keys[i]).collect();
        // A first round short of the threshold is an event only if later rounds from its place
        // make up the difference (they stay pending: each is found in turn).
        if evidence < cfg.min_evidence {
            let place = Recent {
                pos: frame.to_latlon(sol.x[0], sol.x[1]),
                depth_m: sol.x[2],
                origin_s: sol.x[3],
                wind_offset: sol.wind_offset,
                known: None,
                salvo: true,
                label: 0.0,
            };
            let without = self.without(&taken);
            let support = without.salvo_support(p, &place, cfg.min_evidence - evidence);
            if evidence + support < cfg.min_evidence {
                return Outcome::Alone;
            }
        }
        // A round from a salvo's place, or from a place another sensor gave, is one of its
        // rounds; one made up by later rounds starts a salvo.
        let salvo = from.map_or(evidence < cfg.min_evidence, |r| r.salvo);
        let with_p = sol.inliers.iter().any(|&i| keys[i].is_none());
        let mut picks: Vec<Pick> = sol
            .inliers
            .iter()
            .filter_map(|&i| match keys[i] {
                None => Some(p.clone()),
                Some(k) => self.pending.get(&k).cloned(),
            })
            .collect();
        picks.sort_by(|x, y| {
            x.time_s
                .total_cmp(&y.time_s)
                .then(x.station.cmp(&y.station))
        });
        let pos = frame.to_latlon(sol.x[0], sol.x[1]);
        // The rest of a source already located (picks left out of it as ambiguous, found again
        // from one of them) is not another source: at its time, and at its place to the
        // accuracy of the rest.
        if self.located().any(|(t, at)| {
            (t - sol.x[3]).abs() < SAME_TIME_S && {
                let (e, n) = frame.to_en(at);
                hyp(sol.x[0] - e, sol.x[1] - n) < DUPLICATE_RADIUS_M
                    || same_place(&sol, sol.x[0] - e, sol.x[1] - n)
            }
        }) {
            return Outcome::Found {
                keys: taken,
                with_p,
                what: Found::Rest(picks),
            };
        }
        let label: f64 = picks.iter().map(|q| q.label).sum::<f64>() + from.map_or(0.0, |r| r.label);
        // Impacts of one salvo scatter over hundreds of metres: not one place.
        let salvo = salvo && label >= 0.0;
        Outcome::Found {
            keys: taken,
            with_p,
            what: Found::Event(
                Recent {
                    pos,
                    depth_m: sol.x[2],
                    origin_s: sol.x[3],
                    wind_offset: sol.wind_offset,
                    known: None,
                    salvo,
                    label,
                },
                Box::new(Located {
                    pos,
                    depth_m: sol.x[2],
                    origin_s: sol.x[3],
                    solution: sol,
                    picks,
                    label,
                    weather,
                }),
            ),
        }
    }

    /// Consensus over triplets: every pair of the earliest neighbouring picks with p gives up to
    /// two closed-form TDOA solutions; each is refined on its three picks with the full
    /// propagation model and scored by looking up, at every neighbouring station, the pending
    /// pick nearest to the predicted arrival. The best hypotheses are then fitted robustly on
    /// those picks; the first plausible fit wins.
    #[allow(clippy::type_complexity)]
    fn best_solution(
        &self,
        p: &Pick,
        early: &[(f64, usize, (i64, u64))],
        around: &Around<'_>,
    ) -> Option<(f64, Solution, Frame, Weather, Vec<Option<(i64, u64)>>)> {
        let a = self.assoc;
        let cfg = &a.config;
        // Fits this far short of the threshold are kept: later rounds may make up the rest.
        let floor = cfg.min_evidence - cfg.salvo_reach;
        let Around {
            frame,
            weather,
            setting,
            air,
            sta_p,
            lookups,
        } = around;
        let (weather, sta_p) = (*weather, *sta_p);
        let neighbours = &a.neighbours[p.station];
        // The neighbours' positions (after p's own station in `lookups`).
        let sta_n: Vec<[f64; 3]> = lookups[1..].iter().map(|l| l.1).collect();
        let sta_of = |s: usize| -> [f64; 3] {
            neighbours
                .iter()
                .position(|&(n, _)| n == s)
                .map_or(sta_p, |i| sta_n[i])
        };
        // The speed of each phase, for the closed-form seeds.
        let speed = |ph: Phase| match a.medium {
            Medium::Air { celerity_mps } => {
                celerity_mps.unwrap_or_else(|| weather.sound_speed_mps())
            }
            Medium::Solid { vp_mps, vs_mps } => {
                if ph == Phase::S {
                    vs_mps
                } else {
                    vp_mps
                }
            }
        };
        let phases = a.medium.phases();
        let k = cfg.locator.inlier_sigmas;
        let wind_share = match a.medium {
            Medium::Air { .. } => setting.config.wind_sigma_mps / speed(Phase::Acoustic),
            Medium::Solid { .. } => 0.0,
        };
        // For a hypothesis x (source src), the pending pick of every phase at every station
        // nearest to its predicted arrival, within k model sigmas plus `slack_s`; p itself is not
        // among them.
        let arrivals = arrival_fn(|x, src, slack_s, f| {
            for (s, sta) in lookups.iter().copied() {
                for &ph in phases {
                    if s == p.station && ph == p.phase {
                        continue;
                    }
                    let (tt, _) = travel_time_with(&a.medium, air, ph, src, sta);
                    let m = crate::locator::model_sigma(&cfg.locator, tt) + slack_s;
                    if let Some((key, q)) = self.nearest(s, ph, x[3] + tt, k * m) {
                        f(key, q, sta, tt);
                    }
                }
            }
        });
        // Score a hypothesis: (stations fitting, soft score, evidence it could reach).
        let score = |x: [f64; 4]| -> (usize, f64, f64) {
            let src = frame.source(x[0], x[1], x[2]);
            let mut count = 0;
            let mut total = 0.0;
            let mut reach = 0.0;
            // `tt`: the travel time to `sta` for q's phase, where the caller has it.
            let mut add = |key: Option<(i64, u64)>, q: &Pick, sta: [f64; 3], tt: Option<f64>| {
                let tt =
                    tt.unwrap_or_else(|| travel_time_with(&a.medium, air, q.phase, src, sta).0);
                // The seed ignores the wind offset that the final fit estimates: allow for it.
                let m = crate::locator::model_sigma(&setting.config, tt) + tt * wind_share;
                let r2 = (q.time_s - x[3] - tt).powi(2);
                let tol2 = k * k * (q.sigma_s * q.sigma_s + m * m);
                if r2 <= tol2 {
                    count += 1;
                    total += 1.0 - r2 / tol2;
                    // The evidence this pick would add at this residual (the oldest pick's
                    // rate is not counted: the least possible).
                    let rate = key.map_or(1.0 / (2.0 * cfg.rate_window_s), |_| {
                        self.rate_at(q, p.time_s)
                    });
                    let sigma = hyp(q.sigma_s, crate::locator::model_sigma(&setting.config, tt));
                    reach += pick_gain(sigma, rate) - 0.5 * k * k * r2 / tol2;
                }
            };
            add(None, p, sta_p, None);
            arrivals(x, src, 0.5, &mut |key, q, sta, tt| {
                add(Some(key), q, sta, Some(tt))
            });
            (count, total, reach)
        };
        let seeds: Vec<(&Pick, [f64; 3])> = std::iter::once((p, sta_p))
            .chain(
                early
                    .iter()
                    .filter_map(|e| self.pending.get(&e.2).map(|q| (q, sta_of(e.1)))),
            )
            .collect();
        let mut trios: Vec<[(&Pick, [f64; 3]); 3]> = Vec::new();
        for i in 1..seeds.len() {
            for j in i + 1..seeds.len() {
                trios.push([seeds[0], seeds[i], seeds[j]]);
            }
        }
        // Where picks come thick (salvos, volleys), the earliest pick at a station may belong to
        // another source, or the source's own pick may have been missed: also pair the first
        // few picks at each of the nearest stations.
        let slow = a.medium.slowest_mps();
        let dense: Vec<Vec<(&Pick, [f64; 3])>> = neighbours
            .iter()
            .enumerate()
            .take(cfg.dense_stations)
            .map(|(i, &(s, d))| {
                let lo = (key_time(p.time_s - cfg.slack_s), 0);
                let hi = (key_time(p.time_s + d / slow + cfg.slack_s), u64::MAX);
                self.keys(s, lo..=hi)
                    .take(cfg.dense_picks)
                    .filter_map(|k| self.pending.get(k).map(|q| (q, sta_n[i])))
                    .collect()
            })
            .collect();
        if dense.iter().any(|v| v.len() > 1) {
            let seeded = trios.len();
            for i in 0..dense.len() {
                for j in i + 1..dense.len() {
                    for &qa in &dense[i] {
                        for &qb in &dense[j] {
                            // The first picks of two stations are often a seed pair already, in
                            // the same order: the same trio gives the same hypotheses, which
                            // would only be dropped as duplicates.
                            let same = |t: &[(&Pick, [f64; 3]); 3]| {
                                std::ptr::eq(t[1].0, qa.0) && std::ptr::eq(t[2].0, qb.0)
                            };
                            if !trios[..seeded].iter().any(same) {
                                trios.push([seeds[0], qa, qb]);
                            }
                        }
                    }
                }
            }
        }
        // The trios are independent: refined and scored on all cores, collected in order (so the
        // result is the same as one core's).
        let mut tried: Vec<(usize, f64, [f64; 4])> = self
            .each(&trios, |trio| {
                let mut out = Vec::new();
                if self.cancelled() {
                    return out;
                }
                // The closed form needs one speed: picks of one phase.
                if trio.iter().any(|q| q.0.phase != trio[0].0.phase) {
                    return out;
                }
                let c = speed(trio[0].0.phase);
                for (e, n, t0) in tdoa3(trio, c) {
                    if hyp(e, n) > cfg.seed_radius_m {
                        continue;
                    }
                    let Some(x) = refine3(setting, frame, trio, [e, n, 0.0, t0]) else {
                        continue;
                    };
                    if hyp(x[0], x[1]) > cfg.seed_radius_m {
                        continue;
                    }
                    let (count, sc, reach) = score(x);
                    // The full fit improves on the seed's residuals, but not by this much.
                    if count >= cfg.min_stations && reach >= floor - SEED_MARGIN {
                        out.push((count, sc, x));
                    }
                }
                out
            })
            .into_iter()
            .flatten()
            .collect();
        // Rank by the soft score: each station adds 1 - (residual / tolerance)², so a source
        // whose own picks sit at its predictions beats an alias that scrapes in one station
        // more with picks near the edge of the tolerance (dense salvos).
        tried.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        // Drop near-duplicate hypotheses (the same solution from several seed pairs).
        let mut distinct: Vec<(usize, f64, [f64; 4])> = Vec::new();
        for h in tried {
            if !distinct.iter().any(|d| {
                hyp(d.2[0] - h.2[0], d.2[1] - h.2[1]) < 20.0 && (d.2[3] - h.2[3]).abs() < 0.05
            }) {
                distinct.push(h);
            }
        }
        // Fit the best few fully (with the wind estimated) and keep the one that explains the
        // most stations at the least misfit: a mixture of sources may scrape in a station more
        // but pays for it in chi-square.
        // The fits are independent: run on all cores, then chosen in order (the first of the
        // highest merit), as one core would.
        let hypotheses: Vec<[f64; 4]> = distinct
            .into_iter()
            .take(cfg.full_fits)
            .map(|h| h.2)
            .collect();
        let fitted: Vec<Option<(f64, Solution, Vec<Option<(i64, u64)>>)>> =
            self.each(&hypotheses, |&x| {
                if self.cancelled() {
                    return None;
                }
                // The picks for this hypothesis: p, and the nearest pick at each neighbour.
                let src = frame.source(x[0], x[1], x[2]);
                let mut keys: Vec<Option<(i64, u64)>> = Vec::with_capacity(lookups.len());
                let mut group: Vec<&Pick> = Vec::with_capacity(lookups.len());
                keys.push(None);
                group.push(p);
                arrivals(x, src, 1.0, &mut |key, q, _, _| {
                    keys.push(Some(key));
                    group.push(q);
                });
                let first = locate(setting, frame, &group, x, true, cfg.min_stations)?;
                // Gathering again only ever drops or swaps picks: a first fit that leaves out
                // the oldest pick, or is far short of the evidence, will not do better.
                if !first.inliers.contains(&0)
                    || self.evidence(setting, frame, &group, &first, p.time_s)
                        < floor - REGATHER_MARGIN
                {
                    return None;
                }
                // The seed chose each station's pick by a rough prediction, with slack: in a
                // volley the pick of a neighbouring round can slip in and pull the fit. Gather
                // again at the fitted source (with its wind), within the inlier tolerance, and
                // leave out stations where two pending picks are equally compatible: which one
                // is this source's cannot be told, and guessing mixes sources.
                let src = frame.source(first.x[0], first.x[1], first.x[2]);
                let wind = air.with_offset(first.wind_offset);
                let (keys, group) = self.gather(p, lookups, &wind, src, first.x[3]);
                let sol = locate(setting, frame, &group, first.x, true, cfg.min_stations)?;
                // The source must be within hearing range of the stations that heard it: a far
                // "ghost" along the same bearing fits a distant array almost as well.
                let near = sol
                    .inliers
                    .iter()
                    .map(|&i| {
                        let st = frame.ecef(a.geometry.ecef(group[i].station));
                        hyp(st[0] - sol.x[0], st[1] - sol.x[1])
                    })
                    .fold(f64::INFINITY, f64::min);
                if near > cfg.seed_radius_m || hyp(sol.x[0], sol.x[1]) > cfg.max_station_distance_m
                {
                    return None;
                }
                // The oldest pick started this search: an event that does not explain it is a ghost
                // assembled from coincidences in a dense stream, not its source.
                if !sol.inliers.contains(&0) {
                    return None;
                }
                // One source fits its picks with chi-square near its degrees of freedom; a mixture
                // of several sources does not.
                if sol.dof > 0 && sol.chi2 > cfg.max_chi2_per_dof * sol.dof as f64 {
                    return None;
                }
                let wind = air.with_offset(sol.wind_offset);
                let evidence = self.evidence(setting, frame, &group, &sol, p.time_s)
                    - label_cost(&group, &sol)
                    - self.silence(frame, lookups, &wind, &group, &sol);
                if evidence < floor {
                    return None;
                }
                Some((evidence, sol, keys))
            });
        let mut best: Option<(f64, Solution, Vec<Option<(i64, u64)>>)> = None;
        for f in fitted.into_iter().flatten() {
            if best.as_ref().is_none_or(|b| f.0 > b.0) {
                best = Some(f);
            }
        }
        best.map(|(e, sol, keys)| (e, sol, frame.clone(), weather, keys))
    }
}

/// What the labels of an event's inliers cost it, nats: a source is a blast or a detonation;
/// picks labelled the other way are rare (the sensors' stated confusion). Each confident
/// minority label costs its log-likelihood ratio, about ln(0.9 / 0.1) = 2.2 for 90 % labels.
fn label_cost(group: &[&Pick], sol: &Solution) -> f64 {
    let votes: Vec<f64> = sol.inliers.iter().map(|&i| group[i].label).collect();
    let side = votes.iter().sum::<f64>().signum();
    votes
        .iter()
        .filter(|v| v.signum() == -side && v.abs() >= 0.5)
        .map(|v| (v.abs() / (1.0 - v.abs()).max(0.02)).ln())
        .sum()
}

/// How far short of the evidence threshold a seed hypothesis may fall and still be fitted in
/// full, nats (the fit moves the source and the wind to shrink the residuals).
const SEED_MARGIN: f64 = 10.0;

/// How far short of the evidence threshold a first fit may fall and still be gathered again,
/// nats (a second gathering may swap an ambiguous pick for a better one).
const REGATHER_MARGIN: f64 = 5.0;

/// Half-width of the short window of the local pick rate, seconds: a salvo at one station.
const SHORT_RATE_WINDOW_S: f64 = 5.0;

/// How far under the local rate (`local_rate`) the chance rate at a detonation's place may
/// fall (`View::detonation_rate_at`): a third, at most ln 3 = 1.1 nats more per pick. On the
/// day, floors of a half, a third and a quarter (each with its own `detonation_round_margin`)
/// and none gave the same precision and recall to within 0.002; a lone salvo's impacts (the
/// test `a_lone_salvo_s_impacts_are_no_more_events_than_rounds`) made extra events only
/// without a floor.
const DETONATION_RATE_FLOOR: f64 = 3.0;

/// What one pick adds to an event's evidence at zero residual, nats: the log of its Gaussian
/// density's peak (`sigma`: pick and model error together) over the chance rate of picks at
/// its station.
fn pick_gain(sigma: f64, rate: f64) -> f64 {
    -(sigma.max(1e-6) * (2.0 * std::f64::consts::PI).sqrt()).ln() - rate.ln()
}

/// The chance rate of picks at a station around one of them, per second: over the long window
/// (`n` picks in `len` s, the pick itself counted, so never zero), or over the short one
/// without the pick itself where picks come thicker (a salvo at one station).
fn local_rate((n, len): (usize, f64), (n_short, len_short): (usize, f64)) -> f64 {
    (n.max(1) as f64 / len).max(n_short.saturating_sub(1) as f64 / len_short)
}

impl Stream<'_> {
    /// Keep `r` as a place to look for repeats (or refresh the recent source it repeats).
    fn remember(&mut self, r: Recent) {
        if let Some(i) = self.recent.iter().position(|o| {
            maybe_within(o.pos, r.pos, SAME_PLACE_M) && distance_m(o.pos, r.pos) < SAME_PLACE_M
        }) {
            self.recent.remove(i);
        }
        self.recent.push(r);
        if self.recent.len() > MAX_RECENT {
            self.recent.remove(0);
        }
    }
}

impl View<'_, '_> {
    /// `p` and, at every other station (and phase) of `lookups`, the clear nearest pending pick
    /// (`unique`) to the arrival predicted from `src` at origin time `t0` in `wind`. Keys are
    /// `None` for `p`.
    #[allow(clippy::type_complexity)]
    fn gather<'s>(
        &'s self,
        p: &'s Pick,
        lookups: &[(usize, [f64; 3])],
        wind: &AirSpeed,
        src: [f64; 3],
        t0: f64,
    ) -> (Vec<Option<(i64, u64)>>, Vec<&'s Pick>) {
        let a = self.assoc;
        let k = a.config.locator.inlier_sigmas;
        // Sized for every station at once: growing them showed in the allocator's time.
        let mut keys = Vec::with_capacity(lookups.len());
        let mut group = Vec::with_capacity(lookups.len());
        keys.push(None);
        group.push(p);
        for &(s, sta) in lookups {
            for &ph in a.medium.phases() {
                if s == p.station && ph == p.phase {
                    continue;
                }
                let (tt, _) = travel_time_with(&a.medium, wind, ph, src, sta);
                let m = crate::locator::model_sigma(&a.config.locator, tt);
                if let Some((key, q)) = self.unique(s, ph, t0 + tt, k, m, sta, src) {
                    keys.push(Some(key));
                    group.push(q);
                }
            }
        }
        (keys, group)
    }

    /// The frame, weather and lookups of a search started by `p` (at p's station).
    fn around<'s>(&'s self, p: &Pick) -> Around<'s> {
        let a = self.assoc;
        let origin = a.stations[p.station].pos;
        let frame = Frame::new(origin);
        let weather = a.met.at_with(origin, p.time_s, &a.met_km[p.station]);
        let setting = Setting::new(&a.stations, &a.medium, weather, a.config.locator)
            .with_geometry(&a.geometry);
        let air = AirSpeed::new(&a.medium, &weather);
        let sta_p = frame.ecef(a.geometry.ecef(p.station));
        let lookups: Vec<(usize, [f64; 3])> = std::iter::once((p.station, sta_p))
            .chain(
                a.neighbours[p.station]
                    .iter()
                    .map(|&(s, _)| (s, frame.ecef(a.geometry.ecef(s)))),
            )
            .collect();
        Around {
            frame,
            weather,
            setting,
            air,
            sta_p,
            lookups,
        }
    }

    /// A later round from the place of a recent source: its arrivals are predicted from that
    /// place (with that source's wind) and the origin time that puts `p` on time; the clear
    /// nearest pick at each station within tolerance is taken, the set is located freely and
    /// gathered again where it fitted. It is a repeat if, with the place held fixed, it carries
    /// `min_repeat_evidence`, and the free fit stays near the place, explains `p` and fits like
    /// one source. The best qualifying place wins.
    #[allow(clippy::type_complexity)]
    fn repeat(
        &self,
        p: &Pick,
        around: &Around<'_>,
    ) -> Option<(
        Recent,
        (f64, Solution, Frame, Weather, Vec<Option<(i64, u64)>>),
    )> {
        let cfg = &self.assoc.config;
        if !cfg.min_repeat_evidence.is_finite() {
            return None;
        }
        let hinted = self.hinted(p, around);
        if self.recent().next().is_none() && hinted.is_empty() {
            return None;
        }
        // The places are tried independently (on all cores when this search runs alone: in
        // dense fire the places are most of a search's work), then the best is chosen in order.
        let places: Vec<(&Recent, bool)> = self
            .recent()
            .rev()
            .chain(hinted.iter().map(|r| (r, false)))
            .collect();
        let tried = self.each(&places, |&(r, first_pass)| {
            if self.cancelled() {
                return None;
            }
            // Only the origin time is searched at the place itself: chance seldom lines picks
            // up there (a few nats), a later round from it does (15-25 nats in a ripple).
            let round = self.place_round(p, r, around)?;
            let (fixed, _) = self.fixed_round(r, &round, around, p.time_s)?;
            // A salvo's place is proven by its rounds (or by another sensor's fixes of them):
            // its next round needs less, so long as it follows on.
            let salvo_round =
                r.salvo && (r.known.is_some() || round.t0 <= r.origin_s + cfg.salvo_gap_s);
            let need = if salvo_round && self.s.pass == Pass::Rest {
                cfg.min_rest_salvo_round_evidence
            } else if salvo_round {
                cfg.min_salvo_round_evidence
            } else if r.known.is_some() {
                cfg.min_known_evidence
            } else {
                cfg.min_repeat_evidence
            };
            let need = if r.label < 0.0 {
                need + cfg.detonation_round_margin
            } else {
                need
            };
            if fixed < need {
                return None;
            }
            // Then located freely (a neighbouring gun or launcher is a place of its own). A lone
            // place's later round must carry evidence where it is located too: chance picks that
            // line up at a place just at `min_repeat_evidence` scatter when freed (a test's ghost:
            // 17.0 nats at the place, -5.8 where its picks fitted); a salvo's or a fix's rounds
            // are looked for at their place for good reason. Day: 0.985 / 0.873 -> 0.986 / 0.871.
            // Except a salvo the first pass found: the picks its tracked rounds left are not
            // chance, and line up at its place into rounds that fit nowhere once freed. Day 0.971
            // / 0.951 -> 0.972 / 0.951, three hours of stress 0.970 / 0.938 -> 0.972 / 0.938
            // (session 19; for every salvo, the untracked ones' rounds were lost too).
            let (evidence, sol, keys) = self.at_place(p, r, &round, around, p.time_s)?;
            ((!r.salvo || r.known.is_some() || {
                let (e, n) = around.frame.to_en(r.pos);
                same_place(&sol, sol.x[0] - e, sol.x[1] - n)
            }) && ((r.salvo && !first_pass) || r.known.is_some() || evidence > 0.0))
                .then_some((fixed + evidence, *r, sol, keys))
        });
        let mut best: Option<(f64, Recent, Solution, Vec<Option<(i64, u64)>>)> = None;
        for t in tried.into_iter().flatten() {
            if best.as_ref().is_none_or(|b| t.0 > b.0) {
                best = Some(t);
            }
        }
        best.map(|(e, place, sol, keys)| {
            (place, (e, sol, around.frame.clone(), around.weather, keys))
        })
    }

    /// The hints whose sound could be `p`: given before it, within seeding reach of its
    /// station, and arriving there when `p` did (`on_time`).
    fn hinted(&self, p: &Pick, around: &Around<'_>) -> Vec<Recent> {
        let a = self.assoc;
        let reach = a.config.seed_radius_m / a.medium.slowest_mps() + a.config.slack_s;
        let lo = a.hints.partition_point(|h| h.time_s < p.time_s - reach);
        let c0 = around.air.c0;
        a.hints[lo..]
            .iter()
            .zip(&a.hint_salvo[lo..])
            .take_while(|(h, _)| h.time_s <= p.time_s)
            .map(|(h, &salvo)| Recent {
                pos: h.pos,
                depth_m: 0.0,
                origin_s: h.time_s,
                wind_offset: (0.0, 0.0),
                known: Some(Known {
                    sigma_s: h.sigma_s.max(1e-3),
                    sigma_m: h.sigma_m.max(1.0),
                    spread_s: h.sigma_m / c0,
                }),
                salvo,
                label: h.label,
            })
            .filter(|r| {
                let (e, n) = around.frame.to_en(r.pos);
                hyp(e, n) <= a.config.seed_radius_m && {
                    let src = around.frame.source(e, n, 0.0);
                    let (tt, _) =
                        travel_time_with(&a.medium, &around.air, p.phase, src, around.sta_p);
                    self.on_time(p, r, tt)
                }
            })
            .collect()
    }

    /// Whether a round from place `r` whose sound takes `tt_p` to reach `p`'s station could be
    /// `p`: after the place's last round for a located source, at its time (to the errors of
    /// the time, the place, the pick and the model) for a known one.
    fn on_time(&self, p: &Pick, r: &Recent, tt_p: f64) -> bool {
        let t0 = p.time_s - tt_p;
        match r.known {
            None => t0 >= r.origin_s + SAME_TIME_S,
            Some(known) => {
                let cfg = &self.assoc.config;
                let m = crate::locator::model_sigma(&cfg.locator, tt_p);
                let sigma =
                    (known.sigma_s.powi(2) + known.spread_s.powi(2) + p.sigma_s.powi(2) + m * m)
                        .sqrt();
                (t0 - r.origin_s).abs() <= cfg.locator.inlier_sigmas * sigma
            }
        }
    }

    /// A round from place `r` that explains `p` (see `repeat`), located freely from its
    /// `round` at the place, with its evidence (rates counted from `t_min`), whatever that
    /// evidence is.
    #[allow(clippy::type_complexity)]
    fn at_place(
        &self,
        p: &Pick,
        r: &Recent,
        round: &Round<'_>,
        around: &Around<'_>,
        t_min: f64,
    ) -> Option<(f64, Solution, Vec<Option<(i64, u64)>>)> {
        let a = self.assoc;
        let cfg = &a.config;
        let Around {
            frame,
            setting,
            air,
            lookups,
            ..
        } = around;
        let (e, n) = (round.src[0], round.src[1]);
        let start = [e, n, r.depth_m, round.t0];
        let first = locate(setting, frame, &round.group, start, true, cfg.min_stations)?;
        if !first.inliers.contains(&0) {
            return None;
        }
        // A round of a neighbouring launcher or gun fits a recent place roughly, pulled by the
        // picks of that place's rounds: gather again where it fitted, as a first search does,
        // so that it settles at its own place.
        let src = frame.source(first.x[0], first.x[1], first.x[2]);
        let wind = air.with_offset(first.wind_offset);
        let (keys, group) = self.gather(p, lookups, &wind, src, first.x[3]);
        if group.len() < cfg.min_stations {
            return None;
        }
        let sol = locate(setting, frame, &group, first.x, true, cfg.min_stations)?;
        if !sol.inliers.contains(&0)
            || hyp(sol.x[0] - e, sol.x[1] - n) > REPEAT_RADIUS_M
            || (sol.dof > 0 && sol.chi2 > cfg.max_chi2_per_dof * sol.dof as f64)
        {
            return None;
        }
        let wind = air.with_offset(sol.wind_offset);
        let evidence = self.evidence(setting, frame, &group, &sol, t_min)
            - label_cost(&group, &sol)
            - self.silence(frame, lookups, &wind, &group, &sol);
        Some((evidence, sol, keys))
    }

    /// The picks of a round from place `r` that explains `p`: its arrivals predicted from the
    /// place (with its wind) at the origin time that puts `p` on time, and the clear nearest
    /// pick at every other station, taken as the origin time (and a known place's shift)
    /// become known (`gather_known`; a located place is held fixed, its time left free).
    /// `None` for a place out of reach, a time not after the place's last round (or off a
    /// known round's time), or too few stations.
    fn place_round<'s>(
        &'s self,
        p: &'s Pick,
        r: &Recent,
        around: &Around<'_>,
    ) -> Option<Round<'s>> {
        let a = self.assoc;
        let cfg = &a.config;
        let (e, n) = around.frame.to_en(r.pos);
        if hyp(e, n) > cfg.seed_radius_m {
            return None;
        }
        let src = around.frame.source(e, n, r.depth_m);
        let wind = around.air.with_offset(r.wind_offset);
        let (tt_p, _) = travel_time_with(&a.medium, &wind, p.phase, src, around.sta_p);
        if !self.on_time(p, r, tt_p) {
            return None;
        }
        let (keys, group, t0) = match r.known {
            Some(known) => self.gather_known(p, r, known, around, &wind, src)?,
            None => {
                // With p alone the origin time is known to p's error, which widened every
                // other station's window alike; the clear stations narrow it for the rest.
                // Day: 0.986 / 0.871 -> 0.987 / 0.873.
                let t0 = p.time_s - tt_p;
                let loose = Known {
                    sigma_s: 1e3,
                    sigma_m: 1.0,
                    spread_s: 0.0,
                };
                let me = Recent { origin_s: t0, ..*r };
                self.gather_known(p, &me, loose, around, &wind, src)?
            }
        };
        (group.len() >= cfg.min_stations).then_some(Round {
            src,
            wind,
            t0,
            keys,
            group,
        })
    }

    /// The picks of a round from a place known to `known`'s errors (a `Hint`; or a located
    /// place, held fixed, with a free origin time) that explains `p`, gathered as the place's
    /// shift and the origin time become known, and that origin time. The place's error
    /// is common to every station: with `p` alone it leaves another station's arrival loose by
    /// up to twice that error in time of travel (a third of a second for a radar fix 55 m off),
    /// where a ripple's next rockets are always in the window and every station is ambiguous.
    /// So the stations whose nearest pick is clear are taken first, the shift and time fitted
    /// with `known`'s errors as priors (as `fixed_round` does), and the other stations judged
    /// again with only what is left of the uncertainty, until none is added. `None` when the
    /// normal equations are singular.
    #[allow(clippy::type_complexity)]
    fn gather_known<'s>(
        &'s self,
        p: &'s Pick,
        r: &Recent,
        known: Known,
        around: &Around<'_>,
        wind: &AirSpeed,
        src: [f64; 3],
    ) -> Option<(Vec<Option<Key>>, Vec<&'s Pick>, f64)> {
        let a = self.assoc;
        let cfg = &a.config;
        let k = cfg.locator.inlier_sigmas;
        let (mut n, mut b) = known.prior(r.origin_s);
        let (tt_p, g_p) = travel_time_with(&a.medium, wind, p.phase, src, around.sta_p);
        let m_p = crate::locator::model_sigma(&cfg.locator, tt_p);
        add_row(
            &mut n,
            &mut b,
            p.time_s - tt_p,
            hyp(p.sigma_s, m_p),
            [g_p[0], g_p[1]],
        );
        // (station, phase, station in the frame, travel time, gradient, model sigma, and the
        // last open key range where the station had no pick, with the reach then)
        #[allow(clippy::type_complexity)]
        let mut todo: Vec<(
            usize,
            Phase,
            [f64; 3],
            f64,
            [f64; 3],
            f64,
            Option<(Key, Key, f64)>,
        )> = Vec::with_capacity(around.lookups.len() * a.medium.phases().len());
        for &(s, sta) in &around.lookups {
            for &ph in a.medium.phases() {
                if s == p.station && ph == p.phase {
                    continue;
                }
                let (tt, g) = travel_time_with(&a.medium, wind, ph, src, sta);
                todo.push((
                    s,
                    ph,
                    sta,
                    tt,
                    g,
                    crate::locator::model_sigma(&cfg.locator, tt),
                    None,
                ));
            }
        }
        let mut keys = Vec::with_capacity(todo.len() + 1);
        let mut group = Vec::with_capacity(todo.len() + 1);
        keys.push(None);
        group.push(p);
        loop {
            let x = crate::linalg::solve_spd(&n, &b)?;
            let c = crate::linalg::inverse_spd(&n)?;
            let mut added: Vec<(Key, &'s Pick, f64, [f64; 3], f64)> = Vec::new();
            todo.retain_mut(|(s, ph, sta, tt, g, m, empty)| {
                let (s, ph, sta, tt, g, m) = (*s, *ph, *sta, *tt, *g, *m);
                let t = x[2] + tt + g[0] * x[0] + g[1] * x[1];
                // Most stations have no pick near a round's arrival, and the arrival moves
                // little as the round is gathered: a station whose whole reach is still in the
                // gap between its keys where it was last looked at is not searched again (the
                // view does not change). Its reach only shrinks as rows are added (the inverse
                // of a growing normal matrix), so the last one, a millionth wider for rounding,
                // bounds it without working it out; the nanosecond margins cover the keys'
                // rounding. The same result; with the gaps, 8 % fewer instructions in the
                // association (callgrind, two hours of the day).
                if let Some((left, right, w)) = *empty
                    && within_gap(t, w * (1.0 + 1e-6), (left, right))
                {
                    return true;
                }
                let v = [g[0], g[1], 1.0];
                let var: f64 = (0..3)
                    .map(|i| (0..3).map(|j| v[i] * c[i][j] * v[j]).sum::<f64>())
                    .sum();
                let m_all = (var.max(0.0) + m * m).sqrt();
                let w = self.reach(k, m_all);
                let (lo, hi) = reach_keys(t, w);
                if let Some((left, right, _)) = *empty
                    && left < lo
                    && hi < right
                {
                    *empty = Some((left, right, w));
                    return true;
                }
                if let Some((left, right)) = self.gap(s, lo, hi) {
                    *empty = Some((left, right, w));
                    return true;
                }
                match self.unique_in(s, ph, t, k, m_all, sta, src, lo..=hi) {
                    Some((key, q)) => {
                        added.push((key, q, tt, g, m));
                        false
                    }
                    None => true,
                }
            });
            if added.is_empty() {
                return Some((keys, group, x[2]));
            }
            for (key, q, tt, g, m) in added {
                add_row(
                    &mut n,
                    &mut b,
                    q.time_s - tt,
                    hyp(q.sigma_s, m),
                    [g[0], g[1]],
                );
                keys.push(Some(key));
                group.push(q);
            }
        }
    }

    /// A round from exactly the place of `r` (its wind too) that explains `q`: only its origin
    /// time is fitted. For a known source (a `Hint`), whose place and time are given only to
    /// their errors, the small shift of the place and the origin time are fitted with those
    /// errors as priors (linearised: the place's error is common to all stations, not a
    /// random error of each pick, and is no reason to loosen every pick). Returns its evidence
    /// (rates counted from `t_min`; for a known source, less the priors' misfit) and origin
    /// time.
    fn fixed_round(
        &self,
        r: &Recent,
        round: &Round<'_>,
        around: &Around<'_>,
        t_min: f64,
    ) -> Option<(f64, f64)> {
        let a = self.assoc;
        let cfg = &a.config;
        let k = cfg.locator.inlier_sigmas;
        let frame = &around.frame;
        let Round {
            src,
            wind,
            t0,
            keys,
            group,
        } = round;
        let (src, t0) = (*src, *t0);
        // (reduced time, sigma, d(travel time)/d(east, north), pick, is q)
        let mut rows: Vec<(f64, f64, [f64; 2], &Pick, bool)> = group
            .iter()
            .zip(keys)
            .map(|(&g, key)| {
                let sta = frame.ecef(a.geometry.ecef(g.station));
                let (tt, grad) = travel_time_with(&a.medium, wind, g.phase, src, sta);
                let m = crate::locator::model_sigma(&cfg.locator, tt);
                (
                    g.time_s - tt,
                    hyp(g.sigma_s, m),
                    [grad[0], grad[1]],
                    g,
                    key.is_none(),
                )
            })
            .collect();
        // The fitted shift of the place (east, north) and origin time, and the priors' misfit.
        let mut x = [0.0, 0.0, t0];
        let mut prior_chi2 = 0.0;
        for _ in 0..2 {
            match r.known {
                None => {
                    let (sw, swt) = rows.iter().fold((0.0, 0.0), |(sw, swt), row| {
                        (sw + 1.0 / (row.1 * row.1), swt + row.0 / (row.1 * row.1))
                    });
                    x[2] = swt / sw;
                }
                Some(known) => {
                    let (wp, wt) = (known.sigma_m.powi(-2), known.sigma_s.powi(-2));
                    let (mut n, mut b) = known.prior(r.origin_s);
                    for &(rt, sg, grad, _, _) in &rows {
                        add_row(&mut n, &mut b, rt, sg, grad);
                    }
                    x = crate::linalg::solve_spd(&n, &b)?;
                    prior_chi2 =
                        (x[0] * x[0] + x[1] * x[1]) * wp + (x[2] - r.origin_s).powi(2) * wt;
                }
            }
            rows.retain(|row| (residual(row, &x) / row.1).abs() <= k);
            if rows.len() < cfg.min_stations {
                return None;
            }
        }
        // The round must explain q, which put it on time.
        if !rows.iter().any(|row| row.4) {
            return None;
        }
        let evidence = rows
            .iter()
            .map(|row| {
                let rate = if r.label < 0.0 {
                    self.detonation_rate_at(row.3, t_min)
                } else {
                    self.rate_at(row.3, t_min)
                };
                pick_gain(row.1, rate) - 0.5 * (residual(row, &x) / row.1).powi(2)
            })
            .sum::<f64>()
            - 0.5 * prior_chi2;
        Some((evidence, x[2]))
    }

    /// The chance rate of picks at `q`'s station around `q` (see `evidence`).
    fn rate_at(&self, q: &Pick, t_min: f64) -> f64 {
        local_rate(
            self.picks_around(q, t_min, self.assoc.config.rate_window_s),
            self.picks_around(q, t_min, SHORT_RATE_WINDOW_S),
        )
    }

    /// The chance rate of picks at `q`'s station for a round from a detonation's place
    /// (`fixed_round`): over the long window, but never under a third of `rate_at`'s. The
    /// short window's burst is chance for a round from a launch's place: a salvo's other
    /// rockets leave that very place, so at every station their sound fits another origin time
    /// there as well as the round's own. A salvo's or a fire mission's detonations fall
    /// hundreds of metres apart, so at the place of one the others' arrivals fit no single
    /// origin time across the stations: where fire is heard all around, their burst is no more
    /// chance there than any other pick. Where the burst is all there is (one salvo in a quiet
    /// hour), the long window's rate is the burst spread thin, and blends of its detonations
    /// would pass: hence the floor (without it, partly tracked salvos' impacts alone made half
    /// again as many events at no impact; docs/decisions, session 19). Day: precision
    /// / recall of detectable violations 0.973 / 0.945 -> 0.971 / 0.951 (with
    /// `detonation_round_margin`); three hours of stress 0.972 / 0.932 -> 0.970 / 0.938.
    fn detonation_rate_at(&self, q: &Pick, t_min: f64) -> f64 {
        let long = self.picks_around(q, t_min, self.assoc.config.rate_window_s);
        let local = local_rate(long, self.picks_around(q, t_min, SHORT_RATE_WINDOW_S));
        (long.0.max(1) as f64 / long.1).max(local / DETONATION_RATE_FLOOR)
    }

    /// Pending picks at `q`'s station within `h` of it (none older than `t_min`), and the
    /// length of that window, seconds.
    fn picks_around(&self, q: &Pick, t_min: f64, h: f64) -> (usize, f64) {
        let lo = (q.time_s - h).max(t_min);
        let hi = q.time_s + h;
        let n = self.count(q.station, (key_time(lo), 0)..=(key_time(hi), u64::MAX));
        (n, (hi - lo).max(1e-3))
    }

    /// The evidence that later rounds from the place of a first round `r` (found from `p`,
    /// whose picks are out of the pending list) add to it: every pending pick at p's station
    /// within `salvo_window_s` after p is tried as the arrival of another round from there,
    /// and each round found counts its evidence less `round_cost`. Stops once `need` is met.
    fn salvo_support(&self, p: &Pick, r: &Recent, need: f64) -> f64 {
        let a = self.assoc;
        let cfg = &a.config;
        let lo = (key_time(p.time_s + SAME_TIME_S), 0);
        let hi = (key_time(p.time_s + cfg.salvo_window_s), u64::MAX);
        let mut total = 0.0;
        let mut last = r.origin_s;
        let mut around: Option<Around<'_>> = None;
        for key in self.keys(p.station, lo..=hi) {
            let Some(q) = self.pending.get(key) else {
                continue;
            };
            if q.phase != p.phase {
                continue;
            }
            let around = around.get_or_insert_with(|| self.around(p));
            let place = Recent {
                origin_s: last,
                ..*r
            };
            let Some(round) = self.place_round(q, &place, around) else {
                continue;
            };
            let Some((evidence, t0)) = self.fixed_round(&place, &round, around, p.time_s) else {
                continue;
            };
            if evidence <= cfg.round_cost {
                continue;
            }
            // A blend of rounds from several places (two launchers) also lines up roughly at
            // its place; a later round located freely must come back to the very place.
            let Some((_, sol, _)) = self.at_place(q, &place, &round, around, p.time_s) else {
                continue;
            };
            let (e, n) = around.frame.to_en(r.pos);
            if !same_place(&sol, sol.x[0] - e, sol.x[1] - n) {
                continue;
            }
            total += evidence - cfg.round_cost;
            last = t0;
            if total >= need {
                break;
            }
        }
        total
    }

    /// The evidence for a fitted event, in nats: the log-likelihood ratio of its inliers under
    /// "one source, Gaussian residuals of the stated sigmas" against "each pick arrived by
    /// chance at its station's local rate" (`local_rate`: pending picks at the station within
    /// `rate_window_s` of the pick, or within `SHORT_RATE_WINDOW_S` where they come thicker;
    /// none are older than `t_min`, the oldest pending time). This is what separates a
    /// source from a ghost in a dense stream: there every station has a pick near any predicted
    /// time, and many well-fitting stations prove nothing.
    fn evidence(
        &self,
        setting: &Setting<'_>,
        frame: &Frame,
        group: &[&Pick],
        sol: &Solution,
        t_min: f64,
    ) -> f64 {
        let a = self.assoc;
        let air = AirSpeed::new(&a.medium, &setting.weather);
        let src = frame.source(sol.x[0], sol.x[1], sol.x[2]);
        let mut total = -0.5 * sol.chi2;
        for &i in &sol.inliers {
            let q = group[i];
            let sta = frame.ecef(a.geometry.ecef(q.station));
            let (tt, _) = travel_time_with(&a.medium, &air, q.phase, src, sta);
            let m = crate::locator::model_sigma(&setting.config, tt);
            let sigma = hyp(q.sigma_s, m);
            total += pick_gain(sigma, self.rate_at(q, t_min));
        }
        total
    }
}

/// A `fixed_round` row's residual at the fitted shift of place (east, north) and origin time.
fn residual(row: &(f64, f64, [f64; 2], &Pick, bool), x: &[f64; 3]) -> f64 {
    row.0 - x[2] - row.2[0] * x[0] - row.2[1] * x[1]
}

impl View<'_, '_> {
    /// What the stations that should have heard a fitted event, and heard nothing, cost it
    /// (`AssocConfig::silent_station_cost` each): of `lookups`, those without an inlier,
    /// nearer the source than the farthest station with one, with no pick at all within the
    /// inlier tolerance of the predicted arrival, and alive (some pick within
    /// `rate_window_s`; a station that heard nothing for minutes may be down).
    fn silence(
        &self,
        frame: &Frame,
        lookups: &[(usize, [f64; 3])],
        wind: &AirSpeed,
        group: &[&Pick],
        sol: &Solution,
    ) -> f64 {
        let a = self.assoc;
        let cfg = &a.config;
        if cfg.silent_station_cost <= 0.0 || sol.inliers.is_empty() {
            return 0.0;
        }
        let src = frame.source(sol.x[0], sol.x[1], sol.x[2]);
        let horizontal = |sta: [f64; 3]| hyp(sta[0] - src[0], sta[1] - src[1]);
        let mut heard: Vec<(usize, f64)> = sol
            .inliers
            .iter()
            .map(|&i| {
                let q = group[i];
                (q.station, q.sigma_s)
            })
            .collect();
        // The farthest station that heard it: nearer ones should have.
        let reach = heard
            .iter()
            .filter_map(|&(s, _)| lookups.iter().find(|l| l.0 == s))
            .map(|l| horizontal(l.1))
            .fold(0.0, f64::max);
        heard.sort_by(|x, y| x.1.total_cmp(&y.1));
        let sigma = heard[heard.len() / 2].1;
        heard.sort_by_key(|h| h.0);
        let k = cfg.locator.inlier_sigmas;
        let silent = lookups
            .iter()
            .filter(|&&(s, sta)| {
                heard.binary_search_by_key(&s, |h| h.0).is_err() && horizontal(sta) < reach && {
                    let ph = a.medium.phases()[0];
                    let (tt, _) = travel_time_with(&a.medium, wind, ph, src, sta);
                    let t = sol.x[3] + tt;
                    let tol = k * hyp(sigma, crate::locator::model_sigma(&cfg.locator, tt));
                    !self.heard_any(s, t - tol, t + tol)
                        && self.heard_any(s, t - cfg.rate_window_s, t + cfg.rate_window_s)
                }
            })
            .count();
        silent as f64 * cfg.silent_station_cost
    }
}

/// Whether a round located freely at `sol`, (de, dn) metres from a place found before, is
/// from that place: within `SAME_PLACE_M`, or within the 95 % region of the difference of two
/// such locations (the round's covariance counted twice: the place's own location has about
/// the same error).
fn same_place(sol: &Solution, de: f64, dn: f64) -> bool {
    if hyp(de, dn) <= SAME_PLACE_M {
        return true;
    }
    let c = &sol.cov;
    let (a, b, d) = (2.0 * c[0][0], 2.0 * c[0][1], 2.0 * c[1][1]);
    let det = a * d - b * b;
    det > 0.0 && (de * de * d - 2.0 * de * dn * b + dn * dn * a) / det <= CHI2_2_95
}

/// The 95 % quantile of chi-square with two degrees of freedom.
const CHI2_2_95: f64 = 5.991;

/// The length of (a, b): by hand rather than `f64::hypot`, which guards against overflow no
/// value here comes near, costs about 7 % of the association in libm, and is not correctly
/// rounded alike on every platform; a square root is (IEEE 754), so the same inputs give the
/// same bits on any machine.
/// [`View::gap`] in the sorted keys `v` for a search that sees the keys in `seen` (after its
/// first, up to its last).
fn gap_in(v: &[Key], (after, last): (Key, Key), lo: Key, hi: Key) -> Option<(Key, Key)> {
    let i = v.partition_point(|x| *x < lo);
    let right = match v.get(i) {
        Some(&k) if k <= hi => return None,
        Some(&k) if k <= last => k,
        _ => MAX_KEY,
    };
    let left = match i.checked_sub(1).map(|j| v[j]) {
        Some(k) if k > after => k,
        _ => MIN_KEY,
    };
    Some((left, right))
}

/// Whether every key within `w` seconds of `t` (or of less) is strictly between `left` and
/// `right`, told from the times alone: the nanosecond margins cover the keys' rounding.
fn within_gap(t: f64, w: f64, (left, right): (Key, Key)) -> bool {
    (t - w) * 1e9 > left.0 as f64 + 1.0 && (t + w) * 1e9 < right.0 as f64 - 1.0
}

/// The keys within `w` seconds of `t`.
fn reach_keys(t: f64, w: f64) -> (Key, Key) {
    ((key_time(t - w), 0), (key_time(t + w), u64::MAX))
}

fn hyp(a: f64, b: f64) -> f64 {
    (a * a + b * b).sqrt()
}

/// Ties the picks that an arrivals closure hands out to the pending list they come from (a
/// closure cannot name that lifetime itself).
fn arrival_fn<'s, F>(f: F) -> F
where
    F: Fn([f64; 4], [f64; 3], f64, &mut dyn FnMut((i64, u64), &'s Pick, [f64; 3], f64)),
{
    f
}

/// Closed-form 2-D TDOA for three picks at speed `c`: up to two solutions (east, north, origin
/// time). Squared range equations differenced against the first pick are linear in (x, y, t0);
/// the first equation then gives a quadratic in t0.
fn tdoa3(trio: &[(&Pick, [f64; 3]); 3], c: f64) -> Vec<(f64, f64, f64)> {
    let t_ref = trio[0].0.time_s;
    let (x0, y0) = (trio[0].1[0], trio[0].1[1]);
    let c2 = c * c;
    let mut rows = [[0.0f64; 4]; 2];
    for (k, (q, sta)) in trio[1..].iter().enumerate() {
        let (xi, yi) = (sta[0], sta[1]);
        let ti = q.time_s - t_ref;
        rows[k] = [
            -2.0 * (xi - x0),
            -2.0 * (yi - y0),
            2.0 * c2 * ti,
            c2 * ti * ti - (xi * xi + yi * yi - x0 * x0 - y0 * y0),
        ];
    }
    let det = rows[0][0] * rows[1][1] - rows[0][1] * rows[1][0];
    // Stations (nearly) on one line make this system singular; sensors are often deployed in
    // lines, so that case gets its own solution.
    let scale = (hyp(rows[0][0], rows[0][1]) * hyp(rows[1][0], rows[1][1])).max(1e-12);
    if det.abs() < 1e-3 * scale {
        return tdoa3_collinear(trio, c);
    }
    let solve = |r0: f64, r1: f64| {
        (
            (r0 * rows[1][1] - rows[0][1] * r1) / det,
            (rows[0][0] * r1 - r0 * rows[1][0]) / det,
        )
    };
    let (ax, ay) = solve(rows[0][3], rows[1][3]);
    let (bxn, byn) = solve(rows[0][2], rows[1][2]);
    let (bx, by) = (-bxn, -byn);
    let (px, py) = (ax - x0, ay - y0);
    let qa = bx * bx + by * by - c2;
    let qb = 2.0 * (px * bx + py * by);
    let qc = px * px + py * py;
    let mut out = Vec::with_capacity(2);
    let mut push = |t: f64| {
        if t <= 1e-6 && t.is_finite() {
            out.push((ax + bx * t, ay + by * t, t + t_ref));
        }
    };
    if qa.abs() < 1e-12 {
        if qb.abs() > 1e-12 {
            push(-qc / qb);
        }
    } else {
        let disc = qb * qb - 4.0 * qa * qc;
        if disc >= 0.0 {
            let sq = disc.sqrt();
            push((-qb + sq) / (2.0 * qa));
            push((-qb - sq) / (2.0 * qa));
        }
    }
    out
}

/// Closed-form TDOA for three stations on (nearly) one line: along the line (u) and the origin
/// time are linear after differencing; the distance off the line (v) follows from the first
/// range, with the mirror ambiguity giving two solutions.
fn tdoa3_collinear(trio: &[(&Pick, [f64; 3]); 3], c: f64) -> Vec<(f64, f64, f64)> {
    let t_ref = trio[0].0.time_s;
    let o = trio[0].1;
    let far = if hyp(trio[1].1[0] - o[0], trio[1].1[1] - o[1])
        >= hyp(trio[2].1[0] - o[0], trio[2].1[1] - o[1])
    {
        trio[1].1
    } else {
        trio[2].1
    };
    let len = hyp(far[0] - o[0], far[1] - o[1]);
    if len < 1.0 {
        return Vec::new();
    }
    let (du, dv) = ((far[0] - o[0]) / len, (far[1] - o[1]) / len);
    let u = |s: [f64; 3]| (s[0] - o[0]) * du + (s[1] - o[1]) * dv;
    let c2 = c * c;
    // For i = 1, 2: -2 u (ui) + ui² = c² (ti² - 2 ti tau), with times relative to the first
    // pick (t0 = 0) and u relative to the first station (u0 = 0).
    let mut m = [[0.0f64; 3]; 2];
    for (k, (q, sta)) in trio[1..].iter().enumerate() {
        let ui = u(*sta);
        let ti = q.time_s - t_ref;
        // -2 ui * U + 2 c² ti * tau = c² ti² - ui²
        m[k] = [-2.0 * ui, 2.0 * c2 * ti, c2 * ti * ti - ui * ui];
    }
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if det.abs() < 1e-9 {
        return Vec::new();
    }
    let uu = (m[0][2] * m[1][1] - m[0][1] * m[1][2]) / det;
    let tau = (m[0][0] * m[1][2] - m[0][2] * m[1][0]) / det;
    // Range to the first station: sqrt(U² + V²) = c (0 - tau).
    let v2 = c2 * tau * tau - uu * uu;
    if tau.is_nan() || tau > 1e-6 || v2 < 0.0 {
        return Vec::new();
    }
    let v = v2.sqrt();
    let (pu, pv) = (-dv, du);
    [v, -v]
        .into_iter()
        .map(|vv| {
            (
                o[0] + uu * du + vv * pu,
                o[1] + uu * dv + vv * pv,
                tau + t_ref,
            )
        })
        .collect()
}

/// Gauss-Newton on three picks with the full model (wind, curvature): the exact fit. The
/// closed form ignores the wind, which for a source outside the array (range poorly
/// conditioned) can put it kilometres off; up to 15 damped steps bring it home.
fn refine3(
    set: &Setting<'_>,
    frame: &Frame,
    trio: &[(&Pick, [f64; 3]); 3],
    mut x: [f64; 4],
) -> Option<[f64; 4]> {
    let air = AirSpeed::new(set.medium, &set.weather);
    let resid = |x: &[f64; 4]| -> f64 {
        let src = frame.source(x[0], x[1], x[2]);
        trio.iter()
            .map(|(q, sta)| {
                let (tt, _) = travel_time_with(set.medium, &air, q.phase, src, *sta);
                (q.time_s - x[3] - tt).powi(2)
            })
            .sum()
    };
    let mut cost = resid(&x);
    for _ in 0..15 {
        let src = frame.source(x[0], x[1], x[2]);
        let mut a = [[0.0; 3]; 3];
        let mut b = [0.0; 3];
        for (q, sta) in trio {
            let (tt, g) = travel_time_with(set.medium, &air, q.phase, src, *sta);
            let r = q.time_s - x[3] - tt;
            let row = [g[0], g[1], 1.0];
            for u in 0..3 {
                b[u] += row[u] * r;
                for v in 0..3 {
                    a[u][v] += row[u] * row[v];
                }
            }
        }
        for (u, row) in a.iter_mut().enumerate() {
            row[u] += 1e-9 + 1e-6 * row[u];
        }
        let d = crate::linalg::solve_spd(&a, &b)?;
        // Halve the step until the misfit drops.
        let mut f = 1.0;
        let mut moved = false;
        for _ in 0..6 {
            let nx = [x[0] + f * d[0], x[1] + f * d[1], x[2], x[3] + f * d[2]];
            let nc = resid(&nx);
            if nc.is_finite() && nc <= cost {
                x = nx;
                cost = nc;
                moved = true;
                break;
            }
            f *= 0.5;
        }
        if !moved || (f * d[0]).abs() + (f * d[1]).abs() < 0.01 {
            break;
        }
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::{Key, Keys, Pending, Phase, Pick, gap_in, key_time, reach_keys, within_gap};
    use proptest::prelude::*;

    proptest! {
        /// The hand-rounded key is the rounded product, halves away from zero included.
        #[test]
        fn key_time_is_the_rounded_nanoseconds(t in -1e7f64..1e7, half in proptest::bool::ANY) {
            // Times on an exact half nanosecond as well as arbitrary ones.
            let t = if half { ((t * 1e9).trunc() + 0.5) / 1e9 } else { t };
            prop_assert_eq!(key_time(t), (t * 1e9).round() as i64);
        }

        /// A station's keys in a range are the ones a plain filter keeps, bounds that share a
        /// time with keys (told apart by arrival number) included.
        #[test]
        fn keys_in_a_range_are_the_filtered_keys(
            mut keys in proptest::collection::vec((0i64..20, 0u64..6), 0..40),
            lo in (0i64..22, 0u64..7),
            hi in (0i64..22, 0u64..7),
        ) {
            keys.sort();
            keys.dedup();
            let mut set = Keys::default();
            for &k in &keys {
                set.insert(k);
            }
            let want: Vec<Key> = keys.iter().copied().filter(|k| lo <= *k && *k <= hi).collect();
            prop_assert_eq!(set.range(lo..=hi), &want[..]);
        }
    }

    proptest! {
        // The edge cases are a few in a hundred: many cases (a tenth of a second).
        #![proptest_config(ProptestConfig::with_cases(8192))]

        /// A gap is found exactly when no key is in the range, holds the range, and holds no
        /// key that the search sees.
        #[test]
        fn a_gap_holds_no_key_the_search_sees(
            mut keys in proptest::collection::vec((0i64..20, 0u64..6), 0..40),
            lo in (0i64..22, 0u64..7),
            span in 0i64..6,
            after in (0i64..22, 0u64..7),
            last in (0i64..22, 0u64..7),
            pick in proptest::option::of((0usize..40, 0usize..40)),
        ) {
            keys.sort();
            keys.dedup();
            // Often what the search sees starts or ends at a key.
            let (after, last) = match pick {
                Some((a, b)) if !keys.is_empty() => (keys[a % keys.len()], keys[b % keys.len()]),
                _ => (after, last),
            };
            let hi = (lo.0 + span, u64::MAX);
            let lo = (lo.0, 0);
            let sees = |k: &Key| after < *k && *k <= last;
            match gap_in(&keys, (after, last), lo, hi) {
                None => prop_assert!(keys.iter().any(|k| lo <= *k && *k <= hi)),
                Some((left, right)) => {
                    prop_assert!(left < lo && hi < right);
                    prop_assert!(!keys.iter().any(|k| sees(k) && left < *k && *k < right));
                }
            }
        }

        /// What the times say is within a gap is, in keys, for any reach up to the one given:
        /// the gap's ends a few nanoseconds either side of the reach's.
        #[test]
        fn within_a_gap_by_the_times_is_within_it_by_the_keys(
            t in 0.0f64..1e5,
            w in 0.0f64..2.0,
            share in prop_oneof![Just(1.0), 0.0f64..=1.0],
            ends in (-3i64..=3, -3i64..=3),
            ids in (0u64..3, 0u64..3),
        ) {
            let gap = ((key_time(t - w) + ends.0, ids.0), (key_time(t + w) + ends.1, ids.1));
            if within_gap(t, w, gap) {
                let (lo, hi) = reach_keys(t, w * share);
                prop_assert!(gap.0 < lo && hi < gap.1);
            }
        }
    }

    #[test]
    fn pending_picks_are_found_by_key_and_the_taken_ones_forgotten() {
        let pick = |t: f64| Pick {
            station: 0,
            time_s: t,
            sigma_s: 0.1,
            phase: Phase::Acoustic,
            back_azimuth: None,
            label: 0.0,
            evidence: 0,
        };
        let mut pending = Pending::default();
        let keys: Vec<Key> = (0..10u64).map(|i| (key_time(9.0 - i as f64), i)).collect();
        for (i, &k) in keys.iter().enumerate() {
            pending.insert(k, pick(9.0 - i as f64));
        }
        // In time order, whatever the arrival order.
        assert_eq!(pending.first_key(), Some(keys[9]));
        assert_eq!(pending.get(&keys[3]).map(|p| p.time_s), Some(6.0));
        // Taken out of order: the deque keeps only what lies between the oldest held and the
        // newest.
        assert_eq!(pending.remove(&keys[1]).map(|p| p.time_s), Some(8.0));
        assert!(pending.remove(&keys[1]).is_none() && pending.get(&keys[1]).is_none());
        assert_eq!(pending.remove(&keys[0]).map(|p| p.time_s), Some(9.0));
        assert_eq!((pending.len(), pending.picks.len()), (8, 8));
        for k in &keys[2..] {
            assert!(pending.remove(k).is_some());
        }
        assert!(pending.is_empty() && pending.picks.is_empty());
        // Numbers from before the oldest held are none of its picks.
        pending.insert((0, 20), pick(0.0));
        assert!(pending.get(&keys[5]).is_none());
        assert_eq!(pending.get(&(0, 20)).map(|p| p.time_s), Some(0.0));
    }

    #[test]
    fn key_time_at_the_edges() {
        for t in [
            0.0,
            -0.0,
            0.5e-9,
            -0.5e-9,
            1.5e-9,
            -2.5e-9,
            1e12,
            -1e12,
            f64::MAX,
            f64::MIN,
        ] {
            assert_eq!(key_time(t), (t * 1e9).round() as i64, "{t}");
        }
        assert_eq!(key_time(f64::NAN), 0);
        assert_eq!(key_time(f64::INFINITY), i64::MAX);
        assert_eq!(key_time(f64::NEG_INFINITY), i64::MIN);
    }
}
