"""Precision of thermal-anomaly links on a simulated day (issue 6), against the simulator's truth.

    truce simulate scenarios/day.toml --out D
    truce process --agreement D/agreement.geojson --sensors D/sensors.json --out D/out D/observations.jwsl
    python3 bench/thermal_links.py D

For every thermal anomaly a finding cites, the true fire it belongs to (nearest burning fire
within 800 m) is compared with the impact the finding stands for (the true round nearest the
finding's impact within 5 s and 1 km), at three levels:
  - place: that round landed within the anomaly's pixel (half its diagonal) of where the fire
    started: the link says truly "a detonation here lit what the satellite saw";
  - fire mission: that round and the one that lit the fire come from one battery's mission;
  - exact round: that round lit the fire.
A 375 m pixel over a place shelled many times in the hours before a pass cannot tell its rounds
apart, so the script also prints the best precision any method could reach by mission and by
round, knowing every round that fell (the simulator's own fire and pixel model). Assumes every
observation line was accepted, so that log index = line index (true of simulated input).
Standard library only.
"""

import base64
import json
import math
import sys
from datetime import datetime


def ts(s):
    s = s.rstrip("Z")
    a, _, b = s.partition(".")
    return datetime.fromisoformat(a + "+00:00").timestamp() + int((b + "000000000")[:9] or 0) * 1e-9


def dist(a, b, c, e):
    return math.hypot((a - c) * 111195, (b - e) * 111195 * math.cos(math.radians(a)))


def missions(shots):
    """Fire missions: a battery's rounds with no gap of more than 5 minutes between launches."""
    by = {}
    for s in shots.values():
        by.setdefault(s["battery"], []).append(s)
    out = {}
    for bty, rounds in by.items():
        rounds.sort(key=lambda s: ts(s["time"]))
        m, last = 0, -1e18
        for s in rounds:
            t = ts(s["time"])
            if t - last > 300:
                m += 1
            last = t
            out[s["id"]] = (bty, m)
    return out


def ceilings(anomalies, fires, shots, mission, fire_mean_s, scatter_m=130.0):
    """What no method could beat, knowing every round: the expected precision of the most
    probable round (and fire mission) for each anomaly of an impact fire, under the simulator's
    own model (pixel centre within scatter_m of the fire, fires burning exp(fire_mean_s))."""
    landed = [s for s in shots.values() if s.get("impact")]
    exact = per_mission = n = 0
    for o, fire in anomalies:
        if not fire or fire["cause"] != "impact":
            continue
        at = ts(o["time"])
        w, wm = {}, {}
        for s in landed:
            ti = ts(s["impact"]["time"])
            d = dist(o["lat"], o["lon"], s["impact"]["lat"], s["impact"]["lon"])
            if ti > at or d > 800:
                continue
            x = math.exp(-0.5 * (d / scatter_m) ** 2 - (at - ti) / fire_mean_s)
            w[s["id"]] = x
            wm[mission[s["id"]]] = wm.get(mission[s["id"]], 0.0) + x
        if not w:
            continue
        n += 1
        exact += max(w.values()) / sum(w.values())
        per_mission += max(wm.values()) / sum(wm.values())
    return exact / max(n, 1), per_mission / max(n, 1)


def main(d):
    truth = json.load(open(f"{d}/truth.json"))
    lines = open(f"{d}/observations.jwsl").read().split("\n")
    fires = truth["fires"]
    shots = {s["id"]: s for s in truth["shots"]}
    mission = missions(shots)
    # The simulator's mean fire duration (`[satellites] fire_mean_s`; no scenario changes it).
    fire_mean_s = 10_800.0

    def body(i):
        b = lines[i].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))

    def fire_of(o):
        at = ts(o["time"])
        near = [(dist(o["lat"], o["lon"], fi["lat"], fi["lon"]), i) for i, fi in enumerate(fires)
                if ts(fi["start"]) <= at <= ts(fi["end"]) + 1]
        near = [x for x in near if x[0] < 800]
        return fires[min(near)[1]] if near else None

    anomalies = []
    for i, line in enumerate(lines):
        if not line:
            continue
        try:
            o = body(i)
        except (IndexError, ValueError):
            continue
        if o.get("kind") == "thermal_anomaly":
            anomalies.append((o, fire_of(o)))
    links = exact = same_mission = place = background = 0
    for f in json.load(open(f"{d}/out/violations.geojson"))["features"]:
        p = f["properties"]
        th = [e for e in p["evidence"] if e["kind"] == "thermal_anomaly"]
        if not th:
            continue
        if p["type"] == "impact":
            la, lo, tt = f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0], ts(p["time"])
        else:
            im = p["impact"]
            la, lo, tt = im["lat"], im["lon"], ts(im["time"])
        cand = [(dist(la, lo, s["impact"]["lat"], s["impact"]["lon"]), sid)
                for sid, s in shots.items() if s.get("impact") and abs(ts(s["impact"]["time"]) - tt) < 5]
        cand = [c for c in cand if c[0] < 1000]
        rnd = min(cand)[1] if cand else None
        for e in th:
            o = body(e["leaf_index"])
            fire = fire_of(o)
            links += 1
            if fire and fire["cause"] == "background":
                background += 1
            if fire and rnd and fire.get("round") in shots:
                a, b = shots[rnd], shots[fire["round"]]
                exact += fire["round"] == rnd
                same_mission += mission[rnd] == mission[fire["round"]]
                reach = 500.0 * math.hypot(o.get("scan_km", 0.375), o.get("track_km", 0.375))
                place += dist(a["impact"]["lat"], a["impact"]["lon"], fire["lat"], fire["lon"]) <= reach
    c_exact, c_mission = ceilings(anomalies, fires, shots, mission, fire_mean_s)
    n = max(links, 1)
    print(f"thermal anomalies {len(anomalies)}; linked {links}; to background fires {background}")
    print(f"  precision at the fire's place (the linked round landed within the pixel of the fire's origin): "
          f"{place} ({place / n:.3f})")
    print(f"  precision by fire mission: {same_mission} ({same_mission / n:.3f}); "
          f"best possible knowing every round: {c_mission:.3f}")
    print(f"  precision by exact round: {exact} ({exact / n:.3f}); best possible knowing every round: {c_exact:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
