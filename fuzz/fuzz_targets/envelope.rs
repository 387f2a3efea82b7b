//! The envelope parser and the payload validator on arbitrary lines: never panic, and a parse
//! that succeeds gives a signing input that is a prefix of the line. Arbitrary input parsed as
//! `truce process` parses a file (`parse_input`, `expected_envelopes`) never panics either, and
//! what it expects to log are lines of the input, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keyring() -> &'static truce_ingest::Keyring {
    static KEYRING: OnceLock<truce_ingest::Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let registry = truce_sim::sample::sample().registry;
        truce_ingest::Keyring::new(&registry).expect("the sample's registry has valid keys")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(jws) = truce_ingest::jws::parse(data) {
        assert!(data.starts_with(jws.signing_input));
        let _ = truce_model::Observation::from_json(&jws.payload);
    }
    // The payload validator also sees raw bytes directly, for coverage of the JSON paths.
    if let Ok(obs) = truce_model::Observation::from_json(data) {
        // Whatever parses must serialize.
        let _ = serde_json_roundtrip(&obs);
    }
    let parsed = truce_ingest::parse_input(keyring(), data);
    let mut end = 0;
    for e in truce_ingest::expected_envelopes(&[parsed]) {
        assert!(e.end > end && e.end <= data.len());
        assert!(
            data[..e.end]
                .windows(e.envelope.len())
                .any(|w| w == e.envelope)
        );
        end = e.end;
    }
});

fn serde_json_roundtrip(obs: &truce_model::Observation) -> usize {
    format!("{obs:?}").len()
}
