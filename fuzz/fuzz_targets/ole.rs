//! Legacy Office (OLE2/CFB) text extraction: whole compound files through
//! the extractor (the `cfb` crate and the stream readers), and arbitrary
//! bytes straight to the Word, Excel (BIFF8) and PowerPoint readers.
#![no_main]

use leakwatch::files::{extract::extract, ole, FileType, FilesConfig};
use libfuzzer_sys::fuzz_target;

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
    let mut n = 0usize;
    let (_, kind) = extract(rest, FileType::Ole, &cfg, &mut |_, d| n += d.len());
    assert!(matches!(
        kind,
        FileType::Ole | FileType::Doc | FileType::Xls | FileType::Ppt
    ));
    let max = 1 << 14;
    let mut out = Vec::new();
    match seed % 3 {
        0 => {
            let _ = ole::xls_text(rest, &mut out, max);
        }
        1 => {
            let (a, b) = rest.split_at(rest.len() / 2);
            let _ = ole::word_text(a, b, &mut out, max);
        }
        _ => ole::ppt_text(rest, &mut out, max),
    }
    assert!(out.len() <= max);
});
