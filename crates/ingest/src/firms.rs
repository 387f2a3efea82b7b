//! NASA FIRMS active-fire CSV as signed `thermal_anomaly` observations (FORMATS section 2).
//!
//! Reads the CSV exactly as FIRMS serves it: MODIS and VIIRS column variants (`brightness` or
//! `bright_ti4`, `bright_t31` or `bright_ti5`), `acq_time` as HHMM with or without zero padding,
//! `l`/`n`/`h` or numeric confidence, and the reduced archives with only LATITUDE, LONGITUDE and
//! ACQ_DATE. Header names are case-insensitive; unknown columns are ignored. A row that cannot
//! be read becomes a quarantine record with its line number, never a silent drop. The `csv`
//! crate splits the fields; the FIRMS semantics are written here because no crate knows them.

use ed25519_dalek::SigningKey;
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use truce_model::UtcNanos;

use crate::{Reason, jws};

/// Why a FIRMS file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FirmsError {
    /// The header lacks latitude, longitude or acq_date: not a FIRMS CSV.
    #[error(
        "not a FIRMS CSV: the header must name latitude, longitude and acq_date (found {found:?})"
    )]
    Header {
        /// The first line as read.
        found: String,
    },
}

/// One row turned into a payload body, or why it could not be.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A thermal anomaly: time and the payload's fields after `time` (JSON object members).
    Anomaly {
        /// 1-based line number in the file.
        line: u64,
        /// Acquisition time.
        time: UtcNanos,
        /// Payload members (kind, lat, lon and what the row has).
        body: Map<String, Value>,
    },
    /// A row that cannot be read.
    Bad {
        /// 1-based line number.
        line: u64,
        /// Reason code.
        reason: Reason,
        /// What is wrong.
        message: String,
        /// The row's raw bytes.
        raw: Vec<u8>,
    },
}

#[derive(Default)]
struct Columns {
    lat: Option<usize>,
    lon: Option<usize>,
    date: Option<usize>,
    time: Option<usize>,
    brightness: Option<usize>,
    scan: Option<usize>,
    track: Option<usize>,
    satellite: Option<usize>,
    instrument: Option<usize>,
    confidence: Option<usize>,
    frp: Option<usize>,
    daynight: Option<usize>,
}

/// Parse a FIRMS CSV file into rows.
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>, FirmsError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = rdr.byte_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        _ => {
            return Err(FirmsError::Header {
                found: String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned(),
            });
        }
    };
    let mut c = Columns::default();
    for (i, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        let slot = match name.as_str() {
            "latitude" => &mut c.lat,
            "longitude" => &mut c.lon,
            "acq_date" => &mut c.date,
            "acq_time" => &mut c.time,
            "brightness" | "bright_ti4" => &mut c.brightness,
            "scan" => &mut c.scan,
            "track" => &mut c.track,
            "satellite" => &mut c.satellite,
            "instrument" => &mut c.instrument,
            "confidence" => &mut c.confidence,
            "frp" => &mut c.frp,
            "daynight" => &mut c.daynight,
            _ => continue,
        };
        *slot = Some(i);
    }
    let (Some(_), Some(_), Some(_)) = (c.lat, c.lon, c.date) else {
        return Err(FirmsError::Header {
            found: header
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
                .join(","),
        });
    };
    let width = header.len();
    let mut out = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.push(Row::Bad {
                    line,
                    reason: Reason::BadFeedRow,
                    message: format!("unreadable CSV: {e}"),
                    raw: Vec::new(),
                });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let raw = rec.as_slice().to_vec();
        let bad = |reason, message: String| Row::Bad {
            line,
            reason,
            message,
            raw: raw.clone(),
        };
        if rec.len() == 1
            && rec
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue; // blank line
        }
        if rec.len() != width {
            out.push(bad(
                Reason::BadFeedRow,
                format!("{} fields, the header has {width}", rec.len()),
            ));
            continue;
        }
        out.push(row(&c, &rec, line).unwrap_or_else(|(r, m)| bad(r, m)));
    }
    Ok(out)
}

/// The `satellite` values FIRMS serves: MODIS Terra and Aqua (`T`, `A` in some files), VIIRS
/// on Suomi NPP (`N`), NOAA-20 (`1` or `N20`) and NOAA-21 (`2` or `N21`), Landsat 8 and 9.
const SATELLITES: [&str; 13] = [
    "T", "A", "Terra", "Aqua", "N", "NPP", "1", "2", "N20", "N21", "J1", "L8", "L9",
];

fn field(rec: &csv::ByteRecord, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| rec.get(i))
        .and_then(|f| std::str::from_utf8(f).ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn number(
    rec: &csv::ByteRecord,
    i: Option<usize>,
    name: &str,
) -> Result<Option<f64>, (Reason, String)> {
    match field(rec, i) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or((Reason::BadFeedRow, format!("{name} {s:?} is not a number"))),
    }
}

fn row(c: &Columns, rec: &csv::ByteRecord, line: u64) -> Result<Row, (Reason, String)> {
    let lat = number(rec, c.lat, "latitude")?
        .ok_or((Reason::MissingField, "latitude is empty".to_owned()))?;
    let lon = number(rec, c.lon, "longitude")?
        .ok_or((Reason::MissingField, "longitude is empty".to_owned()))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err((
            Reason::OutOfRange,
            format!("position ({lat}, {lon}) out of range"),
        ));
    }
    let date = field(rec, c.date).ok_or((Reason::MissingField, "acq_date is empty".to_owned()))?;
    // acq_time is HHMM in UTC, often without zero padding ("1" is 00:01); absent: 00:00.
    let hhmm = match field(rec, c.time) {
        None => 0,
        Some(t) => t
            .parse::<u32>()
            .ok()
            .filter(|v| *v < 2400 && v % 100 < 60)
            .ok_or((Reason::InvalidField, format!("acq_time {t:?} is not HHMM")))?,
    };
    let stamp = format!("{date}T{:02}:{:02}:00Z", hhmm / 100, hhmm % 100);
    let time = UtcNanos::parse(&stamp).map_err(|_| {
        (
            Reason::InvalidField,
            format!("acq_date {date:?} is not YYYY-MM-DD"),
        )
    })?;
    let mut body = Map::new();
    body.insert("kind".into(), json!("thermal_anomaly"));
    body.insert("lat".into(), json!(lat));
    body.insert("lon".into(), json!(lon));
    for (name, col) in [
        ("frp_mw", c.frp),
        ("brightness_k", c.brightness),
        ("scan_km", c.scan),
        ("track_km", c.track),
    ] {
        if let Some(v) = number(rec, col, name)? {
            if v < 0.0 {
                return Err((Reason::OutOfRange, format!("{name} {v} is negative")));
            }
            body.insert(name.into(), json!(v));
        }
    }
    if let Some(sat) = field(rec, c.satellite)
        && !SATELLITES.iter().any(|k| k.eq_ignore_ascii_case(sat))
    {
        return Err((
            Reason::InvalidField,
            format!(
                "satellite {sat:?} is not one FIRMS serves (MODIS T, A, Terra, Aqua; VIIRS N, 1, 2, N20, N21; Landsat L8, L9)"
            ),
        ));
    }
    for (name, col) in [
        ("satellite", c.satellite),
        ("instrument", c.instrument),
        ("daynight", c.daynight),
    ] {
        if let Some(v) = field(rec, col) {
            body.insert(name.into(), json!(v));
        }
    }
    if let Some(conf) = field(rec, c.confidence) {
        let value = match conf.to_ascii_lowercase().as_str() {
            l @ ("l" | "n" | "h") => json!(l),
            other => match other.parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => json!(v),
                _ => {
                    return Err((
                        Reason::OutOfRange,
                        format!("confidence {conf:?} is not l, n, h or 0-100"),
                    ));
                }
            },
        };
        body.insert("confidence".into(), value);
    }
    Ok(Row::Anomaly { line, time, body })
}

/// Sign anomalies as the gateway sensor `id`, numbering `seq` from `first_seq`. Returns one
/// compact JWS per anomaly, in row order (signing runs on all cores).
pub fn sign(rows: &[Row], id: &str, key: &SigningKey, first_seq: u64) -> Vec<(u64, String)> {
    let anomalies: Vec<(u64, &UtcNanos, &Map<String, Value>)> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Anomaly { line, time, body } => Some((*line, time, body)),
            Row::Bad { .. } => None,
        })
        .collect();
    anomalies
        .par_iter()
        .enumerate()
        .map(|(k, (line, time, body))| {
            let mut payload = Map::new();
            payload.insert("v".into(), json!(1));
            payload.insert("sensor".into(), json!(id));
            payload.insert("seq".into(), json!(first_seq + k as u64));
            payload.insert("time".into(), json!(time.to_string()));
            payload.extend(body.iter().map(|(k, v)| (k.clone(), v.clone())));
            (
                *line,
                jws::sign(Value::Object(payload).to_string().as_bytes(), id, key),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIIRS: &str = "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_t31,frp,daynight\n\
47.62075,35.71787,344.94,0.52,0.5,2023-02-24,1106,N,VIIRS,n,2.0NRT,269.52,7.75,D\n\
47.6,35.7,300.1,0.4,0.4,2023-02-25,1,N,VIIRS,h,2.0NRT,270,1.2,N\n";

    fn anomalies(rows: &[Row]) -> Vec<(UtcNanos, &Map<String, Value>)> {
        rows.iter()
            .filter_map(|r| match r {
                Row::Anomaly { time, body, .. } => Some((*time, body)),
                Row::Bad { .. } => None,
            })
            .collect()
    }

    #[test]
    fn viirs_rows_with_unpadded_times() {
        let rows = parse(VIIRS.as_bytes()).unwrap();
        let a = anomalies(&rows);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].0.to_string(), "2023-02-24T11:06:00Z");
        assert_eq!(a[1].0.to_string(), "2023-02-25T00:01:00Z");
        assert_eq!(a[0].1["brightness_k"], json!(344.94));
        assert_eq!(a[0].1["confidence"], json!("n"));
        assert_eq!(a[1].1["daynight"], json!("N"));
    }

    #[test]
    fn modis_names_and_reduced_archives() {
        let modis = "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,confidence,frp\n48.1,37.2,330,1.0,1.0,2022-07-01,0830,Terra,87,12.5\n";
        let a = parse(modis.as_bytes()).unwrap();
        let a = anomalies(&a);
        assert_eq!(a[0].1["confidence"], json!(87.0));
        assert_eq!(a[0].0.to_string(), "2022-07-01T08:30:00Z");
        let yearly = "LATITUDE,LONGITUDE,ACQ_DATE\n48.97689,24.7094,2023-01-01\n";
        let y = parse(yearly.as_bytes()).unwrap();
        let y = anomalies(&y);
        assert_eq!(y[0].0.to_string(), "2023-01-01T00:00:00Z");
        assert_eq!(y[0].1.len(), 3);
    }

    #[test]
    fn bad_rows_are_kept_with_line_and_reason() {
        let text = "latitude,longitude,acq_date,acq_time,confidence,satellite\n\
48.1,37.2,2023-01-01,1200,n,N\n\
91.0,37.2,2023-01-01,1200,n,N\n\
48.1,37.2,2023-13-01,1200,n,N\n\
48.1,37.2,2023-01-01,2575,n,N\n\
48.1,37.2,2023-01-01\n\
abc,37.2,2023-01-01,1200,n,N\n\
48.1,37.2,2023-01-01,1200,x,N\n\
48.1,37.2,2023-01-01,1200,n,X9\n\
48.1,37.2,2023-01-01,1200,n,n20\n";
        let rows = parse(text.as_bytes()).unwrap();
        let bad: Vec<(u64, Reason)> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Bad { line, reason, .. } => Some((*line, *reason)),
                Row::Anomaly { .. } => None,
            })
            .collect();
        assert_eq!(
            bad,
            vec![
                (3, Reason::OutOfRange),
                (4, Reason::InvalidField),
                (5, Reason::InvalidField),
                (6, Reason::BadFeedRow),
                (7, Reason::BadFeedRow),
                (8, Reason::OutOfRange),
                (9, Reason::InvalidField),
            ]
        );
        // Satellite codes are matched without regard to case: line 10 is an anomaly.
        assert_eq!(anomalies(&rows).len(), 2);
        assert!(parse(b"this,is,not\n1,2,3\n").is_err());
        assert!(parse(b"").is_err());
    }
}
