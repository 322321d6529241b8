//! Feeds arbitrary bytes to file tracking: typing, hashing, buffering and
//! unpacking (ZIP/OOXML, gzip, tar, PDF), with small bounds so bombs and
//! deep nesting are exercised. The first byte picks the piece size.
#![no_main]

use leakwatch::app::FileMeta;
use leakwatch::files::{FileTrack, FilesConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let cfg = FilesConfig {
        max_buffer: 1 << 16,
        max_depth: 3,
        max_entries: 32,
        max_decompressed: 1 << 18,
        ratio_floor: 1 << 12,
        ..FilesConfig::default()
    };
    let mut t = FileTrack::new(FileMeta::default());
    let mut raw = 0usize;
    for piece in rest.chunks(usize::from(seed) + 1) {
        t.push(piece, &cfg, &mut |d| raw += d.len());
    }
    let mut text = 0usize;
    let r = t.finish(&cfg, &mut |d| raw += d.len(), &mut |_, d| text += d.len());
    assert_eq!(r.size, rest.len() as u64);
    assert!(raw <= rest.len());
    // Extracted text is bounded by the decompression budget (plus the
    // buffered bytes themselves for stored members and plain PDFs, and
    // one separator per markup tag).
    assert!(text <= 4 * ((1 << 18) + rest.len()));
});
