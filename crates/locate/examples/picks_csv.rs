//! Truce's side of the peer benchmark (`bench/peers.sh`): associate, or locate pre-grouped,
//! picks given as neutral CSV files, the same files the Python peers read.
//!
//! ```text
//! picks_csv associate|locate MEDIUM STATIONS.csv PICKS.csv [MET.csv] > EVENTS.csv
//!   MEDIUM     air | infrasound | solid:VP:VS (m/s)
//!   STATIONS   id,lat,lon,alt_m               (row order = station index)
//!   PICKS      station,time_s,sigma_s,phase,baz_deg,baz_sigma_deg,group   (phase A, P or S;
//!              baz empty when absent; group = true source id for `locate`, ignored otherwise)
//!   MET        lat,lon,time_s,temperature_c,wind_speed_mps,wind_from_deg
//! ```
//! Prints one CSV row per event (`group,time_s,lat,lon,depth_m,picks,pick_ids`) and, on
//! standard error, a line `seconds=… picks=… events=…` timing association or location only
//! (not the reading of files).

use std::error::Error;
use std::io::Write;

use truce_geo::LatLon;
use truce_locate::locator::{Setting, locate};
use truce_locate::{
    AssocConfig, Associator, Frame, Medium, MetReport, MetTable, Phase, Pick, Station, Weather,
};

type Res<T> = Result<T, Box<dyn Error>>;

fn rows(path: &str) -> Res<Vec<Vec<String>>> {
    let mut r = csv::Reader::from_path(path)?;
    let mut out = Vec::new();
    for rec in r.records() {
        out.push(rec?.iter().map(str::to_string).collect());
    }
    Ok(out)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err(
            "usage: picks_csv associate|locate MEDIUM STATIONS.csv PICKS.csv [MET.csv]".into(),
        );
    }
    let (medium, config) = match args[1].as_str() {
        "air" => (Medium::Air { celerity_mps: None }, AssocConfig::acoustic()),
        "infrasound" => (
            Medium::Air {
                celerity_mps: Some(300.0),
            },
            AssocConfig::infrasound(),
        ),
        s if s.starts_with("solid:") => {
            let v: Vec<f64> = s[6..]
                .split(':')
                .map(str::parse)
                .collect::<Result<_, _>>()?;
            let [vp, vs] = v[..] else {
                return Err("solid:VP:VS".into());
            };
            (
                Medium::Solid {
                    vp_mps: vp,
                    vs_mps: vs,
                },
                AssocConfig::seismic(),
            )
        }
        m => return Err(format!("unknown medium {m}").into()),
    };
    let stations: Vec<Station> = rows(&args[2])?
        .into_iter()
        .map(|r| -> Res<Station> {
            Ok(Station {
                id: r[0].clone(),
                owner: String::new(),
                pos: LatLon::new(r[1].parse()?, r[2].parse()?),
                alt_m: r[3].parse()?,
            })
        })
        .collect::<Res<_>>()?;
    let mut groups = Vec::new();
    let picks: Vec<Pick> = rows(&args[3])?
        .into_iter()
        .enumerate()
        .map(|(i, r)| -> Res<Pick> {
            groups.push(r[6].clone());
            Ok(Pick {
                station: r[0].parse()?,
                time_s: r[1].parse()?,
                sigma_s: r[2].parse()?,
                phase: match r[3].as_str() {
                    "P" => Phase::P,
                    "S" => Phase::S,
                    _ => Phase::Acoustic,
                },
                back_azimuth: if r[4].is_empty() {
                    None
                } else {
                    Some((r[4].parse()?, r[5].parse()?))
                },
                label: 0.0,
                evidence: i as u64,
            })
        })
        .collect::<Res<_>>()?;
    let met = match args.get(4) {
        Some(p) => MetTable::new(
            rows(p)?
                .into_iter()
                .map(|r| -> Res<MetReport> {
                    Ok(MetReport {
                        pos: LatLon::new(r[0].parse()?, r[1].parse()?),
                        time_s: r[2].parse()?,
                        weather: Weather {
                            temperature_c: r[3].parse()?,
                            wind_speed_mps: r[4].parse()?,
                            wind_from_deg: r[5].parse()?,
                        },
                    })
                })
                .collect::<Res<_>>()?,
        ),
        None => MetTable::new(Vec::new()),
    };
    let n = picks.len();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "group,time_s,lat,lon,depth_m,picks,pick_ids")?;
    let started = std::time::Instant::now();
    let mut lines = Vec::new();
    if args[0] == "associate" {
        let assoc = Associator::new(stations, medium, met, config);
        let result = assoc.run(picks);
        for e in &result.events {
            lines.push((
                String::new(),
                e.origin_s,
                e.pos,
                e.depth_m,
                pick_ids(&e.picks),
            ));
        }
    } else {
        // Locate each true group from its earliest station, as the peer does.
        let mut by_group: std::collections::BTreeMap<&str, Vec<&Pick>> = Default::default();
        for (p, g) in picks.iter().zip(&groups) {
            by_group.entry(g.as_str()).or_default().push(p);
        }
        for (g, mut ps) in by_group {
            // Noise picks have no group; sources heard at fewer than 4 stations are not
            // located by either side.
            let mut heard: Vec<usize> = ps.iter().map(|p| p.station).collect();
            heard.sort_unstable();
            heard.dedup();
            if g.is_empty() || heard.len() < 4 {
                continue;
            }
            ps.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
            let first = ps[0];
            let frame = Frame::new(stations[first.station].pos);
            let weather = met.at(frame.origin, first.time_s);
            let setting = Setting::new(&stations, &medium, weather, config.locator);
            let depth0 = if medium.free_depth() { 5_000.0 } else { 0.0 };
            let start = [0.0, 0.0, depth0, first.time_s - 1.0];
            if let Some(sol) = locate(&setting, &frame, &ps, start, true, 3) {
                let owned: Vec<Pick> = ps.iter().map(|p| (*p).clone()).collect();
                lines.push((
                    g.to_string(),
                    sol.x[3],
                    frame.to_latlon(sol.x[0], sol.x[1]),
                    sol.x[2],
                    pick_ids(&owned),
                ));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    for (g, t, pos, depth, ids) in &lines {
        writeln!(
            out,
            "{g},{t:.4},{:.6},{:.6},{depth:.0},{},{ids}",
            pos.lat_deg,
            pos.lon_deg,
            ids.split(' ').count()
        )?;
    }
    out.flush()?;
    eprintln!("seconds={secs:.4} picks={n} events={}", lines.len());
    Ok(())
}

fn pick_ids(picks: &[Pick]) -> String {
    picks
        .iter()
        .map(|p| p.evidence.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
