//! Point-in-polygon for areas given in WGS84 degrees.

use geo::{Contains, Coord, LineString, MultiPolygon, Polygon};

use crate::LatLon;

/// An area: one or more polygons with holes, vertices in degrees.
///
/// Edge policy: edges are straight lines in longitude-latitude (the GeoJSON convention of
/// RFC 7946, section 3.1.1); a point exactly on an edge is outside. For edges of a few km, as
/// in front-line drawings, the difference from a geodesic edge is a few metres at most.
#[derive(Debug, Clone)]
pub struct Area {
    polys: MultiPolygon<f64>,
}

impl Area {
    /// Build from polygons, each a list of rings (exterior first), each ring `[lon, lat]` pairs.
    pub fn from_rings(polygons: &[Vec<Vec<[f64; 2]>>]) -> Self {
        let polys = polygons
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
        Area {
            polys: MultiPolygon(polys),
        }
    }

    /// Whether `p` lies inside.
    pub fn contains(&self, p: LatLon) -> bool {
        self.polys.contains(&Coord {
            x: p.lon_deg,
            y: p.lat_deg,
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

    #[test]
    fn inside_outside_and_holes() {
        let outer = vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ];
        let hole = vec![[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]];
        let a = Area::from_rings(&[vec![outer, hole]]);
        assert!(a.contains(LatLon::new(2.0, 2.0)));
        assert!(!a.contains(LatLon::new(5.0, 5.0)));
        assert!(!a.contains(LatLon::new(11.0, 5.0)));
    }
}
