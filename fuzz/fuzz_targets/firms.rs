//! The FIRMS CSV reader on arbitrary bytes: never panics; every row it accepts has a position
//! in range.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = truce_ingest::firms::parse(data) {
        for r in rows {
            if let truce_ingest::firms::Row::Anomaly { body, .. } = r {
                let lat = body["lat"].as_f64().expect("lat is a number");
                assert!((-90.0..=90.0).contains(&lat));
            }
        }
    }
});
