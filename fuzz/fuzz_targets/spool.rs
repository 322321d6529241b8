//! Reads arbitrary bytes as a spool segment: the codec must never panic,
//! the valid prefix must re-scan to itself, and opening a spool whose
//! segment holds these bytes must truncate to that prefix and hand back
//! exactly its records.
#![no_main]

use std::time::Duration;

use leakwatch::alert::sinks::spool::{scan_records, FsyncPolicy, Spool, SpoolConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (good, n) = scan_records(data);
    assert!(good <= data.len());
    assert_eq!(scan_records(&data[..good]), (good, n));
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("00000000000000000001.seg"), data).is_err() {
        return;
    }
    let cfg = SpoolConfig {
        dir: dir.path().to_path_buf(),
        max_bytes: 1 << 30,
        segment_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        fsync_interval: Duration::from_secs(1),
    };
    let Ok(mut spool) = Spool::open(cfg) else { return };
    assert_eq!(spool.pending(), n);
    let mut out = Vec::new();
    let mut total = 0;
    while let Ok(Some(t)) = spool.peek(1000, usize::MAX, &mut out) {
        total += out.len() as u64;
        out.clear();
        if spool.ack(t).is_err() {
            break;
        }
    }
    assert_eq!(total, n);
});
