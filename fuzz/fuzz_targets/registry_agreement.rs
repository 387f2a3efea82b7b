//! The sensor-registry and agreement readers on arbitrary bytes: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reg) = truce_model::SensorRegistry::from_json(data) {
        let _ = truce_ingest::Keyring::new(&reg);
    }
    let _ = truce_model::Agreement::from_json(data);
});
