//! The published report: one self-contained HTML file (inline SVG map and charts, no network),
//! KML for Google Earth and Cursor-on-Target events for TAK clients, all from the findings text
//! exactly as published.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Grades in the order the tables show them (FORMATS section 4).
const GRADES: [&str; 3] = ["confirmed", "probable", "possible"];

/// What the report shows.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub agreement: &'a Value,
    pub findings: &'a Value,
    pub summary: &'a Value,
    /// The previous report's findings by area and type ([`counts`] of its findings), for the
    /// change columns.
    pub previous_findings: Option<Counts>,
    pub checkpoint: &'a str,
    /// Sensors that reported themselves down: (sensor, down from, back at).
    pub sensors_down: &'a [(String, String, Option<String>)],
}

/// Findings counted by area (the party whose control area a finding is attributed to, or
/// `unattributed`) and type.
pub type Counts = BTreeMap<(String, String), usize>;

/// The area a finding is counted under.
fn area(party: Option<&str>) -> String {
    party.unwrap_or("unattributed").to_string()
}

/// [`Counts`] of a published findings text (`violations.geojson`), reading only each finding's
/// type and party (`None` when it does not read so): the previous report's, from its bundle.
pub fn counts(findings_text: &str) -> Option<Counts> {
    #[derive(serde::Deserialize)]
    struct Properties {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        party: Option<String>,
    }
    let c: truce_engine::FeatureProperties<Properties> =
        serde_json::from_str(findings_text).ok()?;
    let mut out = Counts::new();
    for f in c.features {
        *out.entry((area(f.properties.party.as_deref()), f.properties.kind))
            .or_default() += 1;
    }
    Some(out)
}

/// From `sensor_status` observations (payload JSON values, in log order): the periods each
/// sensor said it was down, as (sensor, from, back-at), in the order they began.
pub fn down_periods(statuses: &[Value]) -> Vec<(String, String, Option<String>)> {
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    for v in statuses {
        let (Some(sensor), Some(time), Some(ok)) =
            (v["sensor"].as_str(), v["time"].as_str(), v["ok"].as_bool())
        else {
            continue;
        };
        match (ok, open.get(sensor)) {
            (false, None) => {
                open.insert(sensor.to_string(), out.len());
                out.push((sensor.to_string(), time.to_string(), None));
            }
            (true, Some(&k)) => {
                out[k].2 = Some(time.to_string());
                open.remove(sensor);
            }
            _ => {}
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Equirectangular view of the agreement's extent, scaled by cos(latitude).
struct View {
    lon0: f64,
    lat1: f64,
    k: f64,
    scale: f64,
}

impl View {
    /// The extent of the findings with a margin of about 0.3 degrees, or of the agreement when
    /// there are none.
    fn new(agreement: &Value, findings: &Value) -> View {
        let extent = |v: &Value| {
            let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
            visit(v, &mut |x, y| {
                lo = [lo[0].min(x), lo[1].min(y)];
                hi = [hi[0].max(x), hi[1].max(y)];
            });
            (lo, hi)
        };
        let (mut lo, mut hi) = extent(findings);
        if lo[0] <= hi[0] {
            lo = [lo[0] - 0.3, lo[1] - 0.3];
            hi = [hi[0] + 0.3, hi[1] + 0.3];
        } else {
            (lo, hi) = extent(agreement);
        }
        if lo[0] > hi[0] {
            (lo, hi) = ([0.0, 0.0], [1.0, 1.0]);
        }
        let k = ((lo[1] + hi[1]) / 2.0).to_radians().cos();
        let w = ((hi[0] - lo[0]) * k).max(1e-6);
        let h = (hi[1] - lo[1]).max(1e-6);
        View {
            lon0: lo[0],
            lat1: hi[1],
            k,
            scale: 900.0 / w.max(h),
        }
    }
    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.k * self.scale,
            (self.lat1 - lat) * self.scale,
        )
    }
}

/// Every coordinate pair in the features of a GeoJSON document.
fn visit(v: &Value, f: &mut impl FnMut(f64, f64)) {
    match v {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => {
            f(a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
        }
        Value::Array(a) => a.iter().for_each(|x| visit(x, f)),
        Value::Object(o) => {
            if let Some(c) = o.get("coordinates") {
                visit(c, f)
            } else {
                o.values().for_each(|x| visit(x, f))
            }
        }
        _ => {}
    }
}

fn path(view: &View, ring: &Value) -> String {
    let mut d = String::new();
    for (i, c) in ring.as_array().into_iter().flatten().enumerate() {
        let (x, y) = view.xy(c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0));
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
    }
    d
}

fn map(inp: &Inputs<'_>) -> String {
    let view = View::new(inp.agreement, inp.findings);
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 900" width="100%" style="max-width:920px;background:#eef;overflow:hidden">"#,
    );
    let mut line_paths = String::new();
    let colours = ["#9cf", "#fc9", "#cfc", "#fcf"];
    let mut party_colour: BTreeMap<String, &str> = BTreeMap::new();
    for f in inp.agreement["features"].as_array().into_iter().flatten() {
        let g = &f["geometry"];
        let role = f["properties"]["role"].as_str().unwrap_or("");
        let polys: Vec<&Value> = match g["type"].as_str() {
            Some("Polygon") => vec![&g["coordinates"]],
            Some("MultiPolygon") => g["coordinates"].as_array().into_iter().flatten().collect(),
            _ => vec![],
        };
        let fill = match role {
            "control_area" => {
                let party = f["properties"]["party"].as_str().unwrap_or("?").to_string();
                let n = party_colour.len();
                *party_colour
                    .entry(party)
                    .or_insert(colours[n % colours.len()])
            }
            "buffer_zone" => "#ddd",
            "exclusion_zone" => "#f99",
            _ => "none",
        };
        for p in polys {
            let d: String = p
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| path(&view, r))
                .collect();
            let _ = write!(
                svg,
                r##"<path d="{d}Z" fill="{fill}" fill-rule="evenodd" stroke="#666" stroke-width="0.5"/>"##
            );
        }
        let lines: Vec<&Value> = match g["type"].as_str() {
            Some("LineString") => vec![&g["coordinates"]],
            Some("MultiLineString") => g["coordinates"].as_array().into_iter().flatten().collect(),
            _ => vec![],
        };
        for l in lines {
            let _ = write!(
                line_paths,
                r##"<path d="{}" fill="none" stroke="#c00" stroke-width="2"/>"##,
                path(&view, l)
            );
        }
    }
    // The line above the areas it separates.
    svg.push_str(&line_paths);
    for f in inp.findings["features"].as_array().into_iter().flatten() {
        let c = &f["geometry"]["coordinates"];
        let (Some(lon), Some(lat)) = (c[0].as_f64(), c[1].as_f64()) else {
            continue;
        };
        let (x, y) = view.xy(lon, lat);
        let e = &f["properties"]["ellipse95"];
        // Ellipse axes in metres to pixels (degrees of latitude per metre).
        let m = view.scale / 111_320.0;
        let (a, b) = (
            e["semi_major_m"].as_f64().unwrap_or(0.0) * m,
            e["semi_minor_m"].as_f64().unwrap_or(0.0) * m,
        );
        let az = e["azimuth_deg"].as_f64().unwrap_or(0.0);
        let title = format!(
            "{} {} party {} p={} grade {}",
            f["properties"]["id"].as_str().unwrap_or(""),
            f["properties"]["type"].as_str().unwrap_or(""),
            f["properties"]["party"].as_str().unwrap_or("-"),
            f["properties"]["p_party"],
            f["properties"]["grade"].as_str().unwrap_or("")
        );
        let _ = write!(
            svg,
            r##"<g><title>{}</title><ellipse cx="{x:.1}" cy="{y:.1}" rx="{:.2}" ry="{:.2}" transform="rotate({:.1} {x:.1} {y:.1})" fill="none" stroke="#000" stroke-width="0.4"/><circle cx="{x:.1}" cy="{y:.1}" r="1.6" fill="#000"/></g>"##,
            esc(&title),
            b.max(0.5),
            a.max(0.5),
            az
        );
    }
    svg.push_str("</svg>");
    svg
}

fn bar_chart(title: &str, counts: &BTreeMap<String, usize>) -> String {
    let max = counts.values().copied().max().unwrap_or(1).max(1) as f64;
    let mut s = format!(
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="600" height="{}">"#,
        esc(title),
        20 * counts.len() + 10
    );
    for (i, (k, n)) in counts.iter().enumerate() {
        let w = 330.0 * *n as f64 / max;
        let y = 20 * i + 5;
        let _ = write!(
            s,
            r##"<text x="0" y="{}" font-size="12">{}</text><rect x="200" y="{y}" width="{w:.1}" height="14" fill="#47a"/><text x="{:.1}" y="{}" font-size="12">{n}</text>"##,
            y + 12,
            esc(k),
            205.0 + w,
            y + 12
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// The HTML report.
pub fn html(inp: &Inputs<'_>) -> String {
    let features: Vec<&Value> = inp.findings["features"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut by_party: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_hour: BTreeMap<String, usize> = BTreeMap::new();
    // By area and type: the count of each grade.
    let mut table: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    let mut withdrawal = Vec::new();
    for f in &features {
        let p = &f["properties"];
        let party = p["party"].as_str().unwrap_or("unattributed").to_string();
        let kind = p["type"].as_str().unwrap_or("?").to_string();
        *by_party.entry(party.clone()).or_default() += 1;
        *by_type.entry(kind.clone()).or_default() += 1;
        let hour = p["time"]
            .as_str()
            .unwrap_or("")
            .get(..13)
            .unwrap_or("")
            .to_string()
            + "h";
        *by_hour.entry(hour).or_default() += 1;
        *table
            .entry((area(p["party"].as_str()), kind.clone()))
            .or_default()
            .entry(p["grade"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
        if kind == "weapon_in_withdrawal_zone" {
            withdrawal.push(*f);
        }
    }
    let meta = &inp.agreement["agreement"];
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Truce report: {}</title><style>body{{font-family:sans-serif;max-width:1000px;margin:auto;padding:1em}}table{{border-collapse:collapse}}td,th{{border:1px solid #aaa;padding:2px 8px;text-align:left}}</style></head><body>",
        esc(meta["name"].as_str().unwrap_or("agreement"))
    );
    let _ = write!(
        h,
        "<h1>Ceasefire verification report</h1><p>Agreement <b>{}</b> ({}). Computed at evidence-log checkpoint:</p><pre>{}</pre><p>Every finding below cites its evidence by log index and hash; the bundle beside this file lets any party re-check it offline with <code>truce verify</code>.</p>",
        esc(meta["id"].as_str().unwrap_or("")),
        esc(meta["name"].as_str().unwrap_or("")),
        esc(inp.checkpoint)
    );
    let previous = inp.previous_findings.as_ref();
    let change = match previous {
        Some(c) => {
            let n: usize = c.values().sum();
            format!(
                " (previous report: {n}; change {:+})",
                features.len() as i64 - n as i64
            )
        }
        None => String::new(),
    };
    let _ = write!(h, "<h2>Findings: {}{change}</h2>", features.len());
    // In the manner of the OSCE monitoring mission's daily reports: counts by area and type,
    // and the change from the previous period (rows that went to none included).
    h.push_str("<p>By area (the control area a finding is attributed to) and type.</p><table><tr><th>area</th><th>type</th>");
    for g in GRADES {
        let _ = write!(h, "<th>{g}</th>");
    }
    h.push_str("<th>total</th>");
    if previous.is_some() {
        h.push_str("<th>previous</th><th>change</th>");
    }
    h.push_str("</tr>");
    let mut rows: Vec<&(String, String)> = table.keys().collect();
    rows.extend(previous.into_iter().flat_map(|c| c.keys()));
    rows.sort();
    rows.dedup();
    for key in rows {
        let grades = table.get(key);
        let count = |g: &str| grades.and_then(|m| m.get(g)).copied().unwrap_or(0);
        let total: usize = grades.map_or(0, |m| m.values().sum());
        let _ = write!(h, "<tr><td>{}</td><td>{}</td>", esc(&key.0), esc(&key.1));
        for g in GRADES {
            let _ = write!(h, "<td>{}</td>", count(g));
        }
        let _ = write!(h, "<td>{total}</td>");
        if let Some(c) = previous {
            let before = c.get(key).copied().unwrap_or(0);
            let _ = write!(
                h,
                "<td>{before}</td><td>{:+}</td>",
                total as i64 - before as i64
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table><h2>Map</h2><p>Control areas, the ceasefire line (red) and each finding with its 95 % error ellipse (hover for details).</p>");
    h.push_str(&map(inp));
    h.push_str(&bar_chart("Findings by party", &by_party));
    h.push_str(&bar_chart("Findings by type", &by_type));
    h.push_str(&bar_chart("Findings by hour (UTC)", &by_hour));
    let _ = write!(
        h,
        "<h2>Weapons in withdrawal zones: {}</h2>",
        withdrawal.len()
    );
    if !withdrawal.is_empty() {
        h.push_str(
            "<table><tr><th>id</th><th>class</th><th>party</th><th>time</th><th>grade</th></tr>",
        );
        for f in &withdrawal {
            let p = &f["properties"];
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["id"].as_str().unwrap_or("")),
                esc(p["weapon_class"].as_str().unwrap_or("")),
                esc(p["party"].as_str().unwrap_or("-")),
                esc(p["time"].as_str().unwrap_or("")),
                esc(p["grade"].as_str().unwrap_or(""))
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(h, "<h2>Sensors down: {}</h2>", inp.sensors_down.len());
    if !inp.sensors_down.is_empty() {
        h.push_str("<p>Periods a sensor reported itself not working (what it could not have seen).</p><table><tr><th>sensor</th><th>down from</th><th>back at</th></tr>");
        for (sensor, from, until) in inp.sensors_down {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(sensor),
                esc(from),
                esc(until.as_deref().unwrap_or("not yet"))
            );
        }
        h.push_str("</table>");
    }
    let obs = &inp.summary["observations"];
    let _ = write!(
        h,
        "<h2>Input</h2><p>{} observation lines, {} accepted, {} quarantined.</p><table><tr><th>quarantine reason</th><th>count</th></tr>",
        obs["lines"], obs["accepted"], obs["rejected"]
    );
    for (r, n) in obs["by_reason"].as_object().into_iter().flatten() {
        let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(r));
    }
    h.push_str("</table>");
    if let Some(d) = inp.summary["diagnostics"].as_object()
        && !d.is_empty()
    {
        h.push_str("<h3>Diagnostics (sensors down, skipped input)</h3><ul>");
        for (k, v) in d {
            let _ = write!(h, "<li>{}: {v}</li>", esc(k));
        }
        h.push_str("</ul>");
    }
    h.push_str("<p>Made by Truce; verification, not targeting: locations are published with their uncertainty, to all parties equally.</p></body></html>\n");
    h
}

/// KML placemarks for the findings.
pub fn kml(findings: &Value) -> String {
    let mut k = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><name>Truce findings</name>\n",
    );
    for f in findings["features"].as_array().into_iter().flatten() {
        let p = &f["properties"];
        let c = &f["geometry"]["coordinates"];
        let _ = writeln!(
            k,
            "<Placemark><name>{}</name><description>{} party {} p_party {} grade {} at {}</description><TimeStamp><when>{}</when></TimeStamp><Point><coordinates>{},{}</coordinates></Point></Placemark>",
            esc(p["id"].as_str().unwrap_or("")),
            esc(p["type"].as_str().unwrap_or("")),
            esc(p["party"].as_str().unwrap_or("-")),
            p["p_party"],
            esc(p["grade"].as_str().unwrap_or("")),
            esc(p["time"].as_str().unwrap_or("")),
            esc(p["time"].as_str().unwrap_or("")),
            c[0],
            c[1]
        );
    }
    k.push_str("</Document></kml>\n");
    k
}

/// Cursor-on-Target: one `<event>` per line (the stream form TAK servers take), type
/// `a-u-G` (unknown ground), circular error from the ellipse's semi-major axis.
pub fn cot(findings: &Value) -> String {
    let mut out = String::new();
    for f in findings["features"].as_array().into_iter().flatten() {
        let p = &f["properties"];
        let c = &f["geometry"]["coordinates"];
        let t = p["time"].as_str().unwrap_or("");
        let _ = writeln!(
            out,
            "<event version=\"2.0\" uid=\"truce-{}\" type=\"a-u-G\" how=\"m-g\" time=\"{t}\" start=\"{t}\" stale=\"{}\"><point lat=\"{}\" lon=\"{}\" hae=\"0\" ce=\"{:.0}\" le=\"9999999\"/><detail><remarks>{} party {} grade {}</remarks></detail></event>",
            esc(p["id"].as_str().unwrap_or("")),
            esc(p["time_end"].as_str().unwrap_or(t)),
            c[1],
            c[0],
            p["ellipse95"]["semi_major_m"].as_f64().unwrap_or(0.0),
            esc(p["type"].as_str().unwrap_or("")),
            esc(p["party"].as_str().unwrap_or("-")),
            esc(p["grade"].as_str().unwrap_or(""))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The table by area and type: each grade's count, the total, the previous report's count
    /// and the change, with a row the previous report had and this one has not.
    #[test]
    fn findings_by_area_and_type_with_the_change() {
        let f = |kind: &str, party: Option<&str>, grade: &str| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [37.5, 48.0]},
                "properties": {"type": kind, "party": party, "grade": grade,
                "time": "2026-01-12T03:00:00Z", "evidence": []}})
        };
        let findings = json!({"type": "FeatureCollection", "features": [
            f("firing", Some("A"), "confirmed"),
            f("firing", Some("A"), "probable"),
            f("firing", Some("A"), "confirmed"),
            f("impact", None, "possible"),
        ]});
        let previous = counts(
            &json!({"type": "FeatureCollection", "features": [
                f("firing", Some("A"), "confirmed"),
                f("firing", Some("B"), "possible"),
            ]})
            .to_string(),
        )
        .unwrap();
        assert_eq!(previous.values().sum::<usize>(), 2);
        let agreement = json!({"type": "FeatureCollection", "agreement": {"id": "t", "name": "t"}, "features": []});
        let h = html(&Inputs {
            agreement: &agreement,
            findings: &findings,
            summary: &json!({}),
            previous_findings: Some(previous),
            checkpoint: "c",
            sensors_down: &[],
        });
        assert!(
            h.contains("<h2>Findings: 4 (previous report: 2; change +2)</h2>"),
            "{h}"
        );
        for row in [
            "<tr><td>A</td><td>firing</td><td>2</td><td>1</td><td>0</td><td>3</td><td>1</td><td>+2</td></tr>",
            "<tr><td>B</td><td>firing</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td><td>-1</td></tr>",
            "<tr><td>unattributed</td><td>impact</td><td>0</td><td>0</td><td>1</td><td>1</td><td>0</td><td>+1</td></tr>",
        ] {
            assert!(h.contains(row), "{row} missing");
        }
        assert!(counts("not json").is_none());
    }

    #[test]
    fn down_periods_open_and_close() {
        let s = |sensor: &str, t: &str, ok: bool| json!({"sensor": sensor, "time": t, "ok": ok});
        let p = down_periods(&[
            s("A", "t1", true),
            s("A", "t2", false),
            s("B", "t3", false),
            s("A", "t4", false),
            s("A", "t5", true),
        ]);
        assert_eq!(
            p,
            vec![
                ("A".into(), "t2".into(), Some("t5".into())),
                ("B".into(), "t3".into(), None)
            ]
        );
    }
}
