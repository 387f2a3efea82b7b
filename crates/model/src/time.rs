//! UTC instants as integer nanoseconds since the Unix epoch.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant in UTC, nanoseconds since 1970-01-01T00:00:00Z (leap seconds not counted, as in
/// POSIX time). Serialized as an RFC 3339 string with up to nine fractional digits.
///
/// Integer nanoseconds keep arithmetic exact and ordering total, which floating seconds would not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UtcNanos(pub i64);

/// Why a time string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 time {text:?}")]
pub struct TimeParseError {
    /// The offending text (cut to 64 characters).
    pub text: String,
}

impl UtcNanos {
    /// Parse an RFC 3339 time. Offsets other than `Z` are accepted and converted to UTC.
    pub fn parse(text: &str) -> Result<Self, TimeParseError> {
        let err = || TimeParseError {
            text: text.chars().take(64).collect(),
        };
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| err())?;
        let nanos = t.unix_timestamp_nanos();
        i64::try_from(nanos).map(UtcNanos).map_err(|_| err())
    }

    /// Seconds since the epoch as a float (for physics; loses precision below ~100 ns).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }

    /// This instant plus `secs` seconds, rounded to the nearest nanosecond.
    pub fn add_secs_f64(self, secs: f64) -> Self {
        UtcNanos(self.0.saturating_add((secs * 1e9).round() as i64))
    }

    /// Build from whole seconds since the epoch.
    pub const fn from_unix_secs(secs: i64) -> Self {
        UtcNanos(secs * 1_000_000_000)
    }
}

impl fmt::Display for UtcNanos {
    /// RFC 3339 in UTC with `Z`, trailing zero digits of the fraction removed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0)) {
            Ok(t) => {
                let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
                let (h, mi, s, ns) = (t.hour(), t.minute(), t.second(), t.nanosecond());
                write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
                if ns != 0 {
                    let frac = format!("{ns:09}");
                    write!(f, ".{}", frac.trim_end_matches('0'))?;
                }
                f.write_str("Z")
            }
            // Every i64 of nanoseconds is within time's range; this is unreachable in practice.
            Err(_) => write!(f, "{}ns", self.0),
        }
    }
}

impl Serialize for UtcNanos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcNanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        UtcNanos::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nanosecond_fraction_and_round_trips() {
        let t = UtcNanos::parse("2026-01-08T14:52:03.123456789Z").unwrap();
        assert_eq!(t.0 % 1_000_000_000, 123_456_789);
        assert_eq!(t.to_string(), "2026-01-08T14:52:03.123456789Z");
        let whole = UtcNanos::parse("2026-01-10T00:00:00Z").unwrap();
        assert_eq!(whole.to_string(), "2026-01-10T00:00:00Z");
        assert_eq!(whole.0, 1_768_003_200 * 1_000_000_000);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let a = UtcNanos::parse("2026-01-10T02:00:00+02:00").unwrap();
        let b = UtcNanos::parse("2026-01-10T00:00:00Z").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-01 00:00:00",
        ] {
            assert!(UtcNanos::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
