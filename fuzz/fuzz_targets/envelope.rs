//! The envelope parser and the payload validator on arbitrary lines: never panic, and a parse
//! that succeeds gives a signing input that is a prefix of the line.
#![no_main]

use libfuzzer_sys::fuzz_target;

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
});

fn serde_json_roundtrip(obs: &truce_model::Observation) -> usize {
    format!("{obs:?}").len()
}
