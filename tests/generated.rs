//! Recall on a generated capture: `benches/gen_replay_pcap.py` writes ~5 MB
//! of HTTP keep-alive, raw TCP and UDP traffic dense with decoy digit runs
//! and sparse synthetic PI, and reports how many distinct values of each
//! type it planted per direction. leakwatch must find exactly those.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::*;

#[test]
fn finds_every_planted_value_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gen.pcap");
    let st = Command::new("python3")
        .arg(root().join("benches/gen_replay_pcap.py"))
        .arg(&out)
        .args(["--size-mb", "5", "--seed", "7"])
        .output()
        .expect("python3 runs the generator");
    assert!(
        st.status.success(),
        "generator failed: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.truth.json", out.display())).expect("truth"),
    )
    .expect("truth json");
    let events = parse(&replay(std::slice::from_ref(&out), 2));
    let mut got: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in reported(&events) {
        got.entry((r.1, r.0)).or_default().insert(r.3);
    }
    let mut want_total = 0;
    for (dir, types) in truth["distinct_pi"].as_object().expect("distinct_pi") {
        for (t, n) in types.as_object().expect("per type") {
            let want = n.as_u64().expect("count") as usize;
            want_total += want;
            let have = got.get(&(dir.clone(), t.clone())).map_or(0, BTreeSet::len);
            assert_eq!(have, want, "{dir} {t}");
        }
    }
    let got_total: usize = got.values().map(BTreeSet::len).sum();
    assert_eq!(got_total, want_total, "no extra values of other types");
}
