//! Files crossing the wire: hashing, typing, bounded buffering and
//! unpacking for scanning.
//!
//! A protocol decoder marks a content item as a file
//! ([`ContentSink::begin_file`](crate::app::ContentSink::begin_file)); the
//! worker feeds its bytes to a [`FileTrack`] until the item ends. The track
//! hashes every byte (MD5, SHA-256), types the file by its first
//! [`magic::SNIFF_LEN`] bytes ([`magic::sniff`]), and then either
//!
//! - hands the bytes on to be scanned as they are (text, images, OLE, any
//!   unknown type), or
//! - buffers the whole file (ZIP, OOXML, gzip, tar, PDF: their contents are
//!   unreadable in the raw bytes) up to [`FilesConfig::max_buffer`] and
//!   unpacks it at its end ([`extract`]). A file past the bound is noted
//!   (`file_buffer`) and scanned raw from then on.
//!
//! Buffers of all open files of a worker share one bound
//! ([`FilesConfig::memcap`], through a [`MemCap`]); a file whose buffer
//! would pass it is scanned raw from there (noted `memcap`).
//!
//! The [`FileReport`] says whether the file is complete: no gap, and as
//! long as its declared size when one was declared.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use md5::{Digest, Md5};
use serde::Deserialize;
use sha2::Sha256;

use crate::app::FileMeta;

pub mod extract;
pub mod magic;
pub mod ole;
pub mod pdf;
pub mod xml;

pub use self::extract::TextOut;
pub use self::magic::{sniff, FileType};

/// `[files]`: bounds of file tracking and extraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Bytes of one file buffered for extraction (archives, Office
    /// documents, PDFs); a larger file is scanned raw (noted `file_buffer`).
    pub max_buffer: usize,
    /// Archive nesting followed (a docx in a zip in a gzip is depth 3).
    pub max_depth: usize,
    /// Archive members read per file.
    pub max_entries: usize,
    /// Decompressed bytes per file, over all members and levels.
    pub max_decompressed: u64,
    /// Largest decompressed/compressed ratio of one member, checked past
    /// `ratio_floor` bytes.
    pub max_ratio: u64,
    /// Decompressed bytes of a member below which the ratio is not checked.
    pub ratio_floor: u64,
    /// FTP data connections announced (PORT/EPRT/227/229) and not yet
    /// seen, tracked at once; the oldest is dropped (counted).
    pub ftp_max_expectations: usize,
    /// Seconds (packet time) an announced FTP data connection is awaited,
    /// and a linked one may stay idle before its routing is forgotten.
    pub ftp_expect_timeout: u64,
    /// Bytes buffered over all open files of one worker; a file whose
    /// buffer would pass it is scanned raw (noted `memcap`).
    pub memcap: usize,
}

impl Default for FilesConfig {
    fn default() -> FilesConfig {
        FilesConfig {
            max_buffer: 8 << 20,
            max_depth: 4,
            max_entries: 1000,
            max_decompressed: 64 << 20,
            max_ratio: 100,
            ratio_floor: 1 << 20,
            ftp_max_expectations: 4096,
            ftp_expect_timeout: 120,
            memcap: 64 << 20,
        }
    }
}

impl FilesConfig {
    /// Checks the bounds.
    ///
    /// # Errors
    /// A message naming the bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_depth == 0 || self.max_depth > 32 {
            return Err("files.max_depth must be between 1 and 32".into());
        }
        if self.ftp_max_expectations == 0 {
            return Err("files.ftp_max_expectations must be at least 1".into());
        }
        if self.max_ratio == 0 {
            return Err("files.max_ratio must be at least 1".into());
        }
        if self.memcap < magic::SNIFF_LEN {
            return Err(format!(
                "files.memcap must be at least {} bytes",
                magic::SNIFF_LEN
            ));
        }
        Ok(())
    }
}

/// What is known about a file at its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// What the protocol said about it.
    pub meta: FileMeta,
    /// Type by magic bytes.
    pub magic: FileType,
    /// Bytes seen.
    pub size: u64,
    /// Hex MD5 of the bytes seen.
    pub md5: String,
    /// Hex SHA-256 of the bytes seen.
    pub sha256: String,
    /// No gap, and the declared size (if any) was seen.
    pub complete: bool,
    /// Bytes lost in gaps.
    pub gap_bytes: u64,
    /// Bounds hit while buffering or unpacking.
    pub limits_hit: Vec<&'static str>,
}

/// The buffer bound shared by the open files of one worker (cloned into
/// each [`FileTrack`]; atomic only so that tracks stay `Send`).
#[derive(Clone, Debug)]
pub struct MemCap {
    held: Arc<AtomicUsize>,
    cap: usize,
}

impl MemCap {
    /// A bound of `cap` bytes.
    pub fn new(cap: usize) -> MemCap {
        MemCap {
            held: Arc::new(AtomicUsize::new(0)),
            cap,
        }
    }

    /// Bytes held now by all tracks.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes if they fit.
    fn take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                h.checked_add(n).filter(|t| *t <= self.cap)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                Some(h.saturating_sub(n))
            });
    }
}

/// Bytes a track holds of its [`MemCap`], given back when dropped (also
/// when a flow ends without finishing its file).
#[derive(Debug, Default)]
struct Reservation {
    cap: Option<MemCap>,
    bytes: usize,
}

impl Reservation {
    /// Takes `n` more bytes; false when the cap would be passed.
    fn grow(&mut self, n: usize) -> bool {
        match &self.cap {
            Some(c) if !c.take(n) => false,
            _ => {
                self.bytes += n;
                true
            }
        }
    }

    fn release(&mut self) {
        if let Some(c) = &self.cap {
            c.give(self.bytes);
        }
        self.bytes = 0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

/// One file being received.
pub struct FileTrack {
    meta: FileMeta,
    size: u64,
    md5: Md5,
    sha256: Sha256,
    kind: Option<FileType>,
    buf: Vec<u8>,
    buffering: bool,
    gap_bytes: u64,
    gaps: u32,
    limits: Vec<&'static str>,
    reserved: Reservation,
}

impl FileTrack {
    /// Starts tracking a file described by `meta`.
    pub fn new(meta: FileMeta) -> FileTrack {
        FileTrack {
            meta,
            size: 0,
            md5: Md5::new(),
            sha256: Sha256::new(),
            kind: None,
            buf: Vec::new(),
            buffering: false,
            gap_bytes: 0,
            gaps: 0,
            limits: Vec::new(),
            reserved: Reservation::default(),
        }
    }

    /// Starts tracking a file whose buffer counts against `cap`.
    pub fn with_memcap(meta: FileMeta, cap: MemCap) -> FileTrack {
        FileTrack {
            reserved: Reservation {
                cap: Some(cap),
                bytes: 0,
            },
            ..FileTrack::new(meta)
        }
    }

    /// What the protocol said about the file.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    /// Next bytes of the file; bytes to scan as they are go to `raw`.
    pub fn push(&mut self, data: &[u8], cfg: &FilesConfig, raw: &mut dyn FnMut(&[u8])) {
        self.size += data.len() as u64;
        self.md5.update(data);
        self.sha256.update(data);
        match self.kind {
            None => {
                self.buf.extend_from_slice(data);
                if self.buf.len() >= magic::SNIFF_LEN {
                    self.decide(cfg, raw);
                }
            }
            Some(_) if self.buffering => {
                if self.buf.len().saturating_add(data.len()) > cfg.max_buffer {
                    self.overflow("file_buffer", raw);
                    raw(data);
                } else if !self.reserved.grow(data.len()) {
                    self.overflow("memcap", raw);
                    raw(data);
                } else {
                    self.buf.extend_from_slice(data);
                }
            }
            Some(_) => raw(data),
        }
    }

    /// `len` bytes of the file were lost.
    pub fn gap(&mut self, len: u64) {
        self.gaps = self.gaps.saturating_add(1);
        self.gap_bytes = self.gap_bytes.saturating_add(len);
    }

    /// Types the file from the bytes held and picks buffering or raw.
    fn decide(&mut self, cfg: &FilesConfig, raw: &mut dyn FnMut(&[u8])) {
        let head = self.buf.get(..magic::SNIFF_LEN).unwrap_or(&self.buf);
        let kind = sniff(head);
        self.kind = Some(kind);
        let fits = self.buf.len() <= cfg.max_buffer;
        if kind.needs_extraction() && fits && self.reserved.grow(self.buf.len()) {
            self.buffering = true;
        } else {
            if kind.needs_extraction() {
                self.note(if fits { "memcap" } else { "file_buffer" });
            }
            raw(&self.buf);
            self.buf = Vec::new();
        }
    }

    /// A buffer bound (`limit`) was hit: what is held is scanned raw, and
    /// so is the rest.
    fn overflow(&mut self, limit: &'static str, raw: &mut dyn FnMut(&[u8])) {
        self.note(limit);
        self.buffering = false;
        raw(&self.buf);
        self.buf = Vec::new();
        self.reserved.release();
    }

    fn note(&mut self, limit: &'static str) {
        if !self.limits.contains(&limit) {
            self.limits.push(limit);
        }
    }

    /// The file ended: unpacks what was buffered (items to `text`, raw
    /// bytes still held to `raw`) and reports.
    pub fn finish(
        mut self,
        cfg: &FilesConfig,
        raw: &mut dyn FnMut(&[u8]),
        text: &mut TextOut<'_>,
    ) -> FileReport {
        if self.kind.is_none() {
            self.decide(cfg, raw);
        }
        let mut magic = self.kind.unwrap_or(FileType::Binary);
        if self.buffering {
            let (limits, refined) = extract::extract(&self.buf, magic, cfg, text);
            self.buf = Vec::new();
            self.reserved.release();
            magic = refined;
            for l in limits {
                self.note(l);
            }
        }
        let complete = self.gaps == 0 && self.meta.declared_size.is_none_or(|d| d == self.size);
        FileReport {
            magic,
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            complete,
            gap_bytes: self.gap_bytes,
            limits_hit: self.limits,
            meta: self.meta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::extract::tests::{make_docx, make_zip};
    use super::*;
    use proptest::prelude::*;

    fn track(
        data: &[u8],
        piece: usize,
        cfg: &FilesConfig,
        declared: Option<u64>,
    ) -> (Vec<u8>, Vec<String>, FileReport) {
        let meta = FileMeta {
            name: Some("a".into()),
            declared_size: declared,
            ..FileMeta::default()
        };
        let mut t = FileTrack::new(meta);
        let mut raw = Vec::new();
        for p in data.chunks(piece.max(1)) {
            t.push(p, cfg, &mut |d| raw.extend_from_slice(d));
        }
        let mut texts = Vec::new();
        let r = t.finish(cfg, &mut |d| raw.extend_from_slice(d), &mut |_, d| {
            texts.push(String::from_utf8_lossy(d).into_owned())
        });
        (raw, texts, r)
    }

    #[test]
    fn text_is_passed_raw_and_hashed() {
        let data = b"name,phone\nli,13800138000\n".repeat(100);
        for piece in [1, 7, 5000] {
            let (raw, texts, r) = track(
                &data,
                piece,
                &FilesConfig::default(),
                Some(data.len() as u64),
            );
            assert_eq!(raw, data);
            assert!(texts.is_empty());
            assert_eq!(r.magic, FileType::Csv);
            assert_eq!(r.size, data.len() as u64);
            assert!(r.complete);
            assert_eq!(r.sha256, hex::encode(Sha256::digest(&data)));
            assert_eq!(r.md5, hex::encode(Md5::digest(&data)));
        }
    }

    #[test]
    fn docx_is_buffered_and_extracted() {
        let doc = make_docx(&["tel 13800138000"]);
        let (raw, texts, r) = track(
            &doc,
            100,
            &FilesConfig::default(),
            Some(doc.len() as u64 + 1),
        );
        assert!(raw.is_empty());
        assert_eq!(r.magic, FileType::Docx);
        assert!(!r.complete, "declared size not reached");
        assert!(texts.iter().any(|t| t.contains("13800138000")));
    }

    #[test]
    fn buffer_bound_falls_back_to_raw() {
        let big: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = make_zip(&[("a.bin", &big)], false);
        let cfg = FilesConfig {
            max_buffer: 4096,
            ..FilesConfig::default()
        };
        let (raw, texts, r) = track(&z, 1000, &cfg, None);
        assert_eq!(raw, z);
        assert!(texts.is_empty());
        assert_eq!(r.limits_hit, vec!["file_buffer"]);
        assert!(r.complete);
    }

    #[test]
    fn memcap_is_shared_and_given_back() {
        // Stored (not deflated) so that it is longer than the sniffed head.
        let body = format!(
            "<w:document><w:body><w:p><w:r><w:t>tel 13800138000</w:t></w:r></w:p>{}</w:body></w:document>",
            "<w:p/>".repeat(300)
        );
        let doc = make_zip(
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/document.xml", body.as_bytes()),
            ],
            false,
        );
        assert!(doc.len() > magic::SNIFF_LEN);
        let cfg = FilesConfig::default();
        let cap = MemCap::new(doc.len() + 10);
        let meta = FileMeta::default();
        let mut a = FileTrack::with_memcap(meta.clone(), cap.clone());
        let mut b = FileTrack::with_memcap(meta.clone(), cap.clone());
        let (mut raw_a, mut raw_b) = (Vec::new(), Vec::new());
        a.push(&doc, &cfg, &mut |d| raw_a.extend_from_slice(d));
        assert_eq!(cap.held(), doc.len());
        for p in doc.chunks(300) {
            b.push(p, &cfg, &mut |d| raw_b.extend_from_slice(d));
        }
        assert!(raw_a.is_empty());
        assert_eq!(raw_b, doc, "no room left: scanned raw");
        assert_eq!(cap.held(), doc.len(), "b gave back what it held");
        let mut texts = Vec::new();
        let ra = a.finish(&cfg, &mut |_| {}, &mut |_, d| texts.push(d.to_vec()));
        let rb = b.finish(&cfg, &mut |_| {}, &mut |_, _| {});
        assert!(ra.limits_hit.is_empty() && !texts.is_empty());
        assert_eq!(rb.limits_hit, vec!["memcap"]);
        assert_eq!(cap.held(), 0);
        // A track dropped unfinished (flow evicted) gives back too.
        let mut c = FileTrack::with_memcap(meta, cap.clone());
        c.push(&doc, &cfg, &mut |_| {});
        assert_eq!(cap.held(), doc.len());
        drop(c);
        assert_eq!(cap.held(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..3000), piece in 1usize..600) {
            let (_, _, r) = track(&data, piece, &FilesConfig::default(), None);
            prop_assert_eq!(r.size, data.len() as u64);
        }

        #[test]
        fn damaged_archives_never_panic(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
            let mut z = make_docx(&["13800138000 and more text to fill"]);
            if let Some(b) = z.get_mut(flip) { *b = byte; }
            z.truncate(cut.max(1).min(z.len()));
            let (_, _, r) = track(&z, 64, &FilesConfig::default(), None);
            prop_assert_eq!(r.size, z.len() as u64);
            let mut pdf = super::pdf::tests::make_pdf(&["13800138000"], true);
            let at = flip % pdf.len();
            if let Some(b) = pdf.get_mut(at) { *b = byte; }
            let _ = track(&pdf, 64, &FilesConfig::default(), None);
        }
    }
}
