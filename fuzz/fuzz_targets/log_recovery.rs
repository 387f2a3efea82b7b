//! Recovery of the evidence log from arbitrary on-disk bytes: opening never panics; when it
//! succeeds the log is usable (append, commit, reopen give one more entry).
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_log::{ENTRIES_FILE, Log, record};

fuzz_target!(|data: &[u8]| {
    // Half the inputs start with a valid magic so that the record parser is reached.
    let mut bytes = Vec::new();
    if data.first().is_some_and(|b| b & 1 == 0) {
        bytes.extend_from_slice(record::MAGIC);
    }
    bytes.extend_from_slice(data.get(1..).unwrap_or_default());
    let _ = record::scan(&bytes, |_, _, _| {});

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(ENTRIES_FILE), &bytes).expect("write");
    if let Ok((mut log, _)) = Log::open(dir.path()) {
        let n = log.size();
        log.append(b"one more").expect("append");
        log.commit().expect("commit");
        drop(log);
        let (log, rec) = Log::open(dir.path()).expect("reopen after recovery");
        assert_eq!(log.size(), n + 1);
        assert_eq!(rec.cut_bytes, 0);
    }
});
