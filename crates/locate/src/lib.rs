//! Association and location: picks at known stations become located events with origin time
//! and an honest 95 % error ellipse.
//!
//! - [`medium`]: stations, picks, weather, and travel times in air (sound speed from the
//!   weather, wind along the path) or in a constant-velocity Earth (P, S, free depth);
//! - [`locator`]: robust then weighted least squares, covariance, ellipse, Cramér-Rao bound;
//! - [`associate`]: the streaming associator (bounded look-back window; batch uses the same
//!   code);
//! - [`fuse`]: radar fixes as events, and fusion of a radar fix with an acoustic event of the
//!   same firing.
//!
//! Knows nothing of ceasefires or of the evidence log: a pick carries an opaque `evidence`
//! number for the caller.

pub mod associate;
pub mod fuse;
pub mod linalg;
pub mod locator;
pub mod medium;

pub use associate::{AssocConfig, Association, Associator, Hint, Located, Stream};
pub use locator::{CHI2_2_95, LocatorConfig, Solution};
pub use medium::{Frame, Medium, MetReport, MetTable, Phase, Pick, Station, Weather};
