//! Abnormal fire activity, in the spirit of The Economist's war-fire model: a baseline of how
//! often satellites see fire in each 0.1-degree cell on each day of the year, learned from
//! reference (pre-war) years, and the days of an analysis year whose activity that baseline
//! makes unlikely.
//!
//! Method (parameters in [`FireConfig`]; docs/fires.md gives the reasons and known failures):
//! - the expected count of a cell-day is the cell's mean count within +-`window_days` of that
//!   day of the year over the reference years, shrunk towards the national mean of the same
//!   window by `prior_days` pseudo-days (cells with little history are not judged by chance);
//! - the instrument mix changes between years (MODIS + one VIIRS before 2022, two VIIRS after),
//!   so the expectation is scaled by the ratio of the analysis year's to the reference years'
//!   counts, in the same +-15 days, in quiet cells (the caller says which: far from the front)
//!   of the cell's region, shrunk towards the national ratio (a region's season, too);
//! - fire comes in clusters (one fire lights many pixels), so counts are overdispersed: a
//!   cell-day is flagged when the cell burning at all that day has probability under `p_flag`
//!   (the share of reference days in the window on which it burned, shrunk towards the national
//!   share, and raised for more satellites as 1 - (1 - p)^scale); its p is the smaller of that
//!   and the Poisson tail of its count;
//! - a cell counts only when its flags recur: at least `recur_min` flagged days, the first and
//!   last at least `recur_gap_days` apart, and more of them than the baseline makes likely
//!   (`p_cell`: a rarely-burning cell flags each of its fire days, so recurrence alone is no
//!   news);
//! - cells hot on more than `industrial_share` of the reference days (steel works, refineries,
//!   gas flares) are masked.
//!
//! Pure: no files, no clock.

use std::collections::BTreeMap;

/// A 0.1-degree cell: (floor(lat / size), floor(lon / size)).
pub type Cell = (i32, i32);

/// One detection: position and day (days since 1970-01-01, UTC).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
}

/// Model parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FireConfig {
    /// Cell size, degrees.
    pub cell_deg: f64,
    /// Half-width of the day-of-year window of the baseline, days.
    pub window_days: i64,
    /// Weight of the national mean, in pseudo cell-days.
    pub prior_days: f64,
    /// A cell-day is flagged below this probability.
    pub p_flag: f64,
    /// Fewest flagged days for a cell to count.
    pub recur_min: usize,
    /// Days between its first and last flag, at least.
    pub recur_gap_days: i64,
    /// Cells hot on more than this share of reference days are masked as industrial.
    pub industrial_share: f64,
    /// Size of the blocks of the regional scale, degrees; the region of a cell is its block
    /// and the blocks around it (`region_blocks` either way). 0 turns the regional scale off.
    pub region_deg: f64,
    /// Blocks either side of a cell's own in its region.
    pub region_blocks: i32,
    /// Weight of the national scale in the regional one, in reference detections.
    pub region_prior: f64,
    /// A cell counts only when its number of flagged days, or of strong days, has under this
    /// probability under the baseline (over the analysis span: rare-fire cells flag each fire,
    /// so recurrence alone does not make a cell unusual). Split between the two tests.
    pub p_cell: f64,
    /// A strong day: a flagged day with p at most this (many detections where few burned).
    pub p_strong: f64,
}

impl Default for FireConfig {
    fn default() -> Self {
        FireConfig {
            cell_deg: 0.1,
            window_days: 7,
            prior_days: 30.0,
            p_flag: 0.05,
            recur_min: 2,
            recur_gap_days: 7,
            industrial_share: 0.10,
            region_deg: 1.0,
            region_blocks: 1,
            region_prior: 100.0,
            p_cell: 0.01,
            p_strong: 0.001,
        }
    }
}

/// Day of the year, 0-365, of days since 1970-01-01.
pub fn day_of_year(day: i64) -> usize {
    // Civil-from-days (H. Hinnant's algorithm), to find 1 January of the day's year.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    // Day of the year counted from 1 March; shift to 1 January (leap years: 60 = 29 Feb).
    let y = yoe + era * 400;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let jan_feb = if leap { 60 } else { 59 };
    let d = if doy_mar >= 306 {
        doy_mar - 306
    } else {
        doy_mar + jan_feb
    };
    d as usize
}

/// The learned baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    config: FireConfig,
    years: f64,
    /// Per cell, counts per day of the year.
    counts: BTreeMap<Cell, Vec<u32>>,
    /// Per cell, reference days with at least one detection.
    hot_days: BTreeMap<Cell, u32>,
    /// Per cell, per day of the year, reference years in which the cell burned that day.
    fire_days: BTreeMap<Cell, Vec<u32>>,
    /// The same summed over cells, per day of the year.
    national_fire: Vec<f64>,
    /// National counts per day of the year (all cells), for the prior.
    national: Vec<f64>,
    /// Burned cell-days of the reference years by their count of detections (the last bin
    /// holds all larger counts): how clustered fire is, for the strong-day test.
    burn_counts: Vec<u64>,
}

impl Baseline {
    /// Learn from reference detections spanning `years` years.
    pub fn learn(reference: &[Detection], years: usize, config: FireConfig) -> Baseline {
        let mut counts: BTreeMap<Cell, Vec<u32>> = BTreeMap::new();
        let mut days: BTreeMap<Cell, std::collections::BTreeSet<i64>> = BTreeMap::new();
        let mut national = vec![0.0; 366];
        let mut fire_days: BTreeMap<Cell, Vec<u32>> = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut per_cell_day: BTreeMap<(Cell, i64), u32> = BTreeMap::new();
        for d in reference {
            *per_cell_day
                .entry((cell_of(d.lat, d.lon, config.cell_deg), d.day))
                .or_default() += 1;
            if seen.insert((cell_of(d.lat, d.lon, config.cell_deg), d.day)) {
                fire_days
                    .entry(cell_of(d.lat, d.lon, config.cell_deg))
                    .or_insert_with(|| vec![0; 366])[day_of_year(d.day)] += 1;
            }
            let c = cell_of(d.lat, d.lon, config.cell_deg);
            let doy = day_of_year(d.day);
            counts.entry(c).or_insert_with(|| vec![0; 366])[doy] += 1;
            days.entry(c).or_default().insert(d.day);
            national[doy] += 1.0;
        }
        let mut burn_counts = vec![0u64; BURN_COUNT_BINS];
        for n in per_cell_day.values() {
            burn_counts[(*n as usize).min(BURN_COUNT_BINS - 1)] += 1;
        }
        Baseline {
            config,
            burn_counts,
            years: years.max(1) as f64,
            hot_days: days.into_iter().map(|(c, s)| (c, s.len() as u32)).collect(),
            national_fire: (0..366)
                .map(|k| fire_days.values().map(|v| v[k] as f64).sum())
                .collect(),
            fire_days,
            counts,
            national,
        }
    }

    /// The cell of a position.
    pub fn cell(&self, lat: f64, lon: f64) -> Cell {
        cell_of(lat, lon, self.config.cell_deg)
    }

    /// The cell's centre (lat, lon).
    pub fn centre(&self, c: Cell) -> (f64, f64) {
        let s = self.config.cell_deg;
        ((c.0 as f64 + 0.5) * s, (c.1 as f64 + 0.5) * s)
    }

    /// Whether a cell is masked as a persistent industrial heat source.
    pub fn industrial(&self, c: Cell) -> bool {
        let hot = self.hot_days.get(&c).copied().unwrap_or(0) as f64;
        hot / (self.years * 365.0) > self.config.industrial_share
    }

    fn window_sum(v: &[f64], doy: usize, w: i64) -> f64 {
        (-w..=w)
            .map(|k| v[(doy as i64 + k).rem_euclid(366) as usize])
            .sum()
    }

    /// Expected count of a cell on a day of the year, before scaling.
    pub fn expected(&self, c: Cell, doy: usize) -> f64 {
        self.shrunk(&self.counts, &self.national, c, doy)
    }

    /// Probability that the cell burns (one detection or more) on a day of the year, before
    /// scaling: the share of reference days in the window on which it did, shrunk towards the
    /// national share by `prior_days` pseudo-days.
    pub fn p_fire(&self, c: Cell, doy: usize) -> f64 {
        self.shrunk(&self.fire_days, &self.national_fire, c, doy)
    }

    /// The cell's mean per day in the window, shrunk towards the national mean per cell-day by
    /// `prior_days` pseudo-days.
    fn shrunk(
        &self,
        per_cell: &BTreeMap<Cell, Vec<u32>>,
        national: &[f64],
        c: Cell,
        doy: usize,
    ) -> f64 {
        let w = self.config.window_days;
        let span = self.years * (2 * w + 1) as f64;
        let own: f64 = per_cell.get(&c).map_or(0.0, |v| {
            (-w..=w)
                .map(|k| v[(doy as i64 + k).rem_euclid(366) as usize] as f64)
                .sum()
        });
        let cells = per_cell.len().max(1) as f64;
        let national_rate = Self::window_sum(national, doy, w) / (span * cells);
        (own + self.config.prior_days * national_rate) / (span + self.config.prior_days)
    }

    /// The share of the reference years' burned cell-days with at least `n` detections
    /// (1 when there were none to learn from).
    pub fn burn_share_at_least(&self, n: u32) -> f64 {
        let total: u64 = self.burn_counts.iter().sum();
        if total == 0 {
            return 1.0;
        }
        let from = (n as usize).min(BURN_COUNT_BINS - 1);
        self.burn_counts[from..].iter().sum::<u64>() as f64 / total as f64
    }

    /// The cells with any reference detection.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        self.counts.keys().copied()
    }
}

fn cell_of(lat: f64, lon: f64, size: f64) -> Cell {
    ((lat / size).floor() as i32, (lon / size).floor() as i32)
}

/// P(X >= n) for X ~ Poisson(lambda). Summed by hand: a few terms, no crate needed.
pub fn poisson_upper_tail(n: u32, lambda: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // 1 - P(X <= n - 1), the CDF summed term by term.
    let mut term = (-lambda).exp();
    let mut cdf = term;
    for k in 1..n {
        term *= lambda / k as f64;
        cdf += term;
    }
    (1.0 - cdf).max(0.0)
}

/// A flagged cell-day.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The cell.
    pub cell: Cell,
    /// The day (days since 1970-01-01).
    pub day: i64,
    /// Detections that day in the cell.
    pub count: u32,
    /// Expected count (scaled).
    pub expected: f64,
    /// P(count or more | expected).
    pub p: f64,
    /// Indexes into the analysis detections.
    pub detections: Vec<usize>,
}

/// Bins of the burned-day count histogram (counts of 63 and more share the last).
const BURN_COUNT_BINS: usize = 64;

/// Half-width of the day window of the scales, days.
const SCALE_WINDOW_DAYS: i64 = 15;

/// The regional scale: the ratio of the analysis year's to the reference years' detections in
/// the quiet cells of a cell's region, within +-15 days, shrunk towards the national ratio by
/// `region_prior` reference detections. It carries what a national scale cannot: a region whose
/// fields burned more this year (a dry harvest season, a change of farming) than in the
/// reference years, which a cell-by-cell baseline would otherwise call abnormal.
struct Regional {
    cell_deg: f64,
    block_deg: f64,
    reach: i32,
    prior: f64,
    /// The national scale per day of the year (all quiet cells).
    national: Vec<f64>,
    /// Per block, windowed quiet counts per day of the year: (analysis year, reference mean).
    blocks: BTreeMap<(i32, i32), (Vec<f64>, Vec<f64>)>,
}

impl Regional {
    fn new(baseline: &Baseline, analysis: &[Detection], quiet: &impl Fn(Cell) -> bool) -> Regional {
        let cfg = baseline.config;
        let block_deg = cfg.region_deg;
        let mut raw: BTreeMap<(i32, i32), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        // Without a regional scale, all quiet cells are one block: the national one.
        let block_of = |c: Cell| {
            if block_deg > 0.0 {
                block_of(c, cfg.cell_deg, block_deg)
            } else {
                (0, 0)
            }
        };
        for d in analysis {
            let c = baseline.cell(d.lat, d.lon);
            if quiet(c) {
                raw.entry(block_of(c))
                    .or_insert_with(|| (vec![0.0; 366], vec![0.0; 366]))
                    .0[day_of_year(d.day)] += 1.0;
            }
        }
        for (c, v) in &baseline.counts {
            if quiet(*c) {
                let e = raw
                    .entry(block_of(*c))
                    .or_insert_with(|| (vec![0.0; 366], vec![0.0; 366]));
                for (k, n) in v.iter().enumerate() {
                    e.1[k] += *n as f64 / baseline.years;
                }
            }
        }
        let w = |v: &[f64]| -> Vec<f64> {
            (0..366)
                .map(|doy| Baseline::window_sum(v, doy, SCALE_WINDOW_DAYS))
                .collect()
        };
        let blocks: BTreeMap<(i32, i32), (Vec<f64>, Vec<f64>)> = raw
            .into_iter()
            .map(|(b, (now, before))| (b, (w(&now), w(&before))))
            .collect();
        let national = (0..366)
            .map(|doy| {
                let now: f64 = blocks.values().map(|b| b.0[doy]).sum();
                let before: f64 = blocks.values().map(|b| b.1[doy]).sum();
                if now > 0.0 && before > 0.0 {
                    now / before
                } else {
                    1.0
                }
            })
            .collect();
        Regional {
            cell_deg: cfg.cell_deg,
            block_deg,
            reach: cfg.region_blocks,
            prior: cfg.region_prior,
            national,
            blocks,
        }
    }

    /// The scale for a cell on a day of the year.
    fn scale(&self, c: Cell, doy: usize) -> f64 {
        let national = self.national[doy];
        if self.block_deg <= 0.0 {
            return national;
        }
        let (mut now, mut before) = (0.0, 0.0);
        let centre = block_of(c, self.cell_deg, self.block_deg);
        for i in -self.reach..=self.reach {
            for j in -self.reach..=self.reach {
                if let Some((n, b)) = self.blocks.get(&(centre.0 + i, centre.1 + j)) {
                    now += n[doy];
                    before += b[doy];
                }
            }
        }
        (now + self.prior * national) / (before + self.prior)
    }
}

/// The block of the regional scale holding a cell's centre.
fn block_of(c: Cell, cell_deg: f64, block_deg: f64) -> (i32, i32) {
    let at = |k: i32| ((k as f64 + 0.5) * cell_deg / block_deg).floor() as i32;
    (at(c.0), at(c.1))
}

/// Flag the analysis detections against the baseline. `quiet(cell)` says which cells measure
/// the change of instrument mix (far from any fighting). Returns flags of recurring,
/// non-industrial cells, by cell then day, and the scale used per day of the year.
pub fn flag(
    baseline: &Baseline,
    analysis: &[Detection],
    quiet: impl Fn(Cell) -> bool,
) -> (Vec<Flag>, Vec<f64>) {
    let cfg = baseline.config;
    let mut by_cell_day: BTreeMap<(Cell, i64), Vec<usize>> = BTreeMap::new();
    let mut days_seen = std::collections::BTreeSet::new();
    for (i, d) in analysis.iter().enumerate() {
        let c = baseline.cell(d.lat, d.lon);
        by_cell_day.entry((c, d.day)).or_default().push(i);
        days_seen.insert(d.day);
    }
    let regional = Regional::new(baseline, analysis, &quiet);
    let mut per_cell: BTreeMap<Cell, Vec<Flag>> = BTreeMap::new();
    for ((c, day), idx) in by_cell_day {
        if baseline.industrial(c) {
            continue;
        }
        let doy = day_of_year(day);
        let scale = regional.scale(c, doy);
        let expected = baseline.expected(c, doy) * scale;
        let count = idx.len() as u32;
        // Fire comes in clusters (one fire lights many pixels), so counts are overdispersed:
        // the day is judged by whether the cell burned at all, with more looks (satellites)
        // raising the chance as 1 - (1 - p)^scale, and by its count.
        let p_day = 1.0 - (1.0 - baseline.p_fire(c, doy)).powf(scale.max(0.0));
        let p = if p_day < cfg.p_flag {
            p_day.min(poisson_upper_tail(count, expected))
        } else {
            1.0
        };
        if p < cfg.p_flag {
            per_cell.entry(c).or_default().push(Flag {
                cell: c,
                day,
                count,
                expected,
                p,
                detections: idx,
            });
        }
    }
    // The analysis span: a day can be flagged only if the cell burns on it while burning has
    // under `p_flag` probability, so under the baseline a cell's flagged days are about
    // Poisson with the sum of those probabilities over the span.
    let (first_day, last_day) = (
        days_seen.first().copied().unwrap_or(0),
        days_seen.last().copied().unwrap_or(-1),
    );
    let mut out = Vec::new();
    for (c, flags) in per_cell {
        let first = flags.first().map_or(0, |f| f.day);
        let last = flags.last().map_or(0, |f| f.day);
        if flags.len() < cfg.recur_min || last - first < cfg.recur_gap_days {
            continue;
        }
        // Under the baseline, on each day of the span: the chance of a flagged day (the cell
        // burns while burning had under `p_flag` probability) and of a strong one (its p at most
        // `p_strong`: burning at all was that unlikely, or the count reached what a Poisson
        // day allows at that level, at the rate such counts come in the reference years).
        let (mut null_flags, mut null_strong) = (0.0, 0.0);
        for day in first_day..=last_day {
            let doy = day_of_year(day);
            let scale = regional.scale(c, doy).max(0.0);
            let p = 1.0 - (1.0 - baseline.p_fire(c, doy)).powf(scale);
            if p >= cfg.p_flag {
                continue;
            }
            null_flags += p;
            null_strong += if p <= cfg.p_strong {
                p
            } else {
                let expected = baseline.expected(c, doy) * scale;
                let mut n = 1u32;
                while n < BURN_COUNT_BINS as u32 && poisson_upper_tail(n, expected) > cfg.p_strong {
                    n += 1;
                }
                p * baseline.burn_share_at_least(n)
            };
        }
        let strong = flags.iter().filter(|f| f.p <= cfg.p_strong).count() as u32;
        let p_many = poisson_upper_tail(flags.len() as u32, null_flags);
        let p_strong = poisson_upper_tail(strong, null_strong);
        if p_many.min(p_strong) < 0.5 * cfg.p_cell {
            out.extend(flags);
        }
    }
    (out, regional.national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_year_of_known_dates() {
        // 2023-01-01 is day 19358; 2024-03-01 (leap year) is 19783.
        assert_eq!(day_of_year(19_358), 0);
        assert_eq!(day_of_year(19_358 + 364), 364);
        assert_eq!(day_of_year(19_783), 60);
        assert_eq!(day_of_year(19_783 - 1), 59); // 29 February
        assert_eq!(day_of_year(0), 0); // 1970-01-01
    }

    #[test]
    fn poisson_tail_matches_closed_forms() {
        assert!((poisson_upper_tail(1, 0.5) - (1.0 - (-0.5f64).exp())).abs() < 1e-12);
        let l: f64 = 2.0;
        let p2 = 1.0 - (-l).exp() * (1.0 + l);
        assert!((poisson_upper_tail(2, l) - p2).abs() < 1e-12);
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
    }

    /// A synthetic country: every cell burns at a steady low rate every year; in the analysis
    /// year one cell burns far more on several days weeks apart, one cell burns more on one
    /// day only, and one "steel works" cell is hot every day in every year.
    #[test]
    fn recurring_excess_is_flagged_and_steady_or_industrial_heat_is_not() {
        let day0 = 19_358; // 2023-01-01
        let mut reference = Vec::new();
        for year in 0..5i64 {
            for d in (0..365).step_by(20) {
                for cell in 0..50 {
                    reference.push(Detection {
                        lat: 48.05 + 0.1 * (cell / 10) as f64,
                        lon: 30.05 + 0.1 * (cell % 10) as f64,
                        day: day0 - 365 * (year + 1) + d + cell,
                    });
                }
            }
            for d in 0..365 {
                reference.push(Detection {
                    lat: 47.05,
                    lon: 35.05,
                    day: day0 - 365 * (year + 1) + d,
                });
            }
        }
        let b = Baseline::learn(&reference, 5, FireConfig::default());
        assert!(b.industrial(b.cell(47.05, 35.05)));
        assert!(!b.industrial(b.cell(48.05, 30.05)));
        let mut analysis = Vec::new();
        // The steady pattern again, the steel works again.
        for d in (0..365).step_by(20) {
            for cell in 0..50 {
                analysis.push(Detection {
                    lat: 48.05 + 0.1 * (cell / 10) as f64,
                    lon: 30.05 + 0.1 * (cell % 10) as f64,
                    day: day0 + d + cell,
                });
            }
        }
        for d in 0..365 {
            analysis.push(Detection {
                lat: 47.05,
                lon: 35.05,
                day: day0 + d,
            });
        }
        // War: 6 detections on days 100, 130 and 160 in a cell that never burned (its
        // neighbours burn on 1 day in 20, so three fire days alone would be no news; six
        // detections a day, where burned days have one, are); 6 on day 200 in another.
        for d in [100, 130, 160] {
            for _ in 0..6 {
                analysis.push(Detection {
                    lat: 48.55,
                    lon: 30.35,
                    day: day0 + d,
                });
            }
        }
        for _ in 0..6 {
            analysis.push(Detection {
                lat: 48.55,
                lon: 30.75,
                day: day0 + 200,
            });
        }
        let (flags, scale) = flag(&b, &analysis, |c| c.1 < 303);
        let cells: std::collections::BTreeSet<Cell> = flags.iter().map(|f| f.cell).collect();
        assert_eq!(cells.len(), 1, "{flags:?}");
        assert!(cells.contains(&b.cell(48.55, 30.35)));
        assert_eq!(flags.len(), 3);
        assert!(flags.iter().all(|f| f.p < 0.05 && f.count >= 6));
        // The steady cells set the scale: about 1.
        assert!((scale[150] - 1.0).abs() < 0.2, "{}", scale[150]);
    }

    /// A cell that burns on about 1 day in 100 flags each of its fire days (burning at all that
    /// day had under 5 % probability), so a year at its usual rate recurs; the cell test says
    /// that is what the baseline expects. Four times as many fire days is not.
    #[test]
    fn a_rare_fire_cell_at_its_usual_rate_is_not_flagged() {
        let day0 = 19_358; // 2023-01-01
        let rare = |lon: f64, every: i64, years: std::ops::Range<i64>| {
            let mut v = Vec::new();
            for year in years {
                // A different day of the year each year, as fires fall.
                for d in ((37 * year).rem_euclid(every)..365).step_by(every as usize) {
                    v.push(Detection {
                        lat: 48.05,
                        lon,
                        day: day0 + 365 * year + d,
                    });
                }
            }
            v
        };
        // Ten reference years: two cells burning on 1 day in 100 (3-4 days a year), and a
        // background of cells burning on 1 day in 10, so the national share is no help.
        let mut reference = rare(30.05, 100, -10..0);
        reference.extend(rare(30.15, 100, -10..0));
        for k in 0..20 {
            reference.extend(rare(31.05 + 0.1 * k as f64, 10, -10..0));
        }
        let b = Baseline::learn(&reference, 10, FireConfig::default());
        let p = b.p_fire(b.cell(48.05, 30.05), 180);
        assert!(p > 0.003 && p < 0.05, "{p}");
        // The analysis year: the first cell as usual, the second on 1 day in 8.
        let mut analysis = rare(30.05, 100, 0..1);
        analysis.extend(rare(30.15, 8, 0..1));
        for k in 0..20 {
            analysis.extend(rare(31.05 + 0.1 * k as f64, 10, 0..1));
        }
        let (flags, _) = flag(&b, &analysis, |_| true);
        let cells: std::collections::BTreeSet<Cell> = flags.iter().map(|f| f.cell).collect();
        assert_eq!(
            cells.into_iter().collect::<Vec<_>>(),
            vec![b.cell(48.05, 30.15)],
            "{flags:?}"
        );
    }
}
