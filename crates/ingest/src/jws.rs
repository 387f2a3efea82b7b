//! JWS compact serialization (RFC 7515) with EdDSA over Ed25519 (RFC 8037).
//!
//! Hand-written: the JOSE crates either pull in OpenSSL or support far more than the one
//! algorithm the spec allows, and each extra algorithm is attack surface.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::Deserialize;

use crate::Reason;

/// The parts of a compact JWS, decoded but not yet verified.
#[derive(Debug)]
pub struct CompactJws<'a> {
    /// `kid` from the protected header.
    pub kid: String,
    /// The signing input: `BASE64URL(header) '.' BASE64URL(payload)`.
    pub signing_input: &'a [u8],
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Parse a compact JWS. Errors carry the reason code and a message.
pub fn parse(line: &[u8]) -> Result<CompactJws<'_>, (Reason, String)> {
    let mut parts = line.splitn(4, |b| *b == b'.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err((
            Reason::MalformedJws,
            "not a compact JWS: expected three base64url parts separated by '.'".into(),
        ));
    };
    if h.is_empty() || s.is_empty() {
        return Err((
            Reason::MalformedJws,
            "empty header or signature part".into(),
        ));
    }
    let b64 = |part: &[u8], what: &str| {
        URL_SAFE_NO_PAD.decode(part).map_err(|e| {
            (
                Reason::BadBase64,
                format!("{what} is not base64url without padding: {e}"),
            )
        })
    };
    let header_bytes = b64(h, "header")?;
    let payload = b64(p, "payload")?;
    let sig_bytes = b64(s, "signature")?;
    // serde would read a struct from a JSON array too; the header must be an object.
    if header_bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err((
            Reason::BadHeader,
            "protected header is not a JSON object".into(),
        ));
    }
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|e| {
        (
            Reason::BadHeader,
            format!("protected header is not valid: {e}"),
        )
    })?;
    match header.alg.as_deref() {
        Some("EdDSA") => {}
        Some(other) => {
            return Err((
                Reason::UnsupportedAlg,
                format!("alg {other:?} is not supported; only EdDSA (Ed25519)"),
            ));
        }
        None => return Err((Reason::BadHeader, "protected header has no alg".into())),
    }
    if header.crit.is_some() {
        // RFC 7515 4.1.11: a recipient must reject critical extensions it does not understand.
        return Err((
            Reason::BadHeader,
            "crit header parameters are not supported".into(),
        ));
    }
    let kid = header
        .kid
        .ok_or((Reason::BadHeader, "protected header has no kid".to_owned()))?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|_| {
        (
            Reason::BadSignature,
            format!("signature is {} bytes, Ed25519 needs 64", sig_bytes.len()),
        )
    })?;
    Ok(CompactJws {
        kid,
        signing_input: &line[..h.len() + 1 + p.len()],
        payload,
        signature,
    })
}

/// Sign `payload` as a compact JWS with header `{"alg":"EdDSA","kid":kid}`.
pub fn sign(payload: &[u8], kid: &str, key: &SigningKey) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "kid": kid}).to_string();
    let mut out = URL_SAFE_NO_PAD.encode(header.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig.to_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    #[test]
    fn sign_then_parse_then_verify() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let jws = sign(br#"{"v":1}"#, "AC-1", &key);
        let parsed = parse(jws.as_bytes()).unwrap();
        assert_eq!(parsed.kid, "AC-1");
        assert_eq!(parsed.payload, br#"{"v":1}"#);
        key.verifying_key()
            .verify(parsed.signing_input, &parsed.signature)
            .unwrap();
    }

    #[test]
    fn rfc8037_appendix_a4_signature_verifies() {
        // RFC 8037 A.4: the "Example of Ed25519 Signing" JWS.
        let jws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        let line = jws.as_bytes();
        // The RFC header has no kid; check the signature directly.
        let dots: Vec<_> = line
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'.')
            .map(|(i, _)| i)
            .collect();
        let sig = URL_SAFE_NO_PAD.decode(&line[dots[1] + 1..]).unwrap();
        key.verify(&line[..dots[1]], &Signature::from_slice(&sig).unwrap())
            .unwrap();
        assert_eq!(parse(line).unwrap_err().0, Reason::BadHeader);
    }

    #[test]
    fn malformed_inputs_get_their_reasons() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let good = sign(b"{}", "K", &key);
        let cases: Vec<(String, Reason)> = vec![
            ("abc".into(), Reason::MalformedJws),
            ("a.b.c.d".into(), Reason::MalformedJws),
            (".x.y".into(), Reason::MalformedJws),
            (good.replacen('e', "*", 1), Reason::BadBase64),
            (
                format!("{}.e30.{}", URL_SAFE_NO_PAD.encode("[1]"), "AA"),
                Reason::BadHeader,
            ),
            (
                format!(
                    "{}.e30.AA",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"K"}"#)
                ),
                Reason::UnsupportedAlg,
            ),
            (
                format!(
                    "{}.e30.AA",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"K"}"#)
                ),
                Reason::BadSignature,
            ),
        ];
        for (input, reason) in cases {
            assert_eq!(parse(input.as_bytes()).unwrap_err().0, reason, "{input}");
        }
    }
}
