//! The small part of GeoJSON (RFC 7946) that Truce's formats carry.
//!
//! Written by hand rather than taken from the `geojson` crate so that coordinates arrive already
//! typed as [`LonLat`] with range checks and named errors; the shapes are the RFC's.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A WGS84 position in decimal degrees. GeoJSON order on the wire: `[lon, lat(, alt)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Longitude east, degrees.
    pub lon_deg: f64,
    /// Latitude north, degrees.
    pub lat_deg: f64,
}

impl LonLat {
    /// True when both coordinates are finite and within [-180, 180] x [-90, 90].
    pub fn in_range(&self) -> bool {
        self.lat_deg.is_finite()
            && self.lon_deg.is_finite()
            && (-90.0..=90.0).contains(&self.lat_deg)
            && (-180.0..=180.0).contains(&self.lon_deg)
    }
}

impl Serialize for LonLat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.lon_deg, self.lat_deg].serialize(s)
    }
}

impl<'de> Deserialize<'de> for LonLat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<f64>::deserialize(d)?;
        match v.as_slice() {
            // A third number (altitude) is allowed by RFC 7946 and ignored here.
            [lon, lat] | [lon, lat, _] => Ok(LonLat {
                lon_deg: *lon,
                lat_deg: *lat,
            }),
            _ => Err(serde::de::Error::custom(format!(
                "a position has 2 or 3 numbers, not {}",
                v.len()
            ))),
        }
    }
}

/// A GeoJSON geometry of the kinds Truce uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "coordinates")]
pub enum Geometry {
    /// A single position.
    Point(LonLat),
    /// An open polyline.
    LineString(Vec<LonLat>),
    /// Several polylines.
    MultiLineString(Vec<Vec<LonLat>>),
    /// Exterior ring then holes; each ring closed (first position equals last).
    Polygon(Vec<Vec<LonLat>>),
    /// Several polygons.
    MultiPolygon(Vec<Vec<Vec<LonLat>>>),
}

/// What is wrong with a geometry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    /// A coordinate is not finite or outside [-180, 180] x [-90, 90].
    #[error("coordinate out of range (lon, lat): ({lon}, {lat})")]
    OutOfRange {
        /// The longitude as given.
        lon: String,
        /// The latitude as given.
        lat: String,
    },
    /// A ring is not closed or has fewer than four positions.
    #[error("polygon ring must be closed with at least 4 positions, has {positions}")]
    BadRing {
        /// How many positions the ring has.
        positions: usize,
    },
    /// A line has fewer than two positions.
    #[error("line must have at least 2 positions, has {positions}")]
    ShortLine {
        /// How many positions the line has.
        positions: usize,
    },
    /// A polygon without rings, or a multi-geometry without members.
    #[error("empty geometry")]
    Empty,
}

impl Geometry {
    /// Check coordinate ranges, ring closure and minimum sizes.
    pub fn validate(&self) -> Result<(), GeometryError> {
        fn points(ps: &[LonLat]) -> Result<(), GeometryError> {
            match ps.iter().find(|p| !p.in_range()) {
                Some(p) => Err(GeometryError::OutOfRange {
                    lon: p.lon_deg.to_string(),
                    lat: p.lat_deg.to_string(),
                }),
                None => Ok(()),
            }
        }
        fn line(ps: &[LonLat]) -> Result<(), GeometryError> {
            if ps.len() < 2 {
                return Err(GeometryError::ShortLine {
                    positions: ps.len(),
                });
            }
            points(ps)
        }
        fn polygon(rings: &[Vec<LonLat>]) -> Result<(), GeometryError> {
            if rings.is_empty() {
                return Err(GeometryError::Empty);
            }
            for ring in rings {
                if ring.len() < 4 || ring.first() != ring.last() {
                    return Err(GeometryError::BadRing {
                        positions: ring.len(),
                    });
                }
                points(ring)?;
            }
            Ok(())
        }
        match self {
            Geometry::Point(p) => points(std::slice::from_ref(p)),
            Geometry::LineString(ps) => line(ps),
            Geometry::MultiLineString(ls) if ls.is_empty() => Err(GeometryError::Empty),
            Geometry::MultiLineString(ls) => ls.iter().try_for_each(|l| line(l)),
            Geometry::Polygon(rings) => polygon(rings),
            Geometry::MultiPolygon(ps) if ps.is_empty() => Err(GeometryError::Empty),
            Geometry::MultiPolygon(ps) => ps.iter().try_for_each(|p| polygon(p)),
        }
    }

    /// The GeoJSON type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Point(_) => "Point",
            Geometry::LineString(_) => "LineString",
            Geometry::MultiLineString(_) => "MultiLineString",
            Geometry::Polygon(_) => "Polygon",
            Geometry::MultiPolygon(_) => "MultiPolygon",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_round_trips_in_lon_lat_order() {
        let text = r#"{"type":"Polygon","coordinates":[[[37.5,48.0],[37.9,48.0],[37.9,48.4],[37.5,48.0]]]}"#;
        let g: Geometry = serde_json::from_str(text).unwrap();
        let Geometry::Polygon(rings) = &g else {
            panic!("not a polygon")
        };
        assert_eq!(rings[0][2].lat_deg, 48.4);
        assert_eq!(rings[0][2].lon_deg, 37.9);
        g.validate().unwrap();
        assert_eq!(serde_json::to_string(&g).unwrap(), text);
    }

    #[test]
    fn open_ring_and_bad_coordinates_are_named() {
        let open: Geometry =
            serde_json::from_str(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#)
                .unwrap();
        assert_eq!(
            open.validate(),
            Err(GeometryError::BadRing { positions: 4 })
        );
        let far: Geometry =
            serde_json::from_str(r#"{"type":"Point","coordinates":[37.0,95.0]}"#).unwrap();
        assert!(matches!(
            far.validate(),
            Err(GeometryError::OutOfRange { .. })
        ));
        assert!(serde_json::from_str::<Geometry>(r#"{"type":"Point","coordinates":[1]}"#).is_err());
    }
}
