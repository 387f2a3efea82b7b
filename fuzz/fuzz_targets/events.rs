//! Published events read back (`truce verify` re-assesses from them): arbitrary text never
//! panics, and events written again read back with the same ids, kinds, times and evidence
//! (when they read back at all: absurd numbers round to infinity, written as null). The same
//! text as a previous report's findings (`truce report --previous` counts them) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = truce_report::html::counts(text);
    if let Ok(events) = truce_engine::parse_events(text) {
        let registry = truce_model::SensorRegistry::default();
        if let Ok(again) = truce_engine::events_geojson_text(&events, &registry) {
            let Ok(back) = truce_engine::parse_events(&again) else {
                return;
            };
            assert_eq!(back.len(), events.len());
            for (a, b) in events.iter().zip(&back) {
                assert_eq!(
                    (&a.id, a.kind, a.time, &a.evidence),
                    (&b.id, b.kind, b.time, &b.evidence)
                );
            }
        }
    }
});
