//! Synthetic events with exact or Gaussian picks: the locator finds them where they are, and the
//! ellipses are honest.

#![allow(clippy::unwrap_used)]

use truce_geo::{LatLon, direct, distance_m, inverse};
use truce_locate::{
    AssocConfig, Associator, Hint, Medium, MetTable, Phase, Pick, Station, Weather,
};

fn stations() -> Vec<Station> {
    // Two lines of sensors 12 km apart along 60 km, like the simulator's layout.
    let o = LatLon::new(48.3, 38.0);
    let mut out = Vec::new();
    for k in 0..11 {
        let a = direct(o, 90.0, k as f64 * 6000.0);
        for side in [0.0, 180.0] {
            out.push(Station {
                id: format!("S{}", out.len()),
                owner: "X".into(),
                pos: direct(a, side, 6000.0),
                alt_m: 0.0,
            });
        }
    }
    out
}

/// The weather of most tests: 3 °C, a 5 m/s wind from 250°.
const WINDY: Weather = Weather {
    temperature_c: 3.0,
    wind_speed_mps: 5.0,
    wind_from_deg: 250.0,
};

/// Met reports of `w` at the first station every 30 minutes for 50 hours.
fn half_hourly(st: &[Station], w: Weather) -> MetTable {
    MetTable::new(
        (0..100)
            .map(|k| truce_locate::MetReport {
                pos: st[0].pos,
                time_s: 1800.0 * k as f64,
                weather: w,
            })
            .collect(),
    )
}

/// The acoustic associator in air over `st`.
/// `picks` streamed through `a` in time order (then by station, as batch sorts them): the
/// association, and the most picks the stream held at once.
fn streamed(a: &Associator, picks: &[Pick]) -> (truce_locate::Association, usize) {
    let mut sorted = picks.to_vec();
    sorted.sort_by(|x, y| {
        x.time_s
            .total_cmp(&y.time_s)
            .then(x.station.cmp(&y.station))
    });
    let mut stream = a.stream();
    let mut most = 0;
    for p in sorted {
        stream.push(p);
        most = most.max(stream.pending_len());
    }
    (stream.finish(), most)
}

fn associator(st: &[Station], met: MetTable) -> Associator {
    Associator::new(
        st.to_vec(),
        Medium::Air { celerity_mps: None },
        met,
        AssocConfig::acoustic(),
    )
}

fn picks_for(
    st: &[Station],
    src: LatLon,
    t0: f64,
    w: &Weather,
    noise: &mut impl FnMut() -> f64,
) -> Vec<Pick> {
    let c0 = w.sound_speed_mps();
    let (we, wn) = w.wind_en();
    st.iter()
        .enumerate()
        .filter(|(_, s)| distance_m(src, s.pos) < 25_000.0)
        .map(|(i, s)| {
            let inv = inverse(src, s.pos);
            let az = inv.azimuth1_deg.to_radians();
            let c = c0 + we * az.sin() + wn * az.cos();
            Pick {
                station: i,
                time_s: t0 + inv.distance_m / c + 0.02 * noise(),
                sigma_s: 0.02,
                phase: Phase::Acoustic,
                back_azimuth: None,
                label: 1.0,
                evidence: i as u64,
            }
        })
        .collect()
}

#[test]
fn an_exact_event_is_found_where_it_is() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let a = associator(&st, met);
    for (k, (az, d)) in [
        (10.0, 2000.0),
        (0.0, 15_000.0),
        (180.0, 12_000.0),
        (100.0, 30_000.0),
    ]
    .iter()
    .enumerate()
    {
        let src = direct(LatLon::new(48.3, 38.15), *az, *d);
        let picks = picks_for(&st, src, 100.0, &w, &mut || 0.0);
        let n = picks.len();
        let out = a.run(picks);
        assert_eq!(
            out.events.len(),
            1,
            "case {k}: {} events from {n} picks",
            out.events.len()
        );
        let e = &out.events[0];
        let err = distance_m(e.pos, src);
        assert!(err < 1.0, "case {k}: {err} m off with exact picks");
        assert!((e.origin_s - 100.0).abs() < 1e-3);
        assert_eq!(e.picks.len(), n);
    }
}

/// A small deterministic Gaussian noise source (Box-Muller over an LCG) for tests.
fn gauss(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        let mut u = || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (a, b) = (u(), u());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }
}

/// A small deterministic uniform source on (0, 1) (an LCG) for tests.
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// A pick at `station` that no source made (20 ms, labelled a blast).
fn chance_pick(station: usize, time_s: f64, evidence: u64) -> Pick {
    Pick {
        station,
        time_s,
        sigma_s: 0.02,
        phase: Phase::Acoustic,
        back_azimuth: None,
        label: 1.0,
        evidence,
    }
}

#[test]
fn volleys_separate_and_errors_match_the_stated_sigma() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let a = associator(&st, met);
    let mut noise = gauss(7);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for v in 0..40 {
        let centre = direct(
            LatLon::new(48.3, 38.15),
            37.0 * v as f64,
            3000.0 + 300.0 * v as f64,
        );
        for g in 0..4 {
            let src = direct(centre, 90.0 * g as f64, 120.0);
            let t0 = 1000.0 * v as f64 + 0.6 * g as f64 + 0.1 * (v % 3) as f64;
            truth.push((src, t0));
            all.extend(picks_for(&st, src, t0, &w, &mut noise));
        }
    }
    let out = a.run(all);
    let mut errs = Vec::new();
    let mut inside = 0;
    for (src, t0) in &truth {
        let best = out
            .events
            .iter()
            .filter(|e| (e.origin_s - t0).abs() < 0.3)
            .min_by(|x, y| distance_m(x.pos, *src).total_cmp(&distance_m(y.pos, *src)));
        if let Some(e) = best {
            let d = distance_m(e.pos, *src);
            errs.push(d);
            let f = truce_locate::Frame::new(e.pos);
            let (de, dn) = f.to_en(*src);
            let (sa, sb, az) = e.solution.ellipse95;
            let az = az.to_radians();
            let u = de * az.sin() + dn * az.cos();
            let wv = de * az.cos() - dn * az.sin();
            if (u / sa).powi(2) + (wv / sb).powi(2) <= 1.0 {
                inside += 1;
            }
        }
    }
    errs.sort_by(f64::total_cmp);
    let median = errs[errs.len() / 2];
    eprintln!(
        "volleys: {} events for {} sources, {} matched, median error {median:.1} m",
        out.events.len(),
        truth.len(),
        errs.len()
    );
    eprintln!(
        "events {} for {} sources; found {}; median error {median:.1} m; inside {inside}",
        out.events.len(),
        truth.len(),
        errs.len()
    );
    assert!(errs.len() >= 150, "found {} of 160", errs.len());
    assert!(median < 30.0, "median {median}");
}

#[test]
fn one_noisy_event_is_one_event() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let a = associator(&st, met);
    let mut noise = gauss(3);
    for k in 0..20 {
        let src = direct(
            LatLon::new(48.3, 38.15),
            37.0 * k as f64,
            3000.0 + 700.0 * k as f64,
        );
        let picks = picks_for(&st, src, 100.0, &w, &mut noise);
        let n = picks.len();
        let out = a.run(picks);
        assert_eq!(out.events.len(), 1, "case {k}");
        assert_eq!(
            out.events[0].picks.len(),
            n,
            "case {k}: every pick belongs to the event"
        );
        assert!(distance_m(out.events[0].pos, src) < 60.0, "case {k}");
    }
}

/// A gun firing again from where it was located: later rounds heard at only four stations
/// carry too little evidence to stand alone (about 23 nats against 30) but are found as
/// repeats of the located place, where only the origin time is searched (17 nats).
#[test]
fn later_rounds_from_a_located_place_are_found_as_repeats() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let src = LatLon::new(48.33, 38.2);
    let mut exact = || 0.0;
    let nearest = |n: usize, picks: Vec<Pick>| {
        let mut v = picks;
        v.sort_by(|a, b| {
            distance_m(st[a.station].pos, src).total_cmp(&distance_m(st[b.station].pos, src))
        });
        v.truncate(n);
        v
    };
    let mut all = nearest(7, picks_for(&st, src, 100.0, &w, &mut exact));
    for k in 1..6 {
        all.extend(nearest(
            4,
            picks_for(&st, src, 100.0 + 20.0 * k as f64, &w, &mut exact),
        ));
    }
    let out = associator(&st, met.clone()).run(all.clone());
    assert_eq!(out.events.len(), 6, "one event per round");
    for e in &out.events {
        assert!(distance_m(e.pos, src) < 30.0);
    }
    // Without repeats (and without later rounds' support for a weak round) only the first
    // round, heard at seven stations, is an event.
    let config = AssocConfig {
        min_repeat_evidence: f64::INFINITY,
        salvo_reach: 0.0,
        ..AssocConfig::acoustic()
    };
    let alone = Associator::new(
        st.clone(),
        Medium::Air { celerity_mps: None },
        met.clone(),
        config,
    )
    .run(all.clone());
    assert_eq!(alone.events.len(), 1);
    // Without repeats but with support, a weak round is an event when a later round at its place
    // (within 30 s) makes up its evidence: every round but the last, which has none after it.
    let config = AssocConfig {
        min_repeat_evidence: f64::INFINITY,
        ..AssocConfig::acoustic()
    };
    let supported =
        Associator::new(st.clone(), Medium::Air { celerity_mps: None }, met, config).run(all);
    let times: Vec<f64> = supported.events.iter().map(|e| e.origin_s).collect();
    assert_eq!(times.len(), 5, "{times:?}");
    assert!(times.iter().all(|t| *t < 190.0), "{times:?}");
}

#[test]
fn two_separate_events_in_one_run() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let a = associator(&st, met);
    let mut noise = gauss(3);
    let mut all = Vec::new();
    for k in 0..3 {
        let src = direct(
            LatLon::new(48.3, 38.15),
            37.0 * k as f64,
            3000.0 + 700.0 * k as f64,
        );
        all.extend(picks_for(
            &st,
            src,
            100.0 + 500.0 * k as f64,
            &w,
            &mut noise,
        ));
    }
    let out = a.run(all);
    assert_eq!(out.events.len(), 3);
    assert!(out.unassociated.is_empty());
}

/// Asserts that `a` makes no event of `picks`, chance picks (at `rate`, for the message), and
/// leaves every one unassociated.
fn no_events_from(a: &Associator, picks: Vec<Pick>, rate: &str) {
    let n = picks.len();
    let out = a.run(picks);
    assert!(
        out.events.is_empty(),
        "{} ghost events from {n} chance picks at {rate}",
        out.events.len()
    );
    assert_eq!(out.unassociated.len(), n);
}

/// Picks arriving by chance, at a rate where every station has one within a tenth of a second
/// of any prediction, must not be assembled into sources: the evidence gate (each pick weighs
/// by how rare a pick near that time is at its station) refuses the ghosts that fitting alone
/// accepts.
#[test]
fn chance_picks_in_a_dense_stream_form_no_events() {
    let st = stations();
    let met = half_hourly(&st, WINDY);
    let a = associator(&st, met);
    let mut u = gauss(23);
    let mut all = Vec::new();
    // Three picks a second at each of the 22 stations for two minutes, at random times.
    for (i, _) in st.iter().enumerate() {
        for k in 0..360 {
            let t = 100.0 + k as f64 / 3.0 + 0.15 * u();
            all.push(chance_pick(i, t, (i * 1000 + k) as u64));
        }
    }
    no_events_from(&a, all, "three a second");
}

/// A ripple of two launchers 150 m apart, a rocket every 0.25 s at each station: with picks
/// stated at 20 ms and a model error of about 20 ms, a pick at such a station is only a few
/// times likelier under "this rocket" than by chance, and no single rocket reaches the evidence
/// threshold (30 nats) that keeps ghosts out of the day scenario. The salvo's rockets together
/// do (one place, many origin times): a first rocket short of the threshold is made up by the
/// later rounds at its place, and those are found as repeats where only the origin time is
/// searched. Every rocket is resolved, at its own launcher.
#[test]
fn a_rocket_salvo_is_resolved_rocket_by_rocket() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let a = associator(&st, met);
    let sigma = 0.05; // times the 20 ms of picks_for: 1 ms picks
    let mut noise = gauss(11);
    let src = direct(LatLon::new(48.3, 38.15), 20.0, 9000.0);
    let src2 = direct(src, 90.0, 150.0);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for k in 0..20 {
        for (s, off) in [(src, 0.0), (src2, 1.3)] {
            let t0 = 100.0 + 0.5 * k as f64 + off;
            truth.push((s, t0));
            let mut n = || sigma * noise();
            all.extend(picks_for(&st, s, t0, &w, &mut n));
        }
    }
    let out = a.run(all);
    let mut errs: Vec<f64> = out
        .events
        .iter()
        .map(|e| {
            truth
                .iter()
                .filter(|(_, t)| (e.origin_s - t).abs() < 0.1)
                .map(|(s, _)| distance_m(e.pos, *s))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    errs.sort_by(f64::total_cmp);
    eprintln!(
        "salvo: {} events for {} rockets; errors {:?}",
        out.events.len(),
        truth.len(),
        &errs
    );
    assert_eq!(out.events.len(), truth.len());
    assert!(errs[errs.len() - 1] < 5.0);
}

/// Honest numbers: over many events with Gaussian pick errors of the stated sigma, the 95 %
/// ellipse holds the truth about 95 % of the time.
#[test]
fn ellipses_hold_the_truth_95_percent_of_the_time() {
    let st = stations();
    let w = WINDY;
    // The met station's wind is off the wind along the paths by 1 m/s per component (the
    // locator's prior), a new error every hour.
    let mut met_noise = gauss(5);
    let reports = (0..60)
        .map(|k| {
            let (we, wn) = w.wind_en();
            let (e, n) = (we + met_noise(), wn + met_noise());
            let reported = Weather {
                temperature_c: w.temperature_c,
                wind_speed_mps: e.hypot(n),
                wind_from_deg: (e.atan2(n).to_degrees() + 180.0).rem_euclid(360.0),
            };
            truce_locate::MetReport {
                pos: st[0].pos,
                time_s: 3601.0 * k as f64,
                weather: reported,
            }
        })
        .collect();
    let met = MetTable::new(reports);
    let a = associator(&st, met);
    let mut noise = gauss(99);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for k in 0..400 {
        let src = direct(
            LatLon::new(48.3, 38.15),
            (k * 47 % 360) as f64,
            1000.0 + (k * 131 % 15_000) as f64,
        );
        let t0 = 500.0 * k as f64;
        truth.push((src, t0));
        // Picks off by their stated 20 ms plus the propagation-model error the locator assumes
        // (0.05 % of the travel time plus 3 ms): the world is never exactly the model.
        for mut p in picks_for(&st, src, t0, &w, &mut || 0.0) {
            let tt = p.time_s - t0;
            let model = 0.0005 * tt + 0.003;
            p.time_s += 0.02 * noise() + model * noise();
            all.push(p);
        }
    }
    let out = a.run(all);
    assert_eq!(out.events.len(), truth.len());
    let mut inside = 0;
    let mut d2sum = 0.0;
    for (e, (src, _)) in out.events.iter().zip(&truth) {
        {
            let f = truce_locate::Frame::new(e.pos);
            let (de, dn) = f.to_en(*src);
            let c = &e.solution.cov;
            let det = c[0][0] * c[1][1] - c[0][1] * c[0][1];
            d2sum += (de * de * c[1][1] - 2.0 * de * dn * c[0][1] + dn * dn * c[0][0]) / det;
        }
        let f = truce_locate::Frame::new(e.pos);
        let (de, dn) = f.to_en(*src);
        let (sa, sb, az) = e.solution.ellipse95;
        let az = az.to_radians();
        let u = de * az.sin() + dn * az.cos();
        let v = de * az.cos() - dn * az.sin();
        if (u / sa).powi(2) + (v / sb).powi(2) <= 1.0 {
            inside += 1;
        }
    }
    let share = inside as f64 / truth.len() as f64;
    eprintln!(
        "ellipse coverage {share:.3} over {} events; mean Mahalanobis d2 {:.2} (2 is honest)",
        truth.len(),
        d2sum / truth.len() as f64
    );
    // Binomial sd at 0.95 over 400 is 0.011: four of them either side.
    assert!((0.90..=0.985).contains(&share), "coverage {share}");
}

/// A hard case like the simulator's: two launchers 100 m apart ripple 30 rockets each at
/// 0.5 s intervals, 2.3 s apart; picks have 40 ms errors, a fifth of them are missed, and the
/// met wind is 0.7 m/s off. Today none of the 60 is found: at two to four picks a second per
/// station each rocket's picks carry 5-13 nats against chance, and the later rounds do not make
/// up the first's shortfall (`salvo_support`); the target is recorded here and left ignored
/// until a search over all the rounds of a place at once meets it.
#[test]
#[ignore = "target not met yet: dense salvos are not resolved (issue 4); run with --ignored"]
fn dense_salvos_are_resolved() {
    let st = stations();
    let w = WINDY;
    let reported = Weather {
        temperature_c: 3.2,
        wind_speed_mps: 5.5,
        wind_from_deg: 258.0,
    };
    let met = MetTable::new(
        (0..100)
            .map(|k| truce_locate::MetReport {
                pos: st[0].pos,
                time_s: 1800.0 * k as f64,
                weather: reported,
            })
            .collect(),
    );
    let a = associator(&st, met);
    let mut noise = gauss(21);
    let mut miss = gauss(22);
    let src = direct(LatLon::new(48.3, 38.15), 0.0, 15000.0);
    let src2 = direct(src, 90.0, 100.0);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for k in 0..30 {
        for (s, off) in [(src, 0.0), (src2, 2.3)] {
            let t0 = 100.0 + 0.5 * k as f64 + off;
            truth.push((s, t0));
            let mut n = || 2.0 * noise(); // 40 ms
            for p in picks_for(&st, s, t0, &w, &mut n) {
                if miss() > -0.84 {
                    all.push(p);
                }
            }
        }
    }
    let n_picks = all.len();
    let out = a.run(all);
    let found = truth
        .iter()
        .filter(|(s, t)| {
            out.events
                .iter()
                .any(|e| (e.origin_s - t).abs() < 0.1 && distance_m(e.pos, *s) < 50.0)
        })
        .count();
    let ghosts = out
        .events
        .iter()
        .filter(|e| {
            !truth
                .iter()
                .any(|(s, t)| (e.origin_s - t).abs() < 0.3 && distance_m(e.pos, *s) < 300.0)
        })
        .count();
    eprintln!(
        "dense salvo: {n_picks} picks, {} events, found {found}/{}, ghosts {ghosts}, unassociated {}",
        out.events.len(),
        truth.len(),
        out.unassociated.len()
    );
    // The target: nearly every rocket heard by enough stations found, few ghosts.
    assert!(
        found * 10 >= truth.len() * 9,
        "found {found} of {}",
        truth.len()
    );
    assert!(ghosts * 20 <= out.events.len(), "{ghosts} ghosts");
}

#[test]
fn exact_back_azimuths_agree_with_exact_times() {
    let st = stations();
    let w = WINDY;
    let met = MetTable::new(vec![truce_locate::MetReport {
        pos: st[0].pos,
        time_s: 0.0,
        weather: w,
    }]);
    let a = associator(&st, met);
    for (az, d) in [(10.0, 2000.0), (0.0, 15_000.0), (200.0, 9_000.0)] {
        let src = direct(LatLon::new(48.3, 38.15), az, d);
        let mut picks = picks_for(&st, src, 100.0, &w, &mut || 0.0);
        for p in picks.iter_mut() {
            let baz = inverse(st[p.station].pos, src)
                .azimuth1_deg
                .rem_euclid(360.0);
            p.back_azimuth = Some((baz, 3.0));
        }
        let out = a.run(picks);
        assert_eq!(out.events.len(), 1);
        let e = &out.events[0];
        assert!(
            distance_m(e.pos, src) < 1.0,
            "{} m off",
            distance_m(e.pos, src)
        );
        assert!(e.solution.chi2 < 1e-4, "chi2 {}", e.solution.chi2);
    }
}

/// Batch runs the oldest picks' searches side by side on all cores, each as if the older ones
/// had found nothing, and keeps them only up to the first that found something. It must give
/// exactly what streaming one pick at a time gives, on any number of cores: a salvo (repeats and
/// rounds made up by later ones), separate events, chance picks and refused picks together.
#[test]
fn batch_on_any_number_of_cores_is_the_stream_exactly() {
    let st = stations();
    let w = WINDY;
    let a = associator(&st, half_hourly(&st, w));
    let mut noise = gauss(5);
    let mut all = Vec::new();
    let src = direct(LatLon::new(48.3, 38.15), 20.0, 9000.0);
    for k in 0..8 {
        for (s, off) in [(src, 0.0), (direct(src, 90.0, 150.0), 1.3)] {
            let mut n = || 0.05 * noise();
            all.extend(picks_for(&st, s, 100.0 + 0.5 * k as f64 + off, &w, &mut n));
        }
    }
    for (k, az) in [30.0, 150.0, 250.0].iter().enumerate() {
        let s = direct(LatLon::new(48.3, 38.2), *az, 6000.0 + 3000.0 * k as f64);
        all.extend(picks_for(&st, s, 104.0 + 7.0 * k as f64, &w, &mut noise));
    }
    let mut u = gauss(9);
    for i in 0..st.len() {
        for k in 0..4 {
            all.push(Pick {
                station: i,
                time_s: 90.0 + 15.0 * k as f64 + 5.0 * u(),
                sigma_s: 0.02,
                phase: Phase::Acoustic,
                back_azimuth: None,
                label: -1.0,
                evidence: (10_000 + i * 100 + k) as u64,
            });
        }
    }
    let mut bad = all[0].clone();
    bad.sigma_s = -1.0;
    all.push(bad);
    let mut stray = all[1].clone();
    stray.station = st.len() + 3;
    all.push(stray);
    let streamed = streamed(&a, &all).0;
    assert!(
        streamed.events.len() >= 10,
        "{} events",
        streamed.events.len()
    );
    assert!(!streamed.unassociated.is_empty());
    assert_eq!(streamed.refused.len(), 2);
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let batch = pool.install(|| a.run(all.clone()));
        assert!(batch == streamed, "batch on {threads} threads differs");
    }
    // The progress told along the way ends at every pick, never goes back, and changes nothing.
    let told = std::sync::Mutex::new(Vec::new());
    let with = a.run_with_progress(all.clone(), &|done, total| {
        told.lock().unwrap().push((done, total));
    });
    assert!(with == streamed);
    let told = told.into_inner().unwrap();
    assert_eq!(told.last(), Some(&(all.len(), all.len())));
    assert!(told.windows(2).all(|w| w[0].0 <= w[1].0));
    // Run until told to stop: never told, the same association; told (here at the first
    // progress), none, and it returns without finishing.
    let never = std::sync::atomic::AtomicBool::new(false);
    assert!(a.run_until(all.clone(), &|_, _| {}, &never) == Some(streamed));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let stopped = a.run_until(
        all.clone(),
        &|_, _| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        },
        &stop,
    );
    assert!(stopped.is_none());
    assert_eq!(
        calls.into_inner(),
        1,
        "stopped at the next round of searches"
    );
}

/// Rounds a radar tracked, heard among chance picks (one every four seconds at every station)
/// with 40 ms picks and a fifth of the picks missing: too little evidence each to be found from
/// scratch. The radar's fix of each (its place 60 m off, its time 50 ms off, as stated) is a
/// place and time to look for it first, where only the small shift of the place and the origin
/// time are fitted: found with the fixes, each near its true place, and streaming finds the
/// same; the same fixes ten seconds late (where no round was) find nothing.
#[test]
fn radar_fixes_find_their_rounds_heard_in_chance_picks() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let mut noise = gauss(31);
    let mut miss = gauss(32);
    let mut uniform = uniform(33);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for k in 0..12 {
        let src = direct(
            LatLon::new(48.3, 38.25),
            30.0 * k as f64,
            4000.0 + 1000.0 * k as f64,
        );
        let t0 = 110.0 + 8.0 * k as f64;
        truth.push((src, t0));
        let mut n = || 2.0 * noise(); // 40 ms
        for mut p in picks_for(&st, src, t0, &w, &mut n) {
            if miss() > -0.84 {
                p.evidence += 1000 * (k as u64 + 1);
                all.push(p);
            }
        }
    }
    for (i, _) in st.iter().enumerate() {
        for k in 0..35 {
            let t = 100.0 + 140.0 * uniform();
            all.push(chance_pick(i, t, (100_000 + i * 1000 + k) as u64));
        }
    }
    let hints = |late_s: f64, sigma_m: f64| -> Vec<Hint> {
        truth
            .iter()
            .enumerate()
            .map(|(k, (src, t0))| Hint {
                pos: direct(*src, 70.0 * k as f64, 60.0),
                time_s: t0 + late_s + if k % 2 == 0 { 0.05 } else { -0.05 },
                sigma_m,
                sigma_s: 0.1,
                label: 10.0,
            })
            .collect()
    };
    let matches = |e: &truce_locate::Located, (s, t): &(LatLon, f64)| {
        (e.origin_s - t).abs() < 0.2 && distance_m(e.pos, *s) < 150.0
    };
    let found = |out: &truce_locate::Association| {
        truth
            .iter()
            .filter(|x| out.events.iter().any(|e| matches(e, x)))
            .count()
    };
    let ghosts = |out: &truce_locate::Association| {
        out.events
            .iter()
            .filter(|e| !truth.iter().any(|x| matches(e, x)))
            .count()
    };
    let with = associator(&st, met.clone())
        .with_hints(hints(0.0, 60.0))
        .run(all.clone());
    let without = associator(&st, met.clone()).run(all.clone());
    let late = associator(&st, met.clone())
        .with_hints(hints(10.0, 60.0))
        .run(all.clone());
    // Fixes known to a kilometre are no place to look (ignored).
    let vague = associator(&st, met.clone())
        .with_hints(hints(0.0, 1000.0))
        .run(all.clone());
    assert!(vague == without, "vague fixes changed the events");
    let hinted = associator(&st, met).with_hints(hints(0.0, 60.0));
    assert!(
        streamed(&hinted, &all).0 == with,
        "streaming differs from batch"
    );
    eprintln!(
        "found {} of {} with the fixes ({} ghosts), {} without ({} ghosts), {} with late fixes ({} ghosts)",
        found(&with),
        truth.len(),
        ghosts(&with),
        found(&without),
        ghosts(&without),
        found(&late),
        ghosts(&late),
    );
    assert!(found(&with) >= 11, "{} found", found(&with));
    assert!(found(&without) <= 3, "{} found without", found(&without));
    assert_eq!(ghosts(&with), 0, "ghosts with the fixes");
    assert_eq!(ghosts(&late) + found(&late), 0, "events from late fixes");
}

/// Chance picks at every station at random times, a tenth to one pick a second (passing
/// vehicles, wind, distant fire): without counting the stations that should have heard a
/// fitted source and heard nothing, six chance picks of 22 stations lined up somewhere every
/// 10 to 30 s and became events.
#[test]
fn uncorrelated_chance_picks_form_no_events() {
    let st = stations();
    let a = associator(&st, half_hourly(&st, WINDY));
    for (seed, rate) in [(41u64, 0.1), (43, 0.25), (42, 0.5), (44, 1.0)] {
        let mut uniform = uniform(seed);
        let duration = 1000.0;
        let mut all = Vec::new();
        for i in 0..st.len() {
            for k in 0..((rate * duration) as usize) {
                let t = 100.0 + duration * uniform();
                all.push(chance_pick(i, t, (i * 10_000 + k) as u64));
            }
        }
        no_events_from(&a, all, &format!("{rate} a second"));
    }
}

/// A ripple a radar tracked: 24 rockets 0.5 s apart from one launcher 15 km outside the network,
/// heard with 40 ms errors and a third of the picks missed, 60 % of the picks labelled
/// detonation (a poor classifier).
/// The radar's fixes (60 m off, 50 ms off) from one place are a salvo the radar saw: its rounds
/// are taken at `min_salvo_round_evidence`, not at the `min_known_evidence` of a lone fix; and a
/// round found from a launch fix is a launch whatever most of its picks say. A fix's picks are
/// gathered as its place's error is fitted away (the stations whose pick is clear first), so
/// even taken as lone fixes the rockets are told apart: with the place's whole error allowed
/// at every station, the next rockets were always in the window and 12 of 24 were found.
#[test]
fn a_tracked_salvo_is_taken_round_by_round_as_launches() {
    let st = stations();
    let w = WINDY;
    let src = direct(LatLon::new(48.3, 38.2), 10.0, 15000.0);
    let mut noise = gauss(51);
    let mut u = uniform(52);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for k in 0..24 {
        let t0 = 100.0 + 0.5 * k as f64;
        truth.push(t0);
        let mut n = || 2.0 * noise();
        for mut p in picks_for(&st, src, t0, &w, &mut n) {
            if u() < 0.35 {
                continue;
            }
            p.sigma_s = 0.04;
            p.label = if u() < 0.6 { -0.9 } else { 0.9 };
            p.evidence += 1000 * (k as u64 + 1);
            all.push(p);
        }
    }
    let hints = |label: f64| -> Vec<Hint> {
        truth
            .iter()
            .enumerate()
            .map(|(k, t0)| Hint {
                pos: direct(src, 70.0 * k as f64, 60.0),
                time_s: t0 + if k % 2 == 0 { 0.05 } else { -0.05 },
                sigma_m: 60.0,
                sigma_s: 0.1,
                label,
            })
            .collect()
    };
    let run = |config: AssocConfig, label: f64| {
        Associator::new(
            st.clone(),
            Medium::Air { celerity_mps: None },
            half_hourly(&st, w),
            config,
        )
        .with_hints(hints(label))
        .run(all.clone())
    };
    let rounds: Vec<(LatLon, f64)> = truth.iter().map(|&t| (src, t)).collect();
    let found = |out: &truce_locate::Association| rounds_found(out, &rounds).0;
    let ghosts = |out: &truce_locate::Association| rounds_found(out, &rounds).1;
    let salvo = run(AssocConfig::acoustic(), 10.0);
    let lone = run(
        AssocConfig {
            min_salvo_round_evidence: AssocConfig::acoustic().min_known_evidence,
            ..AssocConfig::acoustic()
        },
        10.0,
    );
    let unlabelled = run(AssocConfig::acoustic(), 0.0);
    let impacts =
        |out: &truce_locate::Association| out.events.iter().filter(|e| e.label < 0.0).count();
    eprintln!(
        "tracked salvo: {} of {} found as a salvo ({} ghosts, {} as impacts), {} as lone fixes; \
         {} of {} as impacts from fixes of no kind",
        found(&salvo),
        truth.len(),
        ghosts(&salvo),
        impacts(&salvo),
        found(&lone),
        impacts(&unlabelled),
        unlabelled.events.len(),
    );
    assert!(found(&salvo) >= 20, "{} found", found(&salvo));
    assert!(found(&lone) >= 20, "{} found as lone fixes", found(&lone));
    assert_eq!(ghosts(&salvo), 0);
    assert_eq!(ghosts(&lone), 0);
    // Six in ten labels wrong: rounds of no kind come out impacts; the fixes' kind keeps the
    // salvo's launches launches (the place's votes add up over its rounds, so a long run of
    // wrong labels could still tip one).
    assert!(
        impacts(&unlabelled) >= 10 && impacts(&salvo) * 5 <= impacts(&unlabelled),
        "{} impacts with the fixes' kind, {} without",
        impacts(&salvo),
        impacts(&unlabelled)
    );
}

/// A salvo's impacts alone in a quiet hour, every other one tracked by a radar: 24 rockets
/// 0.25 s apart falling over 200 m around a target inside the network, a third of the picks
/// missed, 40 ms errors, labelled detonations; the radar's fixes 60 m off (stated to 60 m and
/// 0.1 s). An untracked rocket's impact is looked for from its tracked neighbours' places in
/// the second pass, against a chance rate over the long window where fire is heard all around
/// (`detonation_round_margin`); here the burst is all there is, and the long window's rate
/// alone let blends of its detonations through: 26, 25 and 25 events of 24 impacts in three of
/// these five salvos. With the floor on that rate, never more events than impacts, and most
/// impacts found (92 of 120, 53 of the 60 untracked; 91 and 53 before session 19).
#[test]
fn a_lone_salvo_s_impacts_are_no_more_events_than_rounds() {
    let st = stations();
    let w = WINDY;
    let target = direct(LatLon::new(48.3, 38.0), 90.0, 24_000.0);
    let (mut found, mut untracked_found) = (0, 0);
    for seed in 0..5u64 {
        let mut noise = gauss(81 + 2 * seed);
        let mut u = uniform(82 + 2 * seed);
        let mut all = Vec::new();
        let mut rounds = Vec::new();
        let mut untracked = Vec::new();
        let mut hints = Vec::new();
        for k in 0..24 {
            let t0 = 100.0 + 0.25 * k as f64;
            let src = direct(target, 360.0 * u(), 200.0 * u().sqrt());
            rounds.push((src, t0));
            if k % 2 == 0 {
                hints.push(Hint {
                    pos: direct(src, 70.0 * k as f64, 60.0),
                    time_s: t0 + 0.05,
                    sigma_m: 60.0,
                    sigma_s: 0.1,
                    label: -10.0,
                });
            } else {
                untracked.push((src, t0));
            }
            for mut p in heard(&st, src, t0, &w, &mut noise, &mut u, k as u64 + 1) {
                p.label = -0.9;
                all.push(p);
            }
        }
        let a = associator(&st, half_hourly(&st, w)).with_hints(hints);
        let out = a.run(all.clone());
        if seed == 0 {
            assert!(streamed(&a, &all).0 == out, "streaming differs from batch");
        }
        assert!(
            out.events.len() <= rounds.len(),
            "salvo {seed}: {} events of {} impacts",
            out.events.len(),
            rounds.len()
        );
        assert!(
            out.events.iter().all(|e| e.label < 0.0),
            "a launch among impacts"
        );
        found += rounds_found(&out, &rounds).0;
        untracked_found += rounds_found(&out, &untracked).0;
    }
    eprintln!("lone salvos' impacts: {found} of 120 found, {untracked_found} of the 60 untracked");
    assert!(found >= 85, "{found} of 120 found");
    assert!(
        untracked_found >= 45,
        "{untracked_found} of 60 untracked found"
    );
}

/// No radar: two salvos of 24 rockets at 0.5 s from launchers 8 and 12 km outside the
/// network, minutes apart, a third of the picks missed, 40 ms errors. Each rocket's picks come
/// among its neighbours' at about two a second per station. Today 20 of the 48 are found
/// (a first round made up by later rounds from its place, then rounds from the salvo's place)
/// and nothing else; looking for the first round among the picks that start each station's
/// burst found 22 with 10 ghosts (decision record, session 9). Fails if ghosts appear or
/// fewer rounds are found.
#[test]
fn an_untracked_salvo_is_found_without_ghosts() {
    let st = stations();
    let w = WINDY;
    let mut noise = gauss(61);
    let mut u = uniform(62);
    let mut all = Vec::new();
    let mut truth = Vec::new();
    for (src, start) in [
        (direct(LatLon::new(48.3, 38.1), 0.0, 14000.0), 100.0),
        (direct(LatLon::new(48.3, 38.4), 180.0, 18000.0), 400.0),
    ] {
        for k in 0..24 {
            let t0 = start + 0.5 * k as f64;
            truth.push((src, t0));
            all.extend(heard(
                &st,
                src,
                t0,
                &w,
                &mut noise,
                &mut u,
                truth.len() as u64,
            ));
        }
    }
    all.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    let out = associator(&st, half_hourly(&st, w)).run(all);
    let (found, ghosts) = rounds_found(&out, &truth);
    eprintln!(
        "untracked salvos: found {found} of {}, ghosts {ghosts}",
        truth.len()
    );
    assert!(found >= 20, "found {found} of {}", truth.len());
    assert_eq!(ghosts, 0, "{ghosts} ghosts");
}

/// The picks of one round of a salvo from `src` at `t0`: 40 ms errors (twice `noise`'s), about
/// a third missed (`u`), numbered on from 1000 times `tag`.
fn heard(
    st: &[Station],
    src: LatLon,
    t0: f64,
    w: &Weather,
    noise: &mut impl FnMut() -> f64,
    u: &mut impl FnMut() -> f64,
    tag: u64,
) -> Vec<Pick> {
    let mut n = || 2.0 * noise();
    let mut out = Vec::new();
    for mut p in picks_for(st, src, t0, w, &mut n) {
        if u() < 0.35 {
            continue;
        }
        p.sigma_s = 0.04;
        p.evidence += 1000 * tag;
        out.push(p);
    }
    out
}

/// Rounds of a salvo found, and events that are none of them: each event takes the untaken
/// round (place, origin time) nearest in time within a quarter second (half a ripple's
/// interval; outside the network a round's origin time errs by a tenth of a second or two
/// along with its range) whose place is within 300 m.
fn rounds_found(out: &truce_locate::Association, rounds: &[(LatLon, f64)]) -> (usize, usize) {
    let mut taken = vec![false; rounds.len()];
    let mut ghosts = 0;
    for e in &out.events {
        let best = rounds
            .iter()
            .enumerate()
            .filter(|&(k, (s, t))| {
                !taken[k] && (e.origin_s - t).abs() < 0.25 && distance_m(e.pos, *s) < 300.0
            })
            .min_by(|a, b| {
                (e.origin_s - a.1.1)
                    .abs()
                    .total_cmp(&(e.origin_s - b.1.1).abs())
            });
        match best {
            Some((k, _)) => taken[k] = true,
            None => ghosts += 1,
        }
    }
    (taken.iter().filter(|&&t| t).count(), ghosts)
}

/// How the two-pass tests make a salvo: picks with 40 ms errors, a fifth missed, numbered on
/// from `next`.
struct Salvo<'a, N: FnMut() -> f64, U: FnMut() -> f64> {
    st: &'a [Station],
    w: &'a Weather,
    noise: &'a mut N,
    u: &'a mut U,
    next: &'a mut u64,
}

impl<N: FnMut() -> f64, U: FnMut() -> f64> Salvo<'_, N, U> {
    /// Rockets from `src` at `times`, every other one tracked (a fix `off_m` off, 30 ms late,
    /// stated to 60 m and 0.1 s): their picks into `picks`, the fixes into `hints`, the
    /// untracked rockets into `untracked`.
    fn partly_tracked(
        &mut self,
        src: LatLon,
        times: &[f64],
        off_m: f64,
        picks: &mut Vec<Pick>,
        hints: &mut Vec<Hint>,
        untracked: &mut Vec<(LatLon, f64)>,
    ) {
        for (k, &t0) in times.iter().enumerate() {
            if k % 2 == 0 {
                hints.push(Hint {
                    pos: direct(src, 70.0 * k as f64, off_m),
                    time_s: t0 + 0.03,
                    sigma_m: 60.0,
                    sigma_s: 0.1,
                    label: 10.0,
                });
            } else {
                untracked.push((src, t0));
            }
            let noise = &mut *self.noise;
            let mut e = || 2.0 * noise();
            for mut p in picks_for(self.st, src, t0, self.w, &mut e) {
                if (self.u)() < 0.2 {
                    continue;
                }
                *self.next += 1;
                p.sigma_s = 0.04;
                p.evidence = *self.next;
                picks.push(p);
            }
        }
    }
}

/// With hints the association runs in two passes (the hints' places first, then the picks
/// they left, searched in full), the second fed by the first as each pick the first left is
/// decided for good: over twenty minutes, many look-back windows, of salvos from three places
/// (half their rockets tracked) among chance picks, streaming gives the batch's association
/// exactly, on any number of cores, holding only a few windows of picks; and the untracked
/// rockets are found in the second pass from the tracked ones' place.
#[test]
fn two_passes_stream_as_they_batch() {
    let st = stations();
    let w = WINDY;
    let met = half_hourly(&st, w);
    let mut noise = gauss(71);
    let mut u = uniform(72);
    let places = [
        direct(LatLon::new(48.3, 38.2), 10.0, 15000.0),
        direct(LatLon::new(48.3, 38.1), 0.0, 14000.0),
        direct(LatLon::new(48.3, 38.4), 180.0, 18000.0),
    ];
    let mut all = Vec::new();
    let mut rounds = Vec::new();
    let mut hints = Vec::new();
    let mut untracked = Vec::new();
    let mut next = 0;
    for m in 0..20 {
        let src = places[m % 3];
        let times: Vec<f64> = (0..6)
            .map(|k| 100.0 + 60.0 * m as f64 + 0.6 * k as f64)
            .collect();
        rounds.extend(times.iter().map(|&t| (src, t)));
        let mut salvo = Salvo {
            st: &st,
            w: &w,
            noise: &mut noise,
            u: &mut u,
            next: &mut next,
        };
        salvo.partly_tracked(src, &times, 50.0, &mut all, &mut hints, &mut untracked);
    }
    for i in 0..st.len() {
        for k in 0..120 {
            all.push(chance_pick(
                i,
                100.0 + 1200.0 * u(),
                (1_000_000 + i * 1000 + k) as u64,
            ));
        }
    }
    let a = associator(&st, met).with_hints(hints);
    let batch = a.run(all.clone());
    let (streamed, most) = streamed(&a, &all);
    assert!(streamed == batch, "streaming differs from batch");
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert!(
            pool.install(|| a.run(all.clone())) == batch,
            "batch on {threads} threads differs"
        );
    }
    // The window is about 140 s; the picks span 1,200.
    assert!(
        most * 2 < all.len(),
        "held {most} of {} picks at once",
        all.len()
    );
    let (found, ghosts) = rounds_found(&batch, &rounds);
    let (untracked_found, _) = rounds_found(&batch, &untracked);
    // Events with no round within a second and 500 m: chance picks lined up at a salvo's
    // place (the rest of `ghosts` are rounds found 250-300 m or 0.25-0.3 s off, rockets being
    // 0.6 s apart).
    let far = batch
        .events
        .iter()
        .filter(|e| {
            !rounds
                .iter()
                .any(|(s, t)| (e.origin_s - t).abs() < 1.0 && distance_m(e.pos, *s) < 500.0)
        })
        .count();
    eprintln!(
        "two passes: {found} of {} rounds found, {untracked_found} of {} untracked, {ghosts} ghosts; \
         {far} far from any; at most {most} of {} picks held",
        rounds.len(),
        untracked.len(),
        all.len()
    );
    assert!(found * 10 >= rounds.len() * 8, "{found} found");
    assert!(
        untracked_found * 10 >= untracked.len() * 7,
        "{untracked_found} untracked found"
    );
    // A later round from a salvo the first pass found must carry evidence where it is located
    // freely (session 19): 13 ghosts and 1 far from any round, against 18 and 6 before.
    assert!(ghosts * 8 <= rounds.len(), "{ghosts} ghosts");
    assert!(far <= 3, "{far} events far from any round");
    // Every pick is accounted for once: in an event, left, or refused.
    let in_events: usize = batch.events.iter().map(|e| e.picks.len()).sum();
    assert_eq!(
        in_events + batch.unassociated.len() + batch.refused.len(),
        all.len()
    );
}

/// The second pass may wait long for its next pick: a partly tracked salvo (rockets 2 s apart,
/// too far from the fixes' times to be taken in the first pass), then half an hour of tracked
/// rounds elsewhere whose picks the first pass takes every one of. The salvo's untracked
/// rockets are searched only at the end, from the tracked ones' place, which the stream must
/// still remember then (it forgot it once: streaming differed from batch).
#[test]
fn the_second_pass_remembers_while_the_first_leaves_it_nothing() {
    let st = stations();
    let w = WINDY;
    let mut noise = gauss(81);
    let mut u = uniform(82);
    let salvo = direct(LatLon::new(48.3, 38.2), 10.0, 15000.0);
    let other = direct(LatLon::new(48.3, 38.1), 0.0, 14000.0);
    let mut all = Vec::new();
    let mut hints = Vec::new();
    let mut untracked = Vec::new();
    let mut n = 0u64;
    let times: Vec<f64> = (0..8).map(|k| 100.0 + 2.0 * k as f64).collect();
    Salvo {
        st: &st,
        w: &w,
        noise: &mut noise,
        u: &mut u,
        next: &mut n,
    }
    .partly_tracked(salvo, &times, 40.0, &mut all, &mut hints, &mut untracked);
    for k in 0..200 {
        let t0 = 300.0 + 10.0 * k as f64;
        hints.push(Hint {
            pos: other,
            time_s: t0,
            sigma_m: 30.0,
            sigma_s: 0.05,
            label: 10.0,
        });
        let mut e = || 0.5 * noise();
        for mut p in picks_for(&st, other, t0, &w, &mut e) {
            n += 1;
            p.evidence = n;
            all.push(p);
        }
    }
    let a = associator(&st, half_hourly(&st, w)).with_hints(hints);
    let batch = a.run(all.clone());
    assert!(
        streamed(&a, &all).0 == batch,
        "streaming differs from batch"
    );
    let (found, _) = rounds_found(&batch, &untracked);
    assert!(found >= 2, "{found} of the salvo's untracked rockets found");
}
