//! Real data: the associator and locator on picks that no simulator of ours produced.
//!
//! - Central Italy 2016 (REAL worked example): 20,536 real P and S picks of 659 catalogued
//!   aftershocks at 60 stations, pooled and unlabelled by event; we associate and locate them in
//!   a constant-velocity Earth with free depth and compare with the catalogue.
//! - Infrasound (LANL infrapy examples): array detections (time and back azimuth) hundreds of km
//!   from the Utah 2004 explosion (4 detections of it, 6 unrelated) and from HRR-5 (5 detections).
//!
//! The files live in `../shared/data`; each test skips with a message where they are absent.
//! Run with `cargo test -p truce-locate --release --test real_data -- --nocapture` to see the
//! figures.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use truce_geo::{LatLon, distance_m};
use truce_locate::{AssocConfig, Associator, Medium, MetTable, Phase, Pick, Station};

fn data(dir: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(dir);
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

struct Quake {
    id: u32,
    t: f64,
    pos: LatLon,
}

/// Stations, the pooled picks and the catalogue of the Central Italy example.
fn central_italy(dir: &std::path::Path) -> (Vec<Station>, Vec<Pick>, Vec<Quake>) {
    let mut stations = Vec::new();
    let mut index = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("station.dat"))
        .unwrap()
        .lines()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let id = format!("{}.{}", f[2], f[3]);
        index.insert(id.clone(), stations.len());
        stations.push(Station {
            id,
            owner: f[2].to_string(),
            pos: LatLon::new(f[1].parse().unwrap(), f[0].parse().unwrap()),
            alt_m: f[5].parse::<f64>().unwrap() * 1000.0,
        });
    }
    let mut picks = Vec::new();
    let mut quakes = Vec::new();
    for line in std::fs::read_to_string(dir.join("real_phase_sel.txt"))
        .unwrap()
        .lines()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 16 {
            quakes.push(Quake {
                id: f[0].parse().unwrap(),
                t: f[5].parse().unwrap(),
                pos: LatLon::new(f[7].parse().unwrap(), f[8].parse().unwrap()),
            });
        } else if f.len() == 9 {
            let Some(&station) = index.get(&format!("{}.{}", f[0], f[1])) else {
                continue;
            };
            let phase = if f[2] == "S" { Phase::S } else { Phase::P };
            picks.push(Pick {
                station,
                time_s: f[3].parse().unwrap(),
                // Typical STA/LTA pick errors: 0.1 s for P, 0.2 s for S.
                sigma_s: if phase == Phase::S { 0.2 } else { 0.1 },
                phase,
                back_azimuth: None,
                label: 0.0,
                evidence: picks.len() as u64,
            });
        }
    }
    (stations, picks, quakes)
}

#[test]
fn central_italy_aftershocks_are_associated_and_located() {
    let Some(dir) = data("seismic-picks-central-italy-2016") else {
        return;
    };
    let (stations, picks, quakes) = central_italy(&dir);
    assert_eq!(picks.len(), 20_536);
    assert_eq!(quakes.len(), 659);
    let (out, secs) = associate_quakes(stations, picks);
    let score = score(&out.events, &quakes);
    let relocated = hypodd(&dir);
    let mut vs_hypodd: Vec<f64> = score
        .pairs
        .iter()
        .filter_map(|&(q, e)| {
            relocated
                .get(&quakes[q].id)
                .map(|p| distance_m(*p, out.events[e].pos))
        })
        .collect();
    vs_hypodd.sort_by(f64::total_cmp);
    let median_hypodd_km = vs_hypodd[vs_hypodd.len() / 2] / 1000.0;
    println!(
        "Central Italy, catalogue picks: {} events from 20,536 picks in {secs:.2} s ({:.0} picks/s); catalogue matched {:.3}, extra {:.3}, median epicentre offset {:.2} km (vs hypoDD relocations {median_hypodd_km:.2} km over {}); unassociated picks {}",
        out.events.len(),
        20_536.0 / secs,
        score.matched,
        score.extra,
        score.median_km,
        vs_hypodd.len(),
        out.unassociated.len()
    );
    assert!(score.matched >= 0.90, "matched {:.3}", score.matched);
    assert!(score.extra <= 0.05, "extra {:.3}", score.extra);
    assert!(
        score.median_km <= 1.5,
        "median offset {:.2} km",
        score.median_km
    );
    assert!(
        median_hypodd_km <= 1.5,
        "median offset to hypoDD {median_hypodd_km:.2} km"
    );
}

/// Associate and locate Central Italy picks (constant-velocity Earth from the VELEST model's
/// crust: vp 5.9 km/s, vs 3.35 km/s); the result and the seconds it took.
fn associate_quakes(stations: Vec<Station>, picks: Vec<Pick>) -> (truce_locate::Association, f64) {
    let assoc = Associator::new(
        stations,
        Medium::Solid {
            vp_mps: 5_900.0,
            vs_mps: 3_350.0,
        },
        MetTable::new(Vec::new()),
        AssocConfig::seismic(),
    );
    let t = std::time::Instant::now();
    let out = assoc.run(picks);
    (out, t.elapsed().as_secs_f64())
}

struct Score {
    matched: f64,
    extra: f64,
    median_km: f64,
    /// (quake index, event index).
    pairs: Vec<(usize, usize)>,
}

/// One-to-one matching of events to the catalogue, greedily in catalogue order: the nearest
/// unused event within 3 s and 5 km.
fn score(events: &[truce_locate::Located], quakes: &[Quake]) -> Score {
    let mut used = vec![false; events.len()];
    let mut offsets = Vec::new();
    let mut pairs = Vec::new();
    for (qi, q) in quakes.iter().enumerate() {
        let best = events
            .iter()
            .enumerate()
            .filter(|(i, e)| !used[*i] && (e.origin_s - q.t).abs() <= 3.0)
            .map(|(i, e)| (i, distance_m(e.pos, q.pos)))
            .filter(|(_, d)| *d <= 5_000.0)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, d)) = best {
            used[i] = true;
            offsets.push(d);
            pairs.push((qi, i));
        }
    }
    offsets.sort_by(f64::total_cmp);
    Score {
        matched: offsets.len() as f64 / quakes.len() as f64,
        extra: used.iter().filter(|u| !**u).count() as f64 / events.len().max(1) as f64,
        median_km: offsets.get(offsets.len() / 2).copied().unwrap_or(f64::NAN) / 1000.0,
        pairs,
    }
}

/// hypoDD relocations by REAL event number.
fn hypodd(dir: &std::path::Path) -> BTreeMap<u32, LatLon> {
    std::fs::read_to_string(dir.join("hypoDD.reloc"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                LatLon::new(f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?),
            ))
        })
        .collect()
}

/// The raw STA/LTA picks of the whole day, before any association: about four times as many
/// picks as the catalogue uses, most of them noise or from events too small to catalogue.
#[test]
fn central_italy_raw_day_of_picks() {
    let Some(dir) = data("seismic-picks-central-italy-2016") else {
        return;
    };
    let (stations, _, quakes) = central_italy(&dir);
    let index: BTreeMap<String, usize> = stations
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let file = std::fs::File::open(dir.join("stalta_picks_20161014.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut picks = Vec::new();
    for k in 0..zip.len() {
        let mut f = zip.by_index(k).unwrap();
        let name = f.name().rsplit('/').next().unwrap_or_default().to_string();
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() != 4 {
            continue;
        }
        let Some(&station) = index.get(&format!("{}.{}", parts[0], parts[1])) else {
            continue;
        };
        let phase = if parts[2] == "S" { Phase::S } else { Phase::P };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        for line in text.lines() {
            let Some(t) = line.split_whitespace().next().and_then(|v| v.parse().ok()) else {
                continue;
            };
            picks.push(Pick {
                station,
                time_s: t,
                sigma_s: if phase == Phase::S { 0.2 } else { 0.1 },
                phase,
                back_azimuth: None,
                label: 0.0,
                evidence: picks.len() as u64,
            });
        }
    }
    let n = picks.len();
    assert!(n > 80_000, "{n} raw picks");
    let (out, secs) = associate_quakes(stations, picks);
    let s = score(&out.events, &quakes);
    // REAL's catalogue keeps events with at least 15 P and S picks; judged by the same rule:
    let big: Vec<truce_locate::Located> = out
        .events
        .iter()
        .filter(|e| e.picks.len() >= 15)
        .cloned()
        .collect();
    let sb = score(&big, &quakes);
    println!(
        "Central Italy, raw picks, events with >= 15 picks (the catalogue's rule): {}; catalogue matched {:.3}, not in catalogue {:.3}",
        big.len(),
        sb.matched,
        sb.extra
    );
    println!(
        "Central Italy, raw STA/LTA picks: {} events from {n} picks in {secs:.2} s ({:.0} picks/s); catalogue matched {:.3}, not in catalogue {:.3}, median epicentre offset {:.2} km; unassociated picks {}",
        out.events.len(),
        n as f64 / secs,
        s.matched,
        s.extra,
        s.median_km,
        out.unassociated.len()
    );
    // The catalogue was built from these raw picks by REAL, so nearly every catalogued event
    // must be found again; events beyond the catalogue are expected (REAL kept only events with
    // enough picks and a small station gap) and are reported, not bounded.
    assert!(s.matched >= 0.90, "matched {:.3}", s.matched);
    assert!(s.median_km <= 1.5, "median offset {:.2} km", s.median_km);
}

/// Array detections of one infrapy example file: stations (one per array) and picks.
fn detections(path: &std::path::Path) -> (Vec<Station>, Vec<Pick>) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut stations: Vec<Station> = Vec::new();
    let mut picks = Vec::new();
    for d in v.as_array().unwrap() {
        let pos = LatLon::new(
            d["Latitude"].as_f64().unwrap(),
            d["Longitude"].as_f64().unwrap(),
        );
        let station = match stations.iter().position(|s| distance_m(s.pos, pos) < 1.0) {
            Some(i) => i,
            None => {
                stations.push(Station {
                    id: format!("A{}", stations.len()),
                    owner: "array".into(),
                    pos,
                    alt_m: 0.0,
                });
                stations.len() - 1
            }
        };
        let time = d["Peak F-Stat Time (UTC)"]
            .as_str()
            .or(d["Time (UTC)"].as_str())
            .unwrap();
        let t = truce_model::UtcNanos::parse(&format!("{time}Z")).unwrap();
        picks.push(Pick {
            station,
            time_s: t.as_secs_f64(),
            // The detection's peak: within a 10 s window.
            sigma_s: 10.0,
            phase: Phase::Acoustic,
            // Array back azimuths from 4-element arrays: a few degrees.
            back_azimuth: Some((d["Back Azimuth"].as_f64().unwrap().rem_euclid(360.0), 3.0)),
            label: 0.0,
            evidence: picks.len() as u64,
        });
    }
    (stations, picks)
}

/// Associate and locate one file's detections; print every event against the known source.
fn infrasound_events(
    name: &str,
    path: &std::path::Path,
    truth: LatLon,
) -> truce_locate::Association {
    let (stations, picks) = detections(path);
    let out = Associator::new(
        stations,
        Medium::Air {
            celerity_mps: Some(300.0),
        },
        MetTable::new(Vec::new()),
        AssocConfig::infrasound(),
    )
    .run(picks);
    for e in &out.events {
        println!(
            "{name}: event at {:.3} {:.3}, {:.0} km from the explosion, detections {:?}; ellipse semi-axes {:.0} / {:.0} km",
            e.pos.lat_deg,
            e.pos.lon_deg,
            distance_m(e.pos, truth) / 1000.0,
            e.picks.iter().map(|p| p.evidence).collect::<Vec<_>>(),
            e.solution.ellipse95.0 / 1000.0,
            e.solution.ellipse95.1 / 1000.0,
        );
    }
    out
}

#[test]
fn utah_2004_detections_form_one_event_at_the_explosion() {
    let Some(dir) = data("infrasound-infrapy-examples") else {
        return;
    };
    let truth = LatLon::new(41.131, -112.896);
    let out = infrasound_events(
        "Utah 2004",
        &dir.join("detections/example1.dets.json"),
        truth,
    );
    assert_eq!(out.events.len(), 1, "exactly one event");
    let e = &out.events[0];
    let mut ids: Vec<u64> = e.picks.iter().map(|p| p.evidence).collect();
    ids.sort_unstable();
    // The first four detections are of the explosion; the other six are unrelated.
    assert_eq!(ids, vec![0, 1, 2, 3]);
    assert!(distance_m(e.pos, truth) < 50_000.0);
    assert!(
        inside_ellipse(e, truth),
        "the 95 % ellipse misses the explosion"
    );
}

#[test]
fn hrr5_detections_form_one_event_at_the_explosion() {
    let Some(dir) = data("infrasound-infrapy-examples") else {
        return;
    };
    let truth = LatLon::new(33.5377, -106.333961);
    let out = infrasound_events("HRR-5", &dir.join("detections/HRR-5.dets.json"), truth);
    assert_eq!(out.events.len(), 1, "exactly one event");
    assert_eq!(out.events[0].picks.len(), 5);
    assert!(distance_m(out.events[0].pos, truth) < 50_000.0);
    assert!(
        inside_ellipse(&out.events[0], truth),
        "the 95 % ellipse misses the explosion"
    );
}

/// Whether `p` lies inside the event's 95 % ellipse.
fn inside_ellipse(e: &truce_locate::Located, p: LatLon) -> bool {
    let inv = truce_geo::inverse(e.pos, p);
    let (a, b, az) = e.solution.ellipse95;
    let th = (inv.azimuth1_deg - az).to_radians();
    let (u, v) = (inv.distance_m * th.cos(), inv.distance_m * th.sin());
    (u / a).powi(2) + (v / b).powi(2) <= 1.0
}
