//! The records tracker on arbitrary bytes, with a "match" at each `@`,
//! split at arbitrary points (matches near a cut reported late, as the
//! scanner does): no panic, and the same count as one piece.
#![no_main]

use leakwatch::detect::records::Records;
use libfuzzer_sys::fuzz_target;

fn count(data: &[u8], cuts: &[usize]) -> u64 {
    let mut r = Records::default();
    let mut at = 0usize;
    let mut late: Vec<usize> = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    points.push(data.len());
    for p in points {
        let chunk = data.get(at..p).unwrap_or_default();
        for o in late.drain(..) {
            r.note(chunk, at as u64, o as u64);
        }
        for (k, _) in chunk.iter().enumerate().filter(|(_, c)| **c == b'@') {
            if k + 3 >= chunk.len() && p < data.len() {
                late.push(at + k);
            } else {
                r.note(chunk, at as u64, (at + k) as u64);
            }
        }
        let from = r.processed().saturating_sub(at as u64) as usize;
        r.advance(chunk.get(from..).unwrap_or_default());
        at = p;
    }
    r.take()
}

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let cuts = [usize::from(*a) * 3, usize::from(*b) * 7];
    let whole = count(rest, &[]);
    assert_eq!(count(rest, &cuts), whole);
    assert!(whole <= rest.iter().filter(|c| **c == b'@').count() as u64);
});
