//! The readers of the simulator's and scorer's outside inputs on arbitrary bytes: never panic.
//! Scenario TOML files, truth.json and findings to score (FORMATS section 5; outside tools
//! write them), and the snapshots of occupied territory and the contact line and admin
//! boundaries that `truce agreement` builds agreements from (a NUL byte splits the input into
//! the two files of `minsk` or of `occupation`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = truce_sim::scenario::Scenario::from_toml(text);
    }
    let _ = serde_json::from_slice::<truce_sim::truth::Truth>(data);
    let _ = truce_sim::score::read_findings(data);
    let (first, admin) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let _ = truce_sim::agreements::minsk(first, admin);
    if let Ok(occupied) = truce_sim::agreements::occupied_polygons(first) {
        let _ = truce_sim::agreements::occupation(occupied, admin, "id", "name", "attribution");
    }
});
