//! Quarantine records: a rejected line, its reason, where it came from, and its bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Reason;

/// Raw bytes kept in full up to this length; longer lines keep this prefix plus the SHA-256 and
/// length of the whole, since a quarantine record must fit one log entry (65,535 bytes).
pub const RAW_KEEP: usize = 32 * 1024;

/// Longest message kept, in bytes.
pub const MESSAGE_MAX: usize = 300;

/// One quarantined observation. Serialized as one JSON object (a line of `quarantine.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The reason code.
    pub reason: Reason,
    /// A one-line message saying exactly what was wrong.
    pub message: String,
    /// The input's name (file name as given).
    pub source: String,
    /// 1-based line number in the input.
    pub line: u64,
    /// The sensor named by the header, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// The payload's seq, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Length of the raw line in bytes.
    pub raw_len: u64,
    /// SHA-256 of the raw line, hex.
    pub raw_sha256: String,
    /// The raw line (without its newline), standard base64; cut to [`RAW_KEEP`] bytes.
    pub raw_b64: String,
}

impl QuarantineRecord {
    /// Build a record for `raw`.
    pub fn new(reason: Reason, message: String, source: &str, line: u64, raw: &[u8]) -> Self {
        let digest = Sha256::digest(raw);
        // Messages may quote input; keep them to one short line.
        let mut message: String = message.replace(['\n', '\r'], " ");
        if message.len() > MESSAGE_MAX {
            let mut cut = MESSAGE_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        QuarantineRecord {
            reason,
            message,
            source: source.to_owned(),
            line,
            sensor: None,
            seq: None,
            raw_len: raw.len() as u64,
            raw_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            raw_b64: STANDARD.encode(&raw[..raw.len().min(RAW_KEEP)]),
        }
    }

    /// The one-line human message: `file:line: code: message`.
    pub fn display_line(&self) -> String {
        format!(
            "{}:{}: {}: {}",
            self.source, self.line, self.reason, self.message
        )
    }
}
