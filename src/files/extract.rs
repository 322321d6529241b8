//! Unpacking files for scanning: ZIP (and the OOXML text of docx, xlsx and
//! pptx), gzip, tar, text-based PDFs and OLE2 compound files (the text of
//! legacy doc, xls and ppt: [`super::ole`]), nested up to a depth.
//!
//! Every decompressed byte counts against one budget per file
//! ([`FilesConfig::max_decompressed`]); a member may not inflate more than
//! [`FilesConfig::max_ratio`] times its compressed size (past
//! [`FilesConfig::ratio_floor`]); archives are followed
//! [`FilesConfig::max_depth`] deep and at most
//! [`FilesConfig::max_entries`] members are read per file. Each bound hit is
//! named in the result (`archive_depth`, `archive_entries`,
//! `decompressed_size`, `decompress_ratio`; `extract_error` for a damaged
//! or unsupported archive) and the rest is skipped, never guessed.

use std::io::{Cursor, Read};

use super::magic::{sniff, FileType};
use super::xml::{self, Mode};
use super::FilesConfig;
use crate::files::{ole, pdf};

/// Receives extracted content: `path` is the chain of containers it came
/// out of (outermost first), `data` one whole item.
pub type TextOut<'a> = dyn FnMut(&[FileType], &[u8]) + 'a;

/// Unpacks `data` (typed `kind`) and hands every readable item to `out`.
/// Returns the limits hit, in the order first hit, and the type refined by
/// the archive's member names (a ZIP whose `word/` entries lie beyond the
/// sniffed head is a docx).
pub fn extract(
    data: &[u8],
    kind: FileType,
    cfg: &FilesConfig,
    out: &mut TextOut<'_>,
) -> (Vec<&'static str>, FileType) {
    let mut x = Extractor {
        cfg,
        budget: cfg.max_decompressed,
        entries: 0,
        limits: Vec::new(),
        path: Vec::new(),
        refined: None,
    };
    x.unpack(data, kind, out);
    (x.limits, x.refined.unwrap_or(kind))
}

struct Extractor<'c> {
    cfg: &'c FilesConfig,
    /// Decompressed bytes still allowed for this file.
    budget: u64,
    /// Archive members read so far.
    entries: usize,
    limits: Vec<&'static str>,
    path: Vec<FileType>,
    /// The outermost archive's type as refined from its member names.
    refined: Option<FileType>,
}

impl Extractor<'_> {
    fn note(&mut self, limit: &'static str) {
        if !self.limits.contains(&limit) {
            self.limits.push(limit);
        }
    }

    /// A container (or PDF) at the current depth.
    fn unpack(&mut self, data: &[u8], kind: FileType, out: &mut TextOut<'_>) {
        if self.path.len() >= self.cfg.max_depth {
            self.note("archive_depth");
            return;
        }
        self.path.push(kind);
        match kind {
            FileType::Zip | FileType::Docx | FileType::Xlsx | FileType::Pptx => {
                self.zip(data, kind, out)
            }
            FileType::Gzip => self.gzip(data, out),
            FileType::Tar => self.tar(data, out),
            FileType::Pdf => self.pdf(data, out),
            FileType::Ole | FileType::Doc | FileType::Xls | FileType::Ppt => self.ole(data, out),
            _ => {}
        }
        self.path.pop();
    }

    /// One archive member: unpacked further, or handed out as it is.
    fn member(&mut self, data: &[u8], out: &mut TextOut<'_>) {
        let kind = sniff(data.get(..super::magic::SNIFF_LEN).unwrap_or(data));
        if kind.needs_extraction() {
            self.unpack(data, kind, out);
        } else if !data.is_empty() {
            out(&self.path, data);
        }
    }

    /// Counts a member; false past the entry bound.
    fn next_entry(&mut self) -> bool {
        if self.entries >= self.cfg.max_entries {
            self.note("archive_entries");
            return false;
        }
        self.entries += 1;
        true
    }

    /// Reads `r` to its end within the budget and the ratio bound for
    /// `compressed` input bytes; None (noted) when a bound cut it.
    fn inflate(&mut self, r: &mut dyn Read, compressed: u64) -> Option<Vec<u8>> {
        let by_ratio = compressed
            .saturating_mul(self.cfg.max_ratio)
            .max(self.cfg.ratio_floor);
        let allowed = self.budget.min(by_ratio);
        let mut buf = Vec::new();
        let read = r.take(allowed.saturating_add(1)).read_to_end(&mut buf);
        self.budget = self.budget.saturating_sub(buf.len() as u64);
        if buf.len() as u64 > allowed {
            self.note(if allowed == by_ratio && by_ratio < self.budget {
                "decompress_ratio"
            } else {
                "decompressed_size"
            });
            return None;
        }
        if read.is_err() {
            // Damaged data: what inflated before the error is still read.
            self.note("extract_error");
        }
        Some(buf)
    }

    fn zip(&mut self, data: &[u8], kind: FileType, out: &mut TextOut<'_>) {
        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(data)) else {
            self.note("extract_error");
            return;
        };
        let kind = match kind {
            FileType::Zip => ooxml_flavour(archive.file_names()),
            k => k,
        };
        if let Some(last) = self.path.last_mut() {
            *last = kind;
        }
        if self.path.len() == 1 {
            self.refined = Some(kind);
        }
        for i in 0..archive.len() {
            if self.budget == 0 {
                self.note("decompressed_size");
                return;
            }
            let (name, body) = {
                let Ok(mut f) = archive.by_index(i) else {
                    self.note("extract_error");
                    continue;
                };
                if f.is_dir() {
                    continue;
                }
                if !self.next_entry() {
                    return;
                }
                let name = f.name().to_string();
                if kind != FileType::Zip && office_skip(&name) {
                    continue;
                }
                let compressed = f.compressed_size();
                match self.inflate(&mut f, compressed) {
                    Some(body) => (name, body),
                    None => continue,
                }
            };
            if kind != FileType::Zip && name.ends_with(".xml") {
                let mut text = Vec::new();
                xml::to_text(&body, Mode::Office, &mut text, body.len());
                if !text.is_empty() {
                    out(&self.path, &text);
                }
            } else {
                self.member(&body, out);
            }
        }
    }

    fn gzip(&mut self, data: &[u8], out: &mut TextOut<'_>) {
        if !self.next_entry() {
            return;
        }
        let mut z = flate2::read::MultiGzDecoder::new(data);
        if let Some(body) = self.inflate(&mut z, data.len() as u64) {
            self.member(&body, out);
        }
    }

    fn tar(&mut self, data: &[u8], out: &mut TextOut<'_>) {
        let mut off = 0usize;
        while let Some(header) = data.get(off..off + 512) {
            if header.iter().all(|&b| b == 0) {
                return;
            }
            let Some(size) = octal(header.get(124..136).unwrap_or_default()) else {
                self.note("extract_error");
                return;
            };
            let start = off + 512;
            let end = start.saturating_add(size);
            let body = data.get(start..end.min(data.len())).unwrap_or_default();
            let regular = matches!(header.get(156), Some(b'0' | 0 | b'7'));
            if regular {
                if !self.next_entry() {
                    return;
                }
                self.budget = self.budget.saturating_sub(body.len() as u64);
                self.member(body, out);
            }
            off = start.saturating_add(size.div_ceil(512).saturating_mul(512));
        }
    }

    fn pdf(&mut self, data: &[u8], out: &mut TextOut<'_>) {
        let mut text = Vec::new();
        let max = usize::try_from(self.budget).unwrap_or(usize::MAX);
        if !pdf::extract_text(data, &mut text, max) {
            self.note("decompressed_size");
        }
        self.budget = self.budget.saturating_sub(text.len() as u64);
        if !text.is_empty() {
            out(&self.path, &text);
        }
    }
}

impl Extractor<'_> {
    /// An OLE2 compound file: its streams are read (bounded by the entry
    /// count and the budget); Word, Excel and PowerPoint streams are turned
    /// into text, other streams handed on as members (the normalisation
    /// chain reads UTF-16 runs in them; an embedded archive is unpacked).
    fn ole(&mut self, data: &[u8], out: &mut TextOut<'_>) {
        // `cfb` validates the sector chains it follows; a panic on a
        // malformed file is still contained as an extraction error.
        let opened = std::panic::catch_unwind(|| cfb::CompoundFile::open(Cursor::new(data)));
        let Ok(Ok(mut cf)) = opened else {
            self.note("extract_error");
            return;
        };
        let entries: Vec<(std::path::PathBuf, String)> = cf
            .walk()
            .filter(|e| e.is_stream())
            .take(self.cfg.max_entries.saturating_add(1))
            .map(|e| (e.path().to_path_buf(), e.name().to_string()))
            .collect();
        let kind = ole::flavour(entries.iter().map(|(_, n)| n.as_str()));
        if let Some(last) = self.path.last_mut() {
            *last = kind;
        }
        if self.path.len() == 1 {
            self.refined = Some(kind);
        }
        let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
        for (path, name) in entries {
            if ole::skipped(&name) && !matches!(name.as_str(), "0Table" | "1Table") {
                continue;
            }
            if !self.next_entry() {
                break;
            }
            let Ok(mut s) = cf.open_stream(&path) else {
                self.note("extract_error");
                continue;
            };
            let len = s.len();
            if let Some(body) = self.inflate(&mut s, len) {
                streams.push((name, body));
            }
        }
        self.ole_streams(kind, &streams, out);
    }

    /// Text of the streams read from a compound file.
    fn ole_streams(
        &mut self,
        kind: FileType,
        streams: &[(String, Vec<u8>)],
        out: &mut TextOut<'_>,
    ) {
        let get = |n: &str| {
            streams
                .iter()
                .find(|(s, _)| s == n)
                .map(|(_, b)| b.as_slice())
        };
        for (name, body) in streams {
            let max = usize::try_from(self.budget).unwrap_or(usize::MAX);
            let mut text = Vec::new();
            let done = match (kind, name.as_str()) {
                (FileType::Doc, "WordDocument") => ole::word_table_name(body)
                    .and_then(get)
                    .is_some_and(|t| ole::word_text(body, t, &mut text, max)),
                (FileType::Xls, "Workbook" | "Book") => ole::xls_text(body, &mut text, max),
                (FileType::Ppt, "PowerPoint Document") => {
                    ole::ppt_text(body, &mut text, max);
                    true
                }
                (_, n) if ole::skipped(n) => continue,
                _ => false,
            };
            self.budget = self.budget.saturating_sub(text.len() as u64);
            if !done {
                self.member(body, out);
            } else if !text.is_empty() {
                out(&self.path, &text);
            }
        }
    }
}

/// An Office package by its member names (`word/`, `xl/`, `ppt/`), or a
/// plain ZIP.
fn ooxml_flavour<'a>(mut names: impl Iterator<Item = &'a str>) -> FileType {
    let mut found = FileType::Zip;
    let mut content_types = false;
    for n in names.by_ref().take(10_000) {
        content_types |= n == "[Content_Types].xml";
        if found == FileType::Zip {
            found = if n.starts_with("word/") {
                FileType::Docx
            } else if n.starts_with("xl/") {
                FileType::Xlsx
            } else if n.starts_with("ppt/") {
                FileType::Pptx
            } else {
                FileType::Zip
            };
        }
    }
    if content_types {
        found
    } else {
        FileType::Zip
    }
}

/// OOXML members with no user text (styles, themes, relationships, fonts,
/// settings): not read.
fn office_skip(name: &str) -> bool {
    const SKIP: [&str; 8] = [
        "[Content_Types].xml",
        ".rels",
        "styles",
        "theme",
        "settings",
        "fontTable",
        "docProps/app.xml",
        "calcChain",
    ];
    SKIP.iter().any(|s| name.contains(s))
}

/// A tar numeric field (octal, NUL/space padded); None when malformed or
/// in GNU base-256 form.
fn octal(field: &[u8]) -> Option<usize> {
    let digits = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut n = 0usize;
    for d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        n = n.checked_mul(8)?.checked_add(usize::from(d - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A ZIP with `(name, content)` members, deflated (or stored).
    pub fn make_zip(members: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// A docx whose body has `paragraphs`, each split over two runs.
    pub fn make_docx(paragraphs: &[&str]) -> Vec<u8> {
        let mut body = String::from("<?xml version=\"1.0\"?><w:document xmlns:w=\"x\"><w:body>");
        for p in paragraphs {
            let (a, b) = p.split_at(p.len() / 2);
            body.push_str(&format!(
                "<w:p><w:r><w:t>{a}</w:t></w:r><w:r><w:t xml:space=\"preserve\">{b}</w:t></w:r></w:p>"
            ));
        }
        body.push_str("</w:body></w:document>");
        make_zip(
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("_rels/.rels", b"<Relationships/>"),
                ("word/document.xml", body.as_bytes()),
                ("word/styles.xml", b"<w:styles>99999999999</w:styles>"),
            ],
            true,
        )
    }

    /// An xlsx with `shared` strings and one sheet of numeric `cells`.
    pub fn make_xlsx(shared: &[&str], cells: &[&str]) -> Vec<u8> {
        let mut sst = String::from("<sst>");
        for s in shared {
            sst.push_str(&format!("<si><t>{s}</t></si>"));
        }
        sst.push_str("</sst>");
        let mut sheet = String::from("<worksheet><sheetData><row r=\"1\">");
        for (i, v) in cells.iter().enumerate() {
            sheet.push_str(&format!("<c r=\"A{i}\"><v>{v}</v></c>"));
        }
        sheet.push_str(
            "<c t=\"inlineStr\"><is><t>inline&amp;text</t></is></c></row></sheetData></worksheet>",
        );
        make_zip(
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("xl/workbook.xml", b"<workbook/>"),
                ("xl/sharedStrings.xml", sst.as_bytes()),
                ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
            ],
            true,
        )
    }

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    pub fn make_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in members {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    pub fn run(data: &[u8], cfg: &FilesConfig) -> (Vec<(String, String)>, Vec<&'static str>) {
        let mut items = Vec::new();
        let kind = sniff(data);
        let (limits, _) = extract(data, kind, cfg, &mut |path, d| {
            let p: Vec<&str> = path.iter().map(|t| t.as_str()).collect();
            items.push((p.join("/"), String::from_utf8_lossy(d).into_owned()));
        });
        (items, limits)
    }

    #[test]
    fn office_type_refined_from_member_names() {
        let filler = vec![b'a'; 3000];
        let z = make_zip(
            &[
                ("[Content_Types].xml", &filler),
                ("word/document.xml", b"<w:p>13800138000</w:p>"),
            ],
            false,
        );
        assert_eq!(sniff(&z[..1024]), FileType::Zip);
        let (limits, kind) = extract(&z, FileType::Zip, &FilesConfig::default(), &mut |p, _| {
            assert_eq!(p, [FileType::Docx]);
        });
        assert!(limits.is_empty());
        assert_eq!(kind, FileType::Docx);
    }

    #[test]
    fn docx_text_runs_are_joined() {
        let (items, limits) = run(
            &make_docx(&["phone 13800138000", "id 11010519491231002X"]),
            &FilesConfig::default(),
        );
        assert!(limits.is_empty(), "{limits:?}");
        assert_eq!(items.len(), 1, "styles are skipped: {items:?}");
        assert_eq!(items[0].0, "docx");
        assert!(items[0].1.contains("phone 13800138000\n"));
        assert!(items[0].1.contains("id 11010519491231002X"));
    }

    #[test]
    fn xlsx_shared_strings_and_cells() {
        let (items, _) = run(
            &make_xlsx(&["张三", "13800138000"], &["6222021234567890123", "42"]),
            &FilesConfig::default(),
        );
        let all: String = items.iter().map(|i| i.1.as_str()).collect();
        assert!(items.iter().all(|i| i.0 == "xlsx"));
        assert!(all.contains("\n13800138000\n"), "{all}");
        assert!(all.contains("\n6222021234567890123\n"), "{all}");
        assert!(all.contains("inline&text"), "{all}");
    }

    #[test]
    fn nested_zip_gzip_tar() {
        let inner = make_tar(&[
            ("a.csv", b"name,phone\nli,13800138000\n"),
            (
                "b.pdf",
                &crate::files::pdf::tests::make_pdf(&["x 13900139000"], true),
            ),
        ]);
        let z = make_zip(
            &[
                ("t.tar.gz", &gzip(&inner)),
                ("s.txt", b"stored 13700137000"),
            ],
            false,
        );
        let (items, limits) = run(&z, &FilesConfig::default());
        assert!(limits.is_empty(), "{limits:?}");
        let got: Vec<(&str, bool)> = items
            .iter()
            .map(|(p, t)| (p.as_str(), t.contains("13")))
            .collect();
        assert_eq!(
            got,
            vec![
                ("zip/gzip/tar", true),
                ("zip/gzip/tar/pdf", true),
                ("zip", true)
            ]
        );
    }

    #[test]
    fn depth_entries_and_bombs_are_bounded() {
        let deep = make_zip(
            &[(
                "1.zip",
                &make_zip(
                    &[("2.zip", &make_zip(&[("x.txt", b"13800138000")], true))],
                    true,
                ),
            )],
            true,
        );
        let cfg = FilesConfig {
            max_depth: 2,
            ..FilesConfig::default()
        };
        let (items, limits) = run(&deep, &cfg);
        assert!(items.is_empty());
        assert_eq!(limits, vec!["archive_depth"]);

        let many: Vec<(String, Vec<u8>)> = (0..10)
            .map(|i| (format!("{i}.txt"), b"x".to_vec()))
            .collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let cfg = FilesConfig {
            max_entries: 3,
            ..FilesConfig::default()
        };
        let (items, limits) = run(&make_zip(&refs, true), &cfg);
        assert_eq!(items.len(), 3);
        assert_eq!(limits, vec!["archive_entries"]);

        let bomb = gzip(&vec![0u8; 8 << 20]);
        let cfg = FilesConfig {
            ratio_floor: 1 << 16,
            ..FilesConfig::default()
        };
        let (items, limits) = run(&bomb, &cfg);
        assert!(items.is_empty());
        assert_eq!(limits, vec!["decompress_ratio"]);
        let cfg = FilesConfig {
            max_decompressed: 1 << 20,
            ..FilesConfig::default()
        };
        let (_, limits) = run(&bomb, &cfg);
        assert_eq!(limits, vec!["decompressed_size"]);
    }

    proptest::proptest! {
        #[test]
        fn extractors_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000), k in 0usize..7) {
            let kinds = [FileType::Zip, FileType::Docx, FileType::Xlsx, FileType::Gzip, FileType::Tar, FileType::Pdf, FileType::Pptx];
            let cfg = FilesConfig { max_decompressed: 1 << 16, ..FilesConfig::default() };
            let mut n = 0usize;
            let _ = extract(&data, kinds[k], &cfg, &mut |_, d| n += d.len());
            let mut out = Vec::new();
            let _ = crate::files::pdf::extract_text(&data, &mut out, 1000);
            proptest::prop_assert!(out.len() <= 1000);
            out.clear();
            let _ = xml::to_text(&data, Mode::Office, &mut out, 500);
            proptest::prop_assert!(out.len() <= 500);
        }

        #[test]
        fn tar_and_pdf_prefixes_never_panic(cut in 0usize..3000) {
            let t = make_tar(&[("a.txt", b"13800138000"), ("b.gz", &gzip(b"x"))]);
            let _ = run(t.get(..cut.min(t.len())).unwrap_or_default(), &FilesConfig::default());
            let p = crate::files::pdf::tests::make_pdf(&["13800138000 (x)"], true);
            let mut out = Vec::new();
            let _ = crate::files::pdf::extract_text(p.get(..cut.min(p.len())).unwrap_or_default(), &mut out, 1 << 16);
        }
    }

    #[test]
    fn damaged_archives_are_noted() {
        let mut z = make_docx(&["13800138000"]);
        z.truncate(z.len() / 2);
        let (items, limits) = run(&z, &FilesConfig::default());
        assert!(items.is_empty());
        assert_eq!(limits, vec!["extract_error"]);
        assert_eq!(octal(b"0000017\0"), Some(15));
        assert_eq!(octal(b"\x80\0\0"), None);
    }
}
