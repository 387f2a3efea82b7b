//! `truce verify` on arbitrary bytes: never panics; an unsigned or badly signed input is never
//! reported as verified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_report::bundle::{VerifyOptions, verify};

fuzz_target!(|data: &[u8]| {
    let opts = VerifyOptions {
        // A key whose private half nobody has: nothing the fuzzer makes can verify.
        mission_key: Some("fuzz.mission+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        previous: None,
        agreement: None,
        full: false,
    };
    if let Ok(problems) = verify(data, &opts) {
        assert!(!problems.is_empty(), "an arbitrary input verified");
    }
});
