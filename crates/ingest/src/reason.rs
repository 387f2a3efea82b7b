//! Reason codes for rejected observations. The codes are part of the external contract
//! (docs/formats.md): never rename one.

use serde::{Deserialize, Serialize};

macro_rules! reasons {
    ($($variant:ident => $code:literal, $doc:literal;)*) => {
        /// Why an observation went to the quarantine.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Reason {
            $(#[doc = $doc] $variant,)*
        }

        impl Reason {
            /// Every reason, in the order of checking.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The stable code, e.g. `bad_signature`.
            pub fn code(self) -> &'static str {
                match self { $(Reason::$variant => $code,)* }
            }

            /// One line saying what the code means.
            pub fn describe(self) -> &'static str {
                match self { $(Reason::$variant => $doc,)* }
            }
        }
    };
}

reasons! {
    LineTooLong => "line_too_long", "the line is longer than 64 KiB (65,535 bytes)";
    NotUtf8 => "not_utf8", "the line is not valid UTF-8";
    Truncated => "truncated", "the file ends in the middle of this line";
    MalformedJws => "malformed_jws", "not a JWS in compact serialization (three parts)";
    BadBase64 => "bad_base64", "a JWS part is not base64url without padding";
    BadHeader => "bad_header", "the protected header is not JSON, or lacks alg or kid";
    UnsupportedAlg => "unsupported_alg", "alg is not EdDSA";
    UnknownSensor => "unknown_sensor", "kid names no sensor in the registry";
    BadSignature => "bad_signature", "the Ed25519 signature does not verify with the sensor's key";
    BadPayload => "bad_payload", "the payload is not a JSON object";
    UnsupportedVersion => "unsupported_version", "payload v is not 1";
    UnknownKind => "unknown_kind", "payload kind is not one of FORMATS section 2";
    MissingField => "missing_field", "a required payload field is absent";
    InvalidField => "invalid_field", "a payload field has the wrong type or an unreadable value";
    OutOfRange => "out_of_range", "a payload value is impossible (latitude beyond 90, negative or NaN sigma...)";
    KidMismatch => "kid_mismatch", "payload sensor differs from the header kid";
    InactiveSensor => "inactive_sensor", "the sensor is not active at the observation's time";
    Replay => "replay", "the sensor's seq is already in the evidence log (a repeat)";
    SeqDecreasing => "seq_decreasing", "seq is lower than the sensor's last accepted seq";
    BadFeedRow => "bad_feed_row", "a row of an external feed (FIRMS CSV) cannot be read";
}

impl Reason {
    /// Reasons that concern a line of a signed observation file (all but the feed rows).
    pub fn is_observation_reason(self) -> bool {
        self != Reason::BadFeedRow
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
