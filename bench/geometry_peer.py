"""The peer of `cargo bench -p truce-cli --bench geometry`: shapely + pyproj classify the same
points against the same agreement (party by point-in-polygon; distance to the line as shapely's
planar distance after pyproj projects to an azimuthal equidistant frame centred on the line;
buffer and withdrawal zones from that distance), and the two sides' answers are compared.
Run through bench/geometry.sh.
"""

import csv
import json
import os
import sys
import time

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "geometry")


def main():
    doc = json.load(open(os.path.join(OUT, "agreement.geojson")))
    meta = doc["agreement"]
    line = areas = None
    areas = {}
    for f in doc["features"]:
        role = f["properties"]["role"]
        if role == "ceasefire_line":
            line = shape(f["geometry"])
        elif role == "control_area":
            areas[f["properties"]["party"]] = shape(f["geometry"])
    rows = list(csv.DictReader(open(os.path.join(OUT, "points.csv"))))
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    truce_party = np.array([r["party"] for r in rows])
    truce_d = np.array([float(r["distance_m"]) for r in rows])
    n = len(rows)
    c = line.centroid
    to_m = pyproj.Transformer.from_crs(
        "EPSG:4326", pyproj.CRS(proj="aeqd", lat_0=c.y, lon_0=c.x, ellps="WGS84"), always_xy=True
    )
    line_m = shapely.ops.transform(to_m.transform, line) if hasattr(shapely, "ops") else None
    if line_m is None:
        from shapely.ops import transform
        line_m = transform(to_m.transform, line)
    for a in areas.values():
        shapely.prepare(a)
    shapely.prepare(line_m)
    withdrawal = sorted(meta["withdrawal_km"].values())
    t = time.perf_counter()
    # Party.
    party = np.full(n, "-")
    for name, a in areas.items():
        party[shapely.contains_xy(a, lon, lat)] = name
    # Distance to the line (projected, planar).
    x, y = to_m.transform(lon, lat)
    d = shapely.distance(line_m, shapely.points(x, y))
    # Zones from the distance.
    in_buffer = d <= meta["buffer_km"] * 1000.0
    withdrawn = sum((d <= km * 1000.0) & (party != "-") for km in withdrawal)
    secs = time.perf_counter() - t
    rate = n / secs
    same_party = float(np.mean(party == truce_party))
    diff = np.abs(d - truce_d)
    near = truce_d <= 70_000
    print(f"shapely {shapely.__version__} + pyproj {pyproj.__version__}: {n} classifications in {secs:.2f} s: {rate:.0f}/s (one thread)")
    print(f"  same party as Truce: {same_party:.5f}; |distance difference| median {np.median(diff[near]):.1f} m, "
          f"95th {np.percentile(diff[near], 95):.1f} m within 70 km (planar projection error; Truce is geodesic)")
    print(f"  buffer {int(in_buffer.sum())}, withdrawal hits {int(withdrawn.sum())}")
    truce_rate = float(sys.argv[1]) if len(sys.argv) > 1 else None
    if truce_rate:
        print(f"Truce / peer: {truce_rate / rate:.1f}x")


if __name__ == "__main__":
    main()
