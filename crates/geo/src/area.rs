//! Point-in-polygon for areas given in WGS84 degrees, with an edge index.

use geo::{Coord, LineString, MultiPolygon, Polygon};

use crate::LatLon;

/// An area: one or more polygons with holes, vertices in degrees.
///
/// Edge policy: edges are straight lines in longitude-latitude (the GeoJSON convention of
/// RFC 7946, section 3.1.1); a point exactly on an edge is outside. For edges of a few km, as
/// in front-line drawings, the difference from a geodesic edge is a few metres at most.
///
/// Queries use the crossing-number rule over an index of edges by latitude band (hand-written:
/// `geo`'s `Contains` walks every vertex, which for front-line polygons of thousands of vertices
/// costs microseconds per point; here a query touches only the edges of one band).
#[derive(Debug, Clone)]
pub struct Area {
    polys: MultiPolygon<f64>,
    /// Every ring edge: (x0, y0, x1, y1) in (lon, lat).
    edges: Vec<[f64; 4]>,
    /// Latitude bands: edges overlapping each band.
    bands: Vec<Vec<u32>>,
    y0: f64,
    band_h: f64,
    bbox: [f64; 4],
}

impl Area {
    /// Build from polygons, each a list of rings (exterior first), each ring `[lon, lat]` pairs.
    pub fn from_rings(polygons: &[Vec<Vec<[f64; 2]>>]) -> Self {
        let polys: Vec<Polygon<f64>> = polygons
            .iter()
            .filter(|rings| !rings.is_empty())
            .map(|rings| {
                let ring = |r: &Vec<[f64; 2]>| {
                    LineString::from(
                        r.iter()
                            .map(|p| Coord { x: p[0], y: p[1] })
                            .collect::<Vec<_>>(),
                    )
                };
                Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
            })
            .collect();
        let mut edges = Vec::new();
        for rings in polygons {
            for r in rings {
                for w in r.windows(2) {
                    if w[0] != w[1] {
                        edges.push([w[0][0], w[0][1], w[1][0], w[1][1]]);
                    }
                }
            }
        }
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for e in &edges {
            bbox[0] = bbox[0].min(e[0]).min(e[2]);
            bbox[1] = bbox[1].min(e[1]).min(e[3]);
            bbox[2] = bbox[2].max(e[0]).max(e[2]);
            bbox[3] = bbox[3].max(e[1]).max(e[3]);
        }
        let n_bands = (edges.len() / 4).clamp(1, 4096);
        let height = (bbox[3] - bbox[1]).max(1e-9);
        let band_h = height / n_bands as f64;
        let mut bands = vec![Vec::new(); n_bands];
        let band_of =
            |y: f64| (((y - bbox[1]) / band_h).floor().max(0.0) as usize).min(n_bands - 1);
        for (i, e) in edges.iter().enumerate() {
            let (lo, hi) = (band_of(e[1].min(e[3])), band_of(e[1].max(e[3])));
            for b in &mut bands[lo..=hi] {
                b.push(i as u32);
            }
        }
        Area {
            polys: MultiPolygon(polys),
            edges,
            bands,
            y0: bbox[1],
            band_h,
            bbox,
        }
    }

    /// Whether `p` lies inside (a point on an edge is outside).
    pub fn contains(&self, p: LatLon) -> bool {
        let (x, y) = (p.lon_deg, p.lat_deg);
        if !(x > self.bbox[0] && x < self.bbox[2] && y > self.bbox[1] && y < self.bbox[3]) {
            return false;
        }
        let b = (((y - self.y0) / self.band_h).floor().max(0.0) as usize).min(self.bands.len() - 1);
        let mut inside = false;
        for &i in &self.bands[b] {
            let [x0, y0, x1, y1] = self.edges[i as usize];
            // On the edge: outside, by the stated policy.
            let cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0);
            if cross == 0.0
                && x >= x0.min(x1)
                && x <= x0.max(x1)
                && y >= y0.min(y1)
                && y <= y0.max(y1)
            {
                return false;
            }
            // Half-open rule: count edges whose latitude span contains y (lower end
            // inclusive) and that cross the ray going east.
            if (y0 > y) != (y1 > y) {
                let xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0);
                if xi > x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Whether an edge may pass through the box `[lon0, lon1] x [lat0, lat1]` (degrees): false
    /// only when no edge's bounding box meets it, so that every point of the box is inside, or
    /// every point outside, as its centre is (the crossing number cannot change within it).
    pub fn may_cross_box(&self, lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> bool {
        if lon1 < self.bbox[0] || lon0 > self.bbox[2] || lat1 < self.bbox[1] || lat0 > self.bbox[3]
        {
            return false;
        }
        let band = |y: f64| {
            (((y - self.y0) / self.band_h).floor().max(0.0) as usize).min(self.bands.len() - 1)
        };
        self.bands[band(lat0)..=band(lat1)]
            .iter()
            .flatten()
            .any(|&i| {
                let [x0, y0, x1, y1] = self.edges[i as usize];
                x0.max(x1) >= lon0 && x0.min(x1) <= lon1 && y0.max(y1) >= lat0 && y0.min(y1) <= lat1
            })
    }

    /// The underlying geo polygons (lon, lat).
    pub fn polygons(&self) -> &MultiPolygon<f64> {
        &self.polys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Contains;
    use proptest::prelude::*;

    fn demo() -> Area {
        let outer = vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [5.0, 6.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ];
        let hole = vec![[4.0, 2.0], [6.0, 2.0], [6.0, 4.0], [4.0, 4.0], [4.0, 2.0]];
        let second = vec![[20.0, 0.0], [25.0, 0.0], [22.0, 5.0], [20.0, 0.0]];
        Area::from_rings(&[vec![outer, hole], vec![second]])
    }

    #[test]
    fn inside_outside_holes_and_edges() {
        let a = demo();
        assert!(a.contains(LatLon::new(1.0, 1.0)));
        assert!(!a.contains(LatLon::new(3.0, 5.0)), "in the hole");
        assert!(!a.contains(LatLon::new(8.0, 5.0)), "in the notch");
        assert!(a.contains(LatLon::new(1.0, 22.0)), "second polygon");
        assert!(!a.contains(LatLon::new(5.0, 11.0)));
        assert!(!a.contains(LatLon::new(0.0, 5.0)), "on an edge is outside");
        assert!(
            !a.contains(LatLon::new(2.0, 5.0)),
            "on the hole's edge is outside"
        );
    }

    proptest! {
        /// The index agrees with geo's exhaustive test everywhere off the edges.
        #[test]
        fn agrees_with_geo(lon in -1.0f64..26.0, lat in -1.0f64..11.0) {
            let a = demo();
            let p = Coord { x: lon, y: lat };
            prop_assert_eq!(a.contains(LatLon::new(lat, lon)), a.polygons().contains(&p));
        }
    }
}
