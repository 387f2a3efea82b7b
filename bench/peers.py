"""Truce against its peers on the same picks, in one run (issue 4).

Association: Truce's associator (crates/locate/examples/picks_csv.rs) against PyOcto.
Location: Truce's locator against scipy.optimize.least_squares on the same true pick groups.
Cases: a simulated acoustic scenario (truth from truth.json and picks_truth.csv) and, when
../shared/data is present, the real Central Italy 2016 picks (catalogue as reference).

Run through bench/peers.sh, which builds Truce and sets up this script's virtual environment.
"""

import argparse
import base64
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyocto
import pyproj
from scipy.optimize import least_squares

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRUCE = os.path.join(ROOT, "target", "release", "truce")
PICKS_CSV = os.path.join(ROOT, "target", "release", "examples", "picks_csv")
GEOD = pyproj.Geod(ellps="WGS84")


def secs(ts, epoch):
    """RFC 3339 with nanoseconds to float seconds after `epoch` (a datetime)."""
    main, _, frac = ts.rstrip("Z").partition(".")
    dt = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return (dt - epoch).total_seconds() + (float("0." + frac) if frac else 0.0)


class Case:
    """Stations, picks (with true group), truth sources and tolerances."""

    def __init__(self, name, medium, stations, picks, truth, detectable, tol_s, tol_m, met=None):
        self.name, self.medium = name, medium
        self.stations = stations  # list of (id, lat, lon, alt_m)
        self.picks = picks  # list of dicts: station, time_s, sigma_s, phase, baz, baz_sigma, group
        self.truth = truth  # group -> (time_s, lat, lon)
        self.detectable = detectable  # set of groups
        self.tol_s, self.tol_m = tol_s, tol_m
        self.met = met or []

    def write(self, d):
        with open(os.path.join(d, "stations.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "lat", "lon", "alt_m"])
            w.writerows(self.stations)
        with open(os.path.join(d, "picks.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["station", "time_s", "sigma_s", "phase", "baz_deg", "baz_sigma_deg", "group"])
            for p in self.picks:
                w.writerow([p["station"], f"{p['time_s']:.6f}", p["sigma_s"], p["phase"],
                            "" if p["baz"] is None else p["baz"],
                            "" if p["baz"] is None else p["baz_sigma"], p["group"]])
        if self.met:
            with open(os.path.join(d, "met.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["lat", "lon", "time_s", "temperature_c", "wind_speed_mps", "wind_from_deg"])
                w.writerows(self.met)


def simulated(scenario, work):
    out = os.path.join(work, "sim")
    subprocess.run([TRUCE, "simulate", scenario, "--out", out], check=True, stdout=subprocess.DEVNULL)
    reg = json.load(open(os.path.join(out, "sensors.json")))["sensors"]
    pos = {s["id"]: s.get("position") for s in reg}
    truth_json = json.load(open(os.path.join(out, "truth.json")))
    first = truth_json["shots"][0]["time"] if truth_json["shots"] else "2026-01-01T00:00:00Z"
    epoch = datetime.strptime(first[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    label = {}
    with open(os.path.join(out, "picks_truth.csv")) as f:
        for r in csv.DictReader(f):
            label[int(r["line"])] = f"{r['round']}:{r['signal']}"
    index, stations, picks, met = {}, [], [], []
    with open(os.path.join(out, "observations.jwsl")) as f:
        for n, line in enumerate(f, start=1):
            body = line.split(".")[1]
            d = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if d["kind"] == "met":
                p = pos[d["sensor"]]
                met.append([p["lat"], p["lon"], secs(d["time"], epoch), d["temperature_c"],
                            d["wind_speed_mps"], d["wind_from_deg"]])
            if d["kind"] != "acoustic_pick":
                continue
            s = d["sensor"]
            if s not in index:
                index[s] = len(stations)
                p = pos[s]
                stations.append([s, p["lat"], p["lon"], p.get("alt_m", 0.0)])
            baz = d.get("back_azimuth_deg") or [None]
            bsig = d.get("back_azimuth_sigma_deg") or [None]
            picks.append({"station": index[s], "time_s": secs(d["time"], epoch),
                          "sigma_s": d["time_sigma_s"], "phase": "A", "baz": baz[0],
                          "baz_sigma": bsig[0], "group": label.get(n, "")})
    truth, per_group = {}, defaultdict(set)
    for s in truth_json["shots"]:
        truth[f"{s['id']}:blast"] = (secs(s["time"], epoch), s["lat"], s["lon"])
        if s.get("impact"):
            i = s["impact"]
            truth[f"{s['id']}:detonation"] = (secs(i["time"], epoch), i["lat"], i["lon"])
    for p in picks:
        if p["group"]:
            per_group[p["group"]].add(p["station"])
    detectable = {g for g, st in per_group.items() if len(st) >= 4 and g in truth}
    name = os.path.splitext(os.path.basename(scenario))[0]
    return Case(f"simulated {name}", "air", stations, picks, truth, detectable, 1.0, 1000.0, met)


def central_italy(data):
    stations, index = [], {}
    for line in open(os.path.join(data, "station.dat")):
        f = line.split()
        if len(f) >= 6:
            index[f"{f[2]}.{f[3]}"] = len(stations)
            stations.append([f"{f[2]}.{f[3]}", float(f[1]), float(f[0]), float(f[5]) * 1000.0])
    picks, truth, ev = [], {}, None
    for line in open(os.path.join(data, "real_phase_sel.txt")):
        f = line.split()
        if len(f) == 16:
            ev = f[0]
            truth[ev] = (float(f[5]), float(f[7]), float(f[8]))
        elif len(f) == 9 and f"{f[0]}.{f[1]}" in index:
            s = f[2]
            picks.append({"station": index[f"{f[0]}.{f[1]}"], "time_s": float(f[3]),
                          "sigma_s": 0.2 if s == "S" else 0.1, "phase": s, "baz": None,
                          "baz_sigma": None, "group": ev})
    return Case("Central Italy 2016 (real)", "solid:5900:3350", stations, picks, truth,
                set(truth), 3.0, 5000.0)


def score(case, events):
    """One-to-one greedy matching in time order: (precision, recall, F1, median error m)."""
    events = sorted(events, key=lambda e: e[0])
    srcs = sorted(case.truth.items(), key=lambda kv: kv[1][0])
    times = [v[0] for _, v in srcs]
    used, matched, errs = set(), 0, []
    for (t, lat, lon) in events:
        lo = np.searchsorted(times, t - case.tol_s)
        best = None
        for k in range(lo, len(srcs)):
            g, (tt, tlat, tlon) = srcs[k]
            if tt > t + case.tol_s:
                break
            if g in used:
                continue
            d = GEOD.inv(lon, lat, tlon, tlat)[2]
            if d <= case.tol_m and (best is None or d < best[1]):
                best = (g, d)
        if best:
            used.add(best[0])
            matched += 1
            errs.append(best[1])
    precision = matched / max(len(events), 1)
    recall = len(used & case.detectable) / max(len(case.detectable), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return precision, recall, f1, float(np.median(errs)) if errs else float("nan")


def run_truce(case, d, mode):
    args = [PICKS_CSV, mode, case.medium, os.path.join(d, "stations.csv"), os.path.join(d, "picks.csv")]
    if case.met:
        args.append(os.path.join(d, "met.csv"))
    r = subprocess.run(args, check=True, capture_output=True, text=True)
    stats = dict(kv.split("=") for kv in r.stderr.split())
    rows = list(csv.DictReader(r.stdout.splitlines()))
    return float(stats["seconds"]), rows


def local_xy(case):
    lat0 = np.mean([s[1] for s in case.stations])
    lon0 = np.mean([s[2] for s in case.stations])
    proj = pyproj.Proj(proj="aeqd", lat_0=lat0, lon_0=lon0, ellps="WGS84", units="m")
    return proj


def sound_speed(case):
    if case.medium.startswith("solid"):
        _, vp, vs = case.medium.split(":")
        return float(vp), float(vs)
    temps = [m[3] for m in case.met] or [15.0]
    c = 331.3 * math.sqrt(1.0 + float(np.mean(temps)) / 273.15)
    return c, c


def run_pyocto(case):
    proj = local_xy(case)
    vp, vs = sound_speed(case)
    xs, ys = proj([s[2] for s in case.stations], [s[1] for s in case.stations])
    st = pd.DataFrame({"id": [s[0] for s in case.stations], "x": np.array(xs) / 1000.0,
                       "y": np.array(ys) / 1000.0, "z": -np.array([s[3] for s in case.stations]) / 1000.0})
    pk = pd.DataFrame({"station": [case.stations[p["station"]][0] for p in case.picks],
                       "time": [p["time_s"] for p in case.picks],
                       "phase": ["S" if p["phase"] == "S" else "P" for p in case.picks]})
    pad = 30.0
    xlim = (st.x.min() - pad, st.x.max() + pad)
    ylim = (st.y.min() - pad, st.y.max() + pad)
    if case.medium.startswith("solid"):
        model = pyocto.VelocityModel0D(p_velocity=vp / 1000, s_velocity=vs / 1000, tolerance=1.0)
        assoc = pyocto.OctoAssociator(xlim, ylim, (0.0, 30.0), model, time_before=30.0,
                                      n_picks=8, n_p_picks=4, n_s_picks=2, n_p_and_s_picks=1)
    else:
        # Sound: P only, at the mean met temperature's speed; wind shifts arrivals by up to
        # about a second over the network, so that is the tolerance.
        model = pyocto.VelocityModel0D(p_velocity=vp / 1000, s_velocity=vp / 1000 / 1.7,
                                       tolerance=1.0, association_cutoff_distance=45.0)
        assoc = pyocto.OctoAssociator(xlim, ylim, (0.0, 1.0), model, time_before=140.0,
                                      min_node_size=3.0, min_node_size_location=0.2,
                                      pick_match_tolerance=1.0, min_interevent_time=0.2,
                                      n_picks=4, n_p_picks=4, n_s_picks=0, n_p_and_s_picks=0)
    t = time.perf_counter()
    events, _ = assoc.associate(pk, st)
    dt = time.perf_counter() - t
    out = []
    if len(events):
        lon, lat = proj(events.x.to_numpy() * 1000.0, events.y.to_numpy() * 1000.0, inverse=True)
        out = list(zip(events.time.to_numpy(), lat, lon))
    return dt, out


def run_scipy(case):
    """Locate each detectable true group with least_squares, as Truce's locate mode does."""
    proj = local_xy(case)
    vp, vs = sound_speed(case)
    sx, sy = proj([s[2] for s in case.stations], [s[1] for s in case.stations])
    sz = np.array([s[3] for s in case.stations])
    solid = case.medium.startswith("solid")
    groups = defaultdict(list)
    for p in case.picks:
        if p["group"] in case.detectable:
            groups[p["group"]].append(p)
    out, solves = [], 0
    t = time.perf_counter()
    for g, ps in groups.items():
        ps = sorted(ps, key=lambda p: p["time_s"])
        i = np.array([p["station"] for p in ps])
        tt = np.array([p["time_s"] for p in ps])
        sg = np.array([p["sigma_s"] for p in ps])
        v = np.array([vs if p["phase"] == "S" else vp for p in ps])
        x, y, z = np.array(sx)[i], np.array(sy)[i], sz[i]

        def res(u):
            depth = u[2] if solid else 0.0
            d = np.sqrt((x - u[0]) ** 2 + (y - u[1]) ** 2 + (z + depth) ** 2)
            return (tt - u[-1] - d / v) / sg

        u0 = [x[0], y[0], 5000.0, tt[0] - 1.0] if solid else [x[0], y[0], tt[0] - 1.0]
        r = least_squares(res, u0, loss="soft_l1")
        solves += 1
        lon, lat = proj(r.x[0], r.x[1], inverse=True)
        out.append((g, r.x[-1], lat, lon))
    return time.perf_counter() - t, solves, out


def loc_errors(case, located):
    errs = [GEOD.inv(lon, lat, case.truth[g][2], case.truth[g][1])[2] for g, _, lat, lon in located]
    return float(np.median(errs)) if errs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", action="append", help="scenario TOML (default: scenarios/small.toml)")
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    a = ap.parse_args()
    scenarios = a.scenario or [os.path.join(ROOT, "scenarios", "small.toml")]
    with tempfile.TemporaryDirectory() as work:
        cases = [simulated(s, work) for s in scenarios]
        italy = os.path.join(a.shared, "seismic-picks-central-italy-2016")
        if os.path.isdir(italy):
            cases.append(central_italy(italy))
        else:
            print(f"skipped Central Italy: {italy} not found")
        for case in cases:
            d = tempfile.mkdtemp(dir=work)
            case.write(d)
            n = len(case.picks)
            print(f"\n== {case.name}: {n} picks at {len(case.stations)} stations, "
                  f"{len(case.detectable)} detectable sources")
            print(f"{'association':<12} {'picks/s':>10} {'seconds':>8} {'events':>7} {'precision':>9} "
                  f"{'recall':>7} {'F1':>6} {'median m':>9}")
            secs_t, rows = run_truce(case, d, "associate")
            ev = [(float(r["time_s"]), float(r["lat"]), float(r["lon"])) for r in rows]
            p, r_, f1, med = score(case, ev)
            print(f"{'Truce':<12} {n / secs_t:>10.0f} {secs_t:>8.3f} {len(ev):>7} {p:>9.3f} {r_:>7.3f} {f1:>6.3f} {med:>9.0f}")
            t_truce = n / secs_t
            secs_o, ev = run_pyocto(case)
            p, r_, f1o, med = score(case, ev)
            print(f"{'PyOcto':<12} {n / secs_o:>10.0f} {secs_o:>8.3f} {len(ev):>7} {p:>9.3f} {r_:>7.3f} {f1o:>6.3f} {med:>9.0f}")
            print(f"throughput ratio Truce / PyOcto: {t_truce / (n / secs_o):.1f}x; F1 {f1:.3f} vs {f1o:.3f}")
            # Location on the true groups.
            secs_l, rows = run_truce(case, d, "locate")
            located = [(r["group"], float(r["time_s"]), float(r["lat"]), float(r["lon"]))
                       for r in rows if r["group"] in case.detectable]
            secs_s, solves, loc_s = run_scipy(case)
            print(f"{'location':<12} {'ms/solve':>10} {'solves':>8} {'median m':>9}")
            print(f"{'Truce':<12} {1000 * secs_l / max(len(rows), 1):>10.3f} {len(rows):>8} {loc_errors(case, located):>9.1f}")
            print(f"{'scipy':<12} {1000 * secs_s / max(solves, 1):>10.3f} {solves:>8} {loc_errors(case, loc_s):>9.1f}")


if __name__ == "__main__":
    sys.exit(main())
