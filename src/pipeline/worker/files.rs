//! Worker side of files ([`FileTrack`] per direction, `fileinfo` events)
//! and of FTP data connections (linking them to their control session).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

use super::{endpoints, envelope, AppSink, Det, DirState, FlowMeta};
use crate::alert::event::{event_type, FileInfoEvent, FileInfoOut, FtpOut};
use crate::alert::{mask_text, EventHead, FindingSet};
use crate::app::ftp::{is_transfer, FtpTx};
use crate::app::{location, proto_name as app_proto, FileMeta};
use crate::capture::Timestamp;
use crate::detect::normalize::{Chain, Step};
use crate::files::{FileReport, FileTrack, FileType, FilesConfig, MemCap};
use crate::flow::{Direction, FlowKey};
use crate::pipeline::output::{OutEvent, SortKey};

/// Longest masked name written.
const MAX_NAME: usize = 512;

/// What file tracking counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Files tracked (`fileinfo` events and unreported generic bodies).
    pub files_total: u64,
    /// `fileinfo` events written.
    pub fileinfo_events: u64,
    /// Files whose contents were unpacked.
    pub extracted_total: u64,
    /// Bytes of extracted content scanned.
    pub extracted_bytes: u64,
    /// Files that hit a bound, by bound name.
    pub limits_hit: Vec<(&'static str, u64)>,
    /// FTP data connections linked to their control session.
    pub ftp_data_linked: u64,
    /// FTP data connections announced.
    pub ftp_expectations: u64,
    /// Announcements dropped at `files.ftp_max_expectations`.
    pub ftp_expectations_evicted: u64,
    /// Announcements that timed out unused.
    pub ftp_expectations_expired: u64,
}

impl FileStats {
    fn count_limit(&mut self, name: &'static str) {
        match self.limits_hit.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => self.limits_hit.push((name, 1)),
        }
    }

    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &FileStats) {
        self.files_total += o.files_total;
        self.fileinfo_events += o.fileinfo_events;
        self.extracted_total += o.extracted_total;
        self.extracted_bytes += o.extracted_bytes;
        for (n, c) in &o.limits_hit {
            for _ in 0..*c {
                self.count_limit(n);
            }
        }
        self.limits_hit.sort();
        self.ftp_data_linked += o.ftp_data_linked;
        self.ftp_expectations += o.ftp_expectations;
        self.ftp_expectations_evicted += o.ftp_expectations_evicted;
        self.ftp_expectations_expired += o.ftp_expectations_expired;
    }

    /// The `files` object of the stats event.
    pub fn to_json(&self) -> serde_json::Value {
        let limits: serde_json::Map<String, serde_json::Value> = self
            .limits_hit
            .iter()
            .map(|(n, c)| ((*n).to_string(), (*c).into()))
            .collect();
        serde_json::json!({
            "files_total": self.files_total,
            "fileinfo_events": self.fileinfo_events,
            "extracted_total": self.extracted_total,
            "extracted_bytes": self.extracted_bytes,
            "limits_hit": limits,
            "ftp_data_linked": self.ftp_data_linked,
            "ftp_expectations": self.ftp_expectations,
            "ftp_expectations_evicted": self.ftp_expectations_evicted,
            "ftp_expectations_expired": self.ftp_expectations_expired,
        })
    }
}

/// A file being received in one direction of a flow.
pub(super) struct FileState {
    track: FileTrack,
    /// Location of the file's raw bytes (the first content piece's).
    base: Option<&'static str>,
    findings: FindingSet,
    ftp: Option<FtpOut>,
    charset: FileCharset,
}

/// Transcoding of a text file's raw bytes: decided on its first bytes
/// (text by magic, not UTF-8, valid GBK/GB18030), then streaming, so that
/// Chinese context words and field names around values are read as
/// UTF-8 (hashes are taken before, on the file's own bytes).
#[derive(Default)]
struct FileCharset {
    decided: bool,
    gbk: Option<Box<encoding_rs::Decoder>>,
}

/// Whether `head` (a file's first bytes) is GBK-family text.
fn looks_gbk(head: &[u8]) -> bool {
    let not_utf8 = matches!(std::str::from_utf8(head), Err(e) if e.error_len().is_some());
    if !not_utf8 || !crate::files::sniff(head).is_text() {
        return false;
    }
    let mut d = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let cap = d
        .max_utf8_buffer_length_without_replacement(head.len())
        .unwrap_or(0);
    let mut out = String::with_capacity(cap);
    let (res, _) = d.decode_to_string_without_replacement(head, &mut out, false);
    !matches!(res, encoding_rs::DecoderResult::Malformed(..))
}

/// The last transfer command of an FTP control session.
#[derive(Clone)]
struct Transfer {
    command: String,
    filename: Option<Vec<u8>>,
    declared_size: Option<u64>,
}

/// An announced FTP data connection.
#[derive(Clone, Copy)]
struct Expect {
    control: u64,
    passive: bool,
    ts: Timestamp,
    seq: u64,
}

/// File tracking and FTP linking state of one worker.
pub(super) struct Files {
    pub(super) cfg: FilesConfig,
    pub(super) stats: FileStats,
    expects: HashMap<(IpAddr, u16), Expect>,
    /// Control flow id -> its last transfer command (bounded with `expects`).
    sessions: HashMap<u64, (Transfer, u64)>,
    /// Data flow id -> (control flow id, passive).
    data: HashMap<u64, (u64, bool, u64)>,
    seq: u64,
    /// Buffer bound over all open files of this worker.
    mem: MemCap,
}

impl Files {
    pub(super) fn new(cfg: FilesConfig) -> Files {
        Files {
            cfg,
            stats: FileStats::default(),
            expects: HashMap::new(),
            sessions: HashMap::new(),
            data: HashMap::new(),
            seq: 0,
            mem: MemCap::new(cfg.memcap),
        }
    }

    fn timeout(&self) -> u64 {
        self.cfg.ftp_expect_timeout.saturating_mul(1_000_000_000)
    }

    /// A new flow: when it goes to an announced FTP data endpoint, links
    /// it and returns true (the caller gives it an FTP data parser).
    pub(super) fn adopt(&mut self, flow_id: u64, ends: [(IpAddr, u16); 2], ts: Timestamp) -> bool {
        if self.expects.is_empty() {
            return false;
        }
        let timeout = self.timeout();
        for ep in ends {
            let Some(e) = self.expects.get(&ep).copied() else {
                continue;
            };
            if ts.saturating_sub(e.ts) > timeout {
                self.expects.remove(&ep);
                self.stats.ftp_expectations_expired += 1;
                continue;
            }
            self.expects.remove(&ep);
            self.seq += 1;
            bounded_insert(
                &mut self.data,
                flow_id,
                (e.control, e.passive, self.seq),
                self.cfg.ftp_max_expectations,
                |v| v.2,
            );
            self.stats.ftp_data_linked += 1;
            return true;
        }
        false
    }

    /// Notes what an FTP control transaction announces.
    fn on_control(&mut self, meta: &FlowMeta, dir: Direction, tx: &FtpTx, ts: Timestamp) {
        let max = self.cfg.ftp_max_expectations;
        if let Some(dp) = tx.data_port {
            // The announcing side listens: PASV/EPSV the server, PORT/EPRT
            // the client.
            let listener_is_lo = meta.client_is_lo != dp.passive;
            let (ip, _, _, _) = endpoints(&meta.key, listener_is_lo);
            self.stats.ftp_expectations += 1;
            if !self.expects.contains_key(&(ip, dp.port)) && self.expects.len() >= max {
                self.stats.ftp_expectations_evicted += 1;
            }
            self.seq += 1;
            let e = Expect {
                control: meta.id,
                passive: dp.passive,
                ts,
                seq: self.seq,
            };
            bounded_insert(&mut self.expects, (ip, dp.port), e, max, |v| v.seq);
        }
        let cmd = tx.command.as_deref().unwrap_or_default();
        self.seq += 1;
        if dir == Direction::ToServer
            && (is_transfer(cmd) || matches!(cmd, "LIST" | "NLST" | "MLSD"))
        {
            let t = Transfer {
                command: cmd.to_string(),
                filename: tx.filename.clone(),
                declared_size: None,
            };
            bounded_insert(&mut self.sessions, meta.id, (t, self.seq), max, |v| v.1);
        } else if let (Some(size), Some((t, _))) =
            (tx.declared_size, self.sessions.get_mut(&meta.id))
        {
            t.declared_size = Some(size);
        }
    }

    /// The transfer a data flow carries: (transfer, passive).
    fn transfer_of(&self, data_flow: u64) -> Option<(&Transfer, bool)> {
        let (control, passive, _) = self.data.get(&data_flow)?;
        Some((&self.sessions.get(control)?.0, *passive))
    }

    fn ftp_out(&self, data_flow: u64) -> Option<FtpOut> {
        let (t, passive) = self.transfer_of(data_flow)?;
        Some(FtpOut {
            command: Some(t.command.clone()),
            filename: t.filename.as_deref().map(|f| mask_text(f, MAX_NAME)),
            reply_code: None,
            data_mode: Some(if passive { "passive" } else { "active" }),
        })
    }
}

/// Inserts into a map bounded to `max` entries, dropping the entry with the
/// smallest `order` first (deterministic: orders are unique).
fn bounded_insert<K: std::hash::Hash + Eq + Copy, V>(
    map: &mut HashMap<K, V>,
    key: K,
    value: V,
    max: usize,
    order: impl Fn(&V) -> u64,
) {
    if !map.contains_key(&key) && map.len() >= max.max(1) {
        if let Some(k) = map.iter().min_by_key(|(_, v)| order(v)).map(|(k, _)| *k) {
            map.remove(&k);
        }
    }
    map.insert(key, value);
}

/// The `ftp` object of a dlp event from an FTP transaction.
pub(super) fn ftp_out(tx: &FtpTx) -> FtpOut {
    FtpOut {
        command: tx.command.clone(),
        filename: tx.filename.as_deref().map(|f| mask_text(f, MAX_NAME)),
        reply_code: tx.reply_code,
        data_mode: tx
            .data_port
            .map(|d| if d.passive { "passive" } else { "active" }),
    }
}

/// Location of content extracted from a file: `BASE|TYPE[/TYPE...]`
/// (e.g. `http.request_body|docx`, `ftp.data|zip/xlsx`). Interned, since
/// finding locations are static; bounded (beyond, `BASE|archive`).
fn label(base: &'static str, path: &[FileType]) -> &'static str {
    const MAX_LABELS: usize = 4096;
    static LABELS: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let types: Vec<&str> = path.iter().map(|t| t.as_str()).collect();
    let name = format!("{base}|{}", types.join("/"));
    let Ok(mut map) = LABELS.get_or_init(Default::default).lock() else {
        return base;
    };
    if let Some(l) = map.get(&name) {
        return l;
    }
    if map.len() >= MAX_LABELS {
        return base;
    }
    let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
    map.insert(name, leaked);
    leaked
}

impl AppSink<'_> {
    /// `begin_file`: the next content item of `dir` is a file.
    pub(super) fn file_begin(&mut self, dir: Direction, meta: &FileMeta) {
        let mut meta = meta.clone();
        let mut ftp = None;
        if self.proto == app_proto::FTP_DATA {
            match self.det.files.transfer_of(self.meta.id) {
                Some((t, _)) if is_transfer(&t.command) => {
                    meta.name = meta.name.or_else(|| {
                        t.filename
                            .as_deref()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                    });
                    meta.declared_size = meta.declared_size.or(t.declared_size);
                    ftp = self.det.files.ftp_out(self.meta.id);
                }
                // A listing, or an unknown transfer: scanned, not a file.
                Some(_) => return,
                None => {}
            }
        }
        let ds = &mut self.dirs[dir.index()];
        self.det.finish_item(ds, self.ts);
        if let Some(old) = ds.file.take() {
            self.det.end_file(
                self.meta,
                dir,
                ds,
                old,
                self.ts,
                self.proto,
                self.dest_name.as_deref(),
            );
        }
        self.det.files.stats.files_total += 1;
        ds.file = Some(Box::new(FileState {
            track: FileTrack::with_memcap(meta, self.det.files.mem.clone()),
            base: None,
            findings: FindingSet::default(),
            ftp,
            charset: FileCharset::default(),
        }));
    }

    /// Content of a file: hashed, typed, buffered or scanned raw.
    pub(super) fn file_content(&mut self, dir: Direction, location: &'static str, data: &[u8]) {
        let ds = &mut self.dirs[dir.index()];
        let Some(mut f) = ds.file.take() else {
            return;
        };
        let base = *f.base.get_or_insert(location);
        let cfg = self.det.files.cfg;
        let (det, ts) = (&mut *self.det, self.ts);
        let FileState {
            track,
            findings,
            charset,
            ..
        } = &mut *f;
        track.push(data, &cfg, &mut |raw| {
            det.scan_file_raw(ds, findings, charset, raw, base, ts, false)
        });
        ds.file = Some(f);
    }

    /// `end_content` of a file: unpack, scan, report.
    pub(super) fn file_end(&mut self, dir: Direction) -> bool {
        let ds = &mut self.dirs[dir.index()];
        let Some(f) = ds.file.take() else {
            return false;
        };
        self.det.end_file(
            self.meta,
            dir,
            ds,
            f,
            self.ts,
            self.proto,
            self.dest_name.as_deref(),
        );
        true
    }

    /// An FTP transaction ended: expectations and transfers are noted;
    /// data connections get their transfer's `ftp` object.
    pub(super) fn ftp_tx(&mut self, dir: Direction, tx: &FtpTx) -> FtpOut {
        if self.proto == app_proto::FTP_DATA {
            return self.det.files.ftp_out(self.meta.id).unwrap_or_default();
        }
        self.det.files.on_control(self.meta, dir, tx, self.ts);
        ftp_out(tx)
    }
}

/// Marks a gap in the file of a direction, if one is open.
pub(super) fn file_gap(ds: &mut DirState, len: u64) {
    if let Some(f) = ds.file.as_mut() {
        f.track.gap(len);
    }
}

/// New-flow endpoints for [`Files::adopt`].
pub(super) fn flow_ends(key: &FlowKey) -> [(IpAddr, u16); 2] {
    [(key.lo_ip, key.lo_port), (key.hi_ip, key.hi_port)]
}

impl Det {
    /// Scans raw bytes of a file, transcoded from GBK when its first bytes
    /// say so (see [`FileCharset`]).
    #[allow(clippy::too_many_arguments)]
    fn scan_file_raw(
        &mut self,
        ds: &mut DirState,
        findings: &mut FindingSet,
        cs: &mut FileCharset,
        raw: &[u8],
        base: &'static str,
        ts: Timestamp,
        last: bool,
    ) {
        if !cs.decided && !raw.is_empty() {
            cs.decided = true;
            if looks_gbk(raw) {
                cs.gbk = Some(Box::new(
                    encoding_rs::GB18030.new_decoder_without_bom_handling(),
                ));
            }
        }
        let Some(dec) = cs.gbk.as_mut() else {
            return self.scan_into(ds, Some(findings), raw, base, ts);
        };
        let cap = dec
            .max_utf8_buffer_length(raw.len())
            .unwrap_or(raw.len().saturating_mul(3));
        let mut text = String::with_capacity(cap);
        let _ = dec.decode_to_string(raw, &mut text, last);
        if ds.location.is_some_and(|l| l != base) {
            self.finish_item_into(ds, None, ts);
        }
        let chain = Chain::EMPTY.with(Step::Gbk);
        self.scan_with(ds, Some(findings), text.as_bytes(), base, chain, ts, false);
    }

    /// Finishes a file: the raw tail and extracted contents are scanned
    /// (into the direction's findings and the file's), then reported.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn end_file(
        &mut self,
        meta: &FlowMeta,
        dir: Direction,
        ds: &mut DirState,
        f: Box<FileState>,
        ts: Timestamp,
        proto: &'static str,
        dest_name: Option<&str>,
    ) {
        let FileState {
            track,
            base,
            mut findings,
            ftp,
            mut charset,
        } = *f;
        let base = base.unwrap_or(location::TCP_STREAM);
        let cfg = self.files.cfg;
        let mut raw_tail = Vec::new();
        let mut texts: Vec<(&'static str, Vec<u8>)> = Vec::new();
        let report = track.finish(
            &cfg,
            &mut |raw| raw_tail.extend_from_slice(raw),
            &mut |path, text| texts.push((label(base, path), text.to_vec())),
        );
        self.scan_file_raw(ds, &mut findings, &mut charset, &raw_tail, base, ts, true);
        self.finish_item_into(ds, Some(&mut findings), ts);
        if !texts.is_empty() {
            self.files.stats.extracted_total += 1;
        }
        for (loc, text) in &texts {
            self.files.stats.extracted_bytes += text.len() as u64;
            self.scan_into(ds, Some(&mut findings), text, loc, ts);
            self.finish_item_into(ds, Some(&mut findings), ts);
        }
        for l in &report.limits_hit {
            self.files.stats.count_limit(l);
        }
        if is_reported(&report) {
            self.emit_fileinfo(
                meta,
                dir,
                ds,
                &report,
                &mut findings,
                ts,
                proto,
                dest_name,
                ftp,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_fileinfo(
        &mut self,
        meta: &FlowMeta,
        dir: Direction,
        ds: &mut DirState,
        r: &FileReport,
        findings: &mut FindingSet,
        ts: Timestamp,
        proto: &'static str,
        dest_name: Option<&str>,
        ftp: Option<FtpOut>,
    ) {
        let sender_is_lo = (dir == Direction::ToServer) == meta.client_is_lo;
        let ends = endpoints(&meta.key, sender_is_lo);
        let mut env = envelope(meta, ts, event_type::FILEINFO, ends);
        env.app_proto = proto;
        let ev = FileInfoEvent {
            envelope: env,
            direction: dir.as_str(),
            dest_name: dest_name.map(str::to_string),
            fileinfo: FileInfoOut {
                filename: r
                    .meta
                    .name
                    .as_deref()
                    .map(|n| mask_text(n.as_bytes(), MAX_NAME)),
                content_type: r.meta.content_type.clone(),
                magic: r.magic.as_str(),
                size: r.size,
                declared_size: r.meta.declared_size,
                md5: r.md5.clone(),
                sha256: r.sha256.clone(),
                complete: r.complete,
                gap_bytes: r.gap_bytes,
                limits_hit: r.limits_hit.clone(),
                findings: findings.take(self.engine.detectors()),
            },
            ftp,
            stream: ds.notes.clone(),
        };
        let json = serde_json::to_string(&ev).unwrap_or_default();
        let key = SortKey {
            ts,
            flow_id: meta.id,
            dir: dir.index() as u8,
            seq: ds.events,
        };
        ds.events += 1;
        self.files.stats.fileinfo_events += 1;
        self.out.push(OutEvent {
            key,
            json,
            head: Some(EventHead::of_type(event_type::FILEINFO)),
            dedup: None,
        });
    }
}

/// A body marked as a file only for its generic type
/// (`application/octet-stream`, no name) is reported only when its magic
/// names a known type.
fn is_reported(r: &FileReport) -> bool {
    let generic = r.meta.content_type.as_deref().is_none_or(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/octet-stream")
    });
    r.meta.name.is_some() || !generic || !(r.magic.is_text() || r.magic == FileType::Binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_interned() {
        let a = label("http.request_body", &[FileType::Zip, FileType::Docx]);
        assert_eq!(a, "http.request_body|zip/docx");
        assert!(std::ptr::eq(
            a,
            label("http.request_body", &[FileType::Zip, FileType::Docx])
        ));
    }

    #[test]
    fn generic_bodies_need_a_known_magic() {
        let mut r = FileTrack::new(FileMeta {
            content_type: Some("application/octet-stream".into()),
            ..FileMeta::default()
        })
        .finish(&FilesConfig::default(), &mut |_| {}, &mut |_, _| {});
        assert!(!is_reported(&r));
        r.magic = FileType::Pdf;
        assert!(is_reported(&r));
        r.magic = FileType::Text;
        r.meta.name = Some("a.txt".into());
        assert!(is_reported(&r));
    }

    #[test]
    fn bounded_insert_drops_the_oldest() {
        let mut m = HashMap::new();
        for i in 0..5u64 {
            bounded_insert(&mut m, i, i, 3, |v| *v);
        }
        let mut keys: Vec<_> = m.keys().copied().collect();
        keys.sort();
        assert_eq!(keys, vec![2, 3, 4]);
    }
}
