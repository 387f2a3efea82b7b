//! Signed checkpoints: C2SP `tlog-checkpoint` bodies in C2SP `signed-note` envelopes, Ed25519.

use rand_core::OsRng;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

use crate::LogError;

/// A log's signing key (the C2SP note signer key `PRIVATE+KEY+<name>+<id>+<key>`). The key name
/// is the log's origin, as C2SP tlog-checkpoint recommends.
pub struct LogSigner {
    signer: StandardSigner,
    origin: String,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("LogSigner")
            .field("origin", &self.origin)
            .finish()
    }
}

/// A freshly generated key pair, as text.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private signer key; keep secret.
    pub skey: String,
    /// The public verifier key `<name>+<id>+<key>`; publish it.
    pub vkey: String,
}

/// Generate a new Ed25519 key named `origin` from the operating system's RNG.
pub fn generate_key(origin: &str) -> Result<KeyPair, LogError> {
    if !signed_note::is_key_name_valid(origin) {
        return Err(LogError::Key(format!(
            "invalid key name {origin:?}: must be non-empty with no spaces or '+'"
        )));
    }
    let (skey, vkey) = signed_note::generate_key(&mut OsRng, origin);
    Ok(KeyPair { skey, vkey })
}

impl LogSigner {
    /// Read a signer key.
    pub fn from_skey(skey: &str) -> Result<Self, LogError> {
        let skey = skey.trim();
        let signer = StandardSigner::new(skey)
            .map_err(|e| LogError::Key(format!("not a valid signer key: {e}")))?;
        let origin = skey.split('+').nth(2).unwrap_or_default().to_owned();
        Ok(LogSigner { signer, origin })
    }

    /// The origin line this key signs for.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Sign a checkpoint for a tree of `size` entries with root `root`.
    pub fn sign(&self, size: u64, root: Hash) -> Result<Vec<u8>, LogError> {
        let cp = Checkpoint::new(&self.origin, size, root, "")
            .map_err(|e| LogError::Checkpoint(e.to_string()))?;
        let mut note =
            Note::new(&cp.to_bytes(), &[]).map_err(|e| LogError::Checkpoint(e.to_string()))?;
        note.add_sigs(&[&self.signer])
            .map_err(|e| LogError::Checkpoint(e.to_string()))?;
        Ok(note.to_bytes())
    }
}

/// A checkpoint whose signature has been verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCheckpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root hash.
    pub root: Hash,
}

/// Check a signed checkpoint against a verifier key (`<name>+<id>+<key>`).
pub fn verify_checkpoint(note_bytes: &[u8], vkey: &str) -> Result<VerifiedCheckpoint, LogError> {
    let verifier = StandardVerifier::new(vkey.trim())
        .map_err(|e| LogError::Key(format!("not a valid verifier key: {e}")))?;
    let note = Note::from_bytes(note_bytes)
        .map_err(|e| LogError::Checkpoint(format!("not a signed note: {e}")))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| LogError::Checkpoint(format!("signature check failed: {e}")))?;
    let cp = Checkpoint::from_bytes(note.text())
        .map_err(|e| LogError::Checkpoint(format!("not a tlog-checkpoint: {e}")))?;
    let key_name = vkey.trim().split('+').next().unwrap_or_default();
    if cp.origin() != key_name {
        return Err(LogError::Checkpoint(format!(
            "checkpoint origin {:?} is not the key's name {key_name:?}",
            cp.origin()
        )));
    }
    Ok(VerifiedCheckpoint {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        root: *cp.hash(),
    })
}

/// Read a checkpoint's size without checking its signature (to know which tiles are already
/// written). Never use the result as evidence.
pub(crate) fn unverified_size(note_bytes: &[u8]) -> Option<u64> {
    let note = Note::from_bytes(note_bytes).ok()?;
    Checkpoint::from_bytes(note.text()).ok().map(|c| c.size())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_tampering() {
        let keys = generate_key("truce.example/evidence").unwrap();
        let signer = LogSigner::from_skey(&keys.skey).unwrap();
        let root = tlog_tiles::record_hash(b"x");
        let note = signer.sign(1, root).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(text.starts_with("truce.example/evidence\n1\n"), "{text}");
        assert!(
            text.contains("\n\n\u{2014} truce.example/evidence "),
            "{text}"
        );
        let cp = verify_checkpoint(&note, &keys.vkey).unwrap();
        assert_eq!((cp.size, cp.root), (1, root));

        let forged = text.replacen("\n1\n", "\n2\n", 1);
        assert!(verify_checkpoint(forged.as_bytes(), &keys.vkey).is_err());
        let other = generate_key("truce.example/evidence").unwrap();
        assert!(verify_checkpoint(&note, &other.vkey).is_err());
        assert!(generate_key("bad name").is_err());
    }
}
