//! Feeds arbitrary bytes straight to each extractor (ZIP/OOXML, gzip, tar,
//! PDF) and to the XML text stripper, bypassing magic typing.
#![no_main]

use leakwatch::files::{extract::extract, pdf, xml, FileType, FilesConfig};
use libfuzzer_sys::fuzz_target;

const KINDS: [FileType; 7] = [
    FileType::Zip,
    FileType::Docx,
    FileType::Xlsx,
    FileType::Gzip,
    FileType::Tar,
    FileType::Pdf,
    FileType::Pptx,
];

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let cfg = FilesConfig {
        max_depth: 3,
        max_entries: 32,
        max_decompressed: 1 << 18,
        ratio_floor: 1 << 12,
        ..FilesConfig::default()
    };
    let kind = KINDS[usize::from(seed) % KINDS.len()];
    let mut n = 0usize;
    let _ = extract(rest, kind, &cfg, &mut |_, d| n += d.len());
    let mut out = Vec::new();
    let _ = pdf::extract_text(rest, &mut out, 1 << 16);
    assert!(out.len() <= 1 << 16);
    out.clear();
    let mode = if seed & 1 == 0 { xml::Mode::Office } else { xml::Mode::Markup };
    // A bound the input can exceed, so the cut is exercised too.
    let max = 16 + usize::from(seed) * 16;
    let _ = xml::to_text(rest, mode, &mut out, max);
    assert!(out.len() <= max);
});
