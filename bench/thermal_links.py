"""Precision of thermal-anomaly links on a simulated day (issue 6), against the simulator's truth.

    truce simulate scenarios/day.toml --out D
    truce process --agreement D/agreement.geojson --sensors D/sensors.json --out D/out D/observations.jwsl
    python3 bench/thermal_links.py D

For every thermal anomaly a finding cites, the true fire it belongs to (nearest burning fire
within 800 m) is compared with the impact the finding stands for (the true round nearest the
finding's impact within 5 s and 1 km): "exact round" when that round lit the fire, "same
mission" when both rounds come from one battery within 2 minutes (rounds a 375 m pixel cannot
tell apart). Assumes every observation line was accepted, so that log index = line index (true
of simulated input). Standard library only.
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


def main(d):
    truth = json.load(open(f"{d}/truth.json"))
    lines = open(f"{d}/observations.jwsl").read().split("\n")
    fires = truth["fires"]
    shots = {s["id"]: s for s in truth["shots"]}
    links = exact = mission = background = 0
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
            body = lines[e["leaf_index"]].split(".")[1]
            o = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            at = ts(o["time"])
            near = [(dist(o["lat"], o["lon"], fi["lat"], fi["lon"]), i) for i, fi in enumerate(fires)
                    if ts(fi["start"]) <= at <= ts(fi["end"]) + 1]
            near = [x for x in near if x[0] < 800]
            fire = fires[min(near)[1]] if near else None
            links += 1
            if fire and fire["cause"] == "background":
                background += 1
            if fire and rnd and fire.get("round") in shots:
                a, b = shots[rnd], shots[fire["round"]]
                exact += fire["round"] == rnd
                mission += a["battery"] == b["battery"] and abs(ts(a["time"]) - ts(b["time"])) < 120
    print(f"thermal links {links}; to background fires {background}; "
          f"exact round {exact} ({exact / max(links, 1):.3f}); same fire mission {mission} ({mission / max(links, 1):.3f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
