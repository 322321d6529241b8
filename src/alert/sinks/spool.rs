//! The on-disk spool of one sink: events waiting for delivery.
//!
//! A spool is a directory of append-only segment files `NNNNNNNNNNNNNNNNNNNN.seg`
//! (20-digit ids, oldest first) and a small `ack` file naming the first
//! undelivered record (`segment offset`). A record is
//! `len: u32 LE | crc32(payload): u32 LE | payload`.
//!
//! - Append writes each record with one `write` call (a `kill -9` loses
//!   nothing the kernel has); `fsync` per [`FsyncPolicy`] bounds what a power
//!   loss can take.
//! - Delivery reads records in order from the oldest segment and
//!   acknowledges them after the peer accepted them; fully delivered
//!   segments are deleted. A crash between delivery and the ack means the
//!   records are sent again (at least once; `event_id` lets consumers
//!   de-duplicate).
//! - Reopening resumes at the ack; a torn or corrupt tail is truncated and
//!   counted (never a panic, never replayed garbage).
//! - The spool is bounded (`max_bytes` on disk). When full, `drop_oldest`
//!   deletes the oldest segment (its undelivered records are counted as
//!   dropped); `block` makes the writer wait (back-pressure).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Largest record accepted (bytes of payload); longer lengths in a segment
/// mean corruption.
pub const MAX_RECORD: usize = 16 << 20;
/// Bytes of a record header.
pub const HEADER_LEN: usize = 8;

const ACK_FILE: &str = "ack";
const SEG_EXT: &str = "seg";

/// When appended records are forced to stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// After every record (safest, slowest).
    Always,
    /// At most every `fsync_interval_ms` (default).
    #[default]
    Interval,
    /// Left to the kernel.
    Never,
}

/// What a full spool (or in-memory queue) does with a new event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullPolicy {
    /// Delete the oldest undelivered events to make room (counted).
    #[default]
    DropOldest,
    /// Make the writer wait: the output thread, then the workers and the
    /// capture slow down (in live capture the kernel then drops packets).
    Block,
}

/// Spool settings.
#[derive(Clone, Debug)]
pub struct SpoolConfig {
    /// Directory (created when missing); one per sink.
    pub dir: PathBuf,
    /// Bound of all segment files together.
    pub max_bytes: u64,
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Interval of [`FsyncPolicy::Interval`].
    pub fsync_interval: Duration,
}

/// One record decoded from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole, valid record and the bytes it took.
    Record(&'a [u8], usize),
    /// The buffer ends inside the record (a torn tail when at end of file).
    Incomplete,
    /// Impossible length or CRC mismatch.
    Corrupt,
}

/// Appends one record to `out`.
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Decodes the record at the start of `buf` (untrusted bytes).
pub fn decode_record(buf: &[u8]) -> Decoded<'_> {
    let (Some(len), Some(crc)) = (le32(buf, 0), le32(buf, 4)) else {
        return Decoded::Incomplete;
    };
    let len = len as usize;
    if len > MAX_RECORD {
        return Decoded::Corrupt;
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Decoded::Incomplete;
    };
    if crc32fast::hash(payload) != crc {
        return Decoded::Corrupt;
    }
    Decoded::Record(payload, HEADER_LEN + len)
}

fn le32(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Where a batch read for delivery starts and ends; passed back to
/// [`Spool::ack`] once the peer accepted the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckToken {
    seg: u64,
    start: u64,
    end: u64,
    records: u64,
}

/// What a spool counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records appended.
    pub appended_total: u64,
    /// Records acknowledged by the peer.
    pub acked_total: u64,
    /// Undelivered records deleted because the spool was full.
    pub dropped_total: u64,
    /// Torn or corrupt tails truncated on open (or found while reading).
    pub truncated_total: u64,
    /// Bytes cut off by those truncations.
    pub truncated_bytes_total: u64,
    /// fsync calls.
    pub fsync_total: u64,
}

#[derive(Clone, Copy, Debug)]
struct Seg {
    id: u64,
    size: u64,
    records: u64,
}

/// The spool of one sink. Not thread-safe by itself: the sink wraps it in a
/// mutex shared by the writer (output thread) and its delivery thread.
pub struct Spool {
    cfg: SpoolConfig,
    /// Oldest first; the last one is being written.
    segs: VecDeque<Seg>,
    head: File,
    /// First undelivered record: offset in `segs[0]` and how many of its
    /// records lie before it.
    ack_off: u64,
    ack_records: u64,
    reader: Option<(u64, u64, BufReader<File>)>,
    scratch: Vec<u8>,
    last_sync: Instant,
    dirty: bool,
    stats: SpoolStats,
}

impl Spool {
    /// Opens (or creates) the spool in `cfg.dir` and resumes after the last
    /// acknowledged record. Torn or corrupt tails are truncated, counted in
    /// [`SpoolStats::truncated_total`] and logged.
    ///
    /// # Errors
    /// The directory or a segment cannot be created, read or truncated.
    pub fn open(cfg: SpoolConfig) -> io::Result<Spool> {
        fs::create_dir_all(&cfg.dir).map_err(|e| ctx(&cfg.dir, e))?;
        let (ack_seg, ack_off) = read_ack(&cfg.dir);
        let mut stats = SpoolStats::default();
        let mut segs = VecDeque::new();
        let mut first_off = 0;
        for id in list_segments(&cfg.dir)? {
            let path = seg_path(&cfg.dir, id);
            if id < ack_seg {
                fs::remove_file(&path).map_err(|e| ctx(&path, e))?;
                continue;
            }
            let from = if id == ack_seg { ack_off } else { 0 };
            let scan = scan_segment(&path, from, &mut stats)?;
            if segs.is_empty() {
                first_off = scan.start;
            }
            segs.push_back(Seg {
                id,
                size: scan.size,
                records: scan.records,
            });
        }
        let next = segs.back().map_or(ack_seg.max(1), |s| s.id + 1);
        let head = create_segment(&cfg.dir, next)?;
        segs.push_back(Seg {
            id: next,
            size: 0,
            records: 0,
        });
        let mut spool = Spool {
            cfg,
            segs,
            head,
            ack_off: first_off,
            ack_records: 0,
            reader: None,
            scratch: Vec::new(),
            last_sync: Instant::now(),
            dirty: false,
            stats,
        };
        spool.drop_delivered_front()?;
        spool.write_ack()?;
        Ok(spool)
    }

    /// Records not yet acknowledged.
    pub fn pending(&self) -> u64 {
        let total: u64 = self.segs.iter().map(|s| s.records).sum();
        total - self.ack_records
    }

    /// Bytes of all segment files.
    pub fn bytes(&self) -> u64 {
        self.segs.iter().map(|s| s.size).sum()
    }

    /// Counters so far.
    pub fn stats(&self) -> SpoolStats {
        self.stats
    }

    /// Whether a payload of `len` bytes fits without dropping anything.
    pub fn has_room(&self, len: usize) -> bool {
        self.bytes() + (len + HEADER_LEN) as u64 <= self.cfg.max_bytes || self.pending() == 0
    }

    /// Appends a record, first deleting the oldest segments when the spool
    /// would exceed its bound (drop-oldest; callers that block check
    /// [`Spool::has_room`] first). Returns the records dropped.
    ///
    /// # Errors
    /// Writing or syncing the segment failed.
    pub fn append(&mut self, payload: &[u8]) -> io::Result<u64> {
        let rec = (payload.len() + HEADER_LEN) as u64;
        let mut dropped = 0;
        if payload.len() > MAX_RECORD || rec > self.cfg.max_bytes {
            self.stats.dropped_total += 1;
            return Ok(1);
        }
        if self.head_seg().size + rec > self.cfg.segment_bytes && self.head_seg().records > 0 {
            self.rotate()?;
        }
        while self.bytes() + rec > self.cfg.max_bytes && self.segs.len() > 1 {
            dropped += self.drop_front()?;
        }
        if self.bytes() + rec > self.cfg.max_bytes {
            // Only the head is left and it is full: start over with it.
            self.rotate()?;
            dropped += self.drop_front()?;
        }
        self.scratch.clear();
        encode_record(payload, &mut self.scratch);
        self.head.write_all(&self.scratch)?;
        if let Some(h) = self.segs.back_mut() {
            h.size += rec;
            h.records += 1;
        }
        self.stats.appended_total += 1;
        self.dirty = true;
        if self.cfg.fsync == FsyncPolicy::Always {
            self.sync()?;
        } else {
            self.maybe_sync()?;
        }
        Ok(dropped)
    }

    /// fsyncs the head segment when the interval policy says so; call it
    /// periodically so an idle spool is synced too.
    ///
    /// # Errors
    /// fsync failed.
    pub fn maybe_sync(&mut self) -> io::Result<()> {
        let due = self.last_sync.elapsed() >= self.cfg.fsync_interval;
        if self.cfg.fsync == FsyncPolicy::Interval && self.dirty && due {
            self.sync()?;
        }
        Ok(())
    }

    /// fsyncs the head segment now (shutdown, `always`).
    ///
    /// # Errors
    /// fsync failed.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.dirty {
            self.head.sync_data()?;
            self.stats.fsync_total += 1;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Reads up to `max_records` undelivered records (and about `max_bytes`)
    /// in order, without consuming them.
    ///
    /// # Errors
    /// Reading a segment failed.
    pub fn peek(
        &mut self,
        max_records: usize,
        max_bytes: usize,
        out: &mut Vec<Vec<u8>>,
    ) -> io::Result<Option<AckToken>> {
        self.drop_delivered_front()?;
        let Some(front) = self.segs.front().copied() else {
            return Ok(None);
        };
        if self.ack_off >= front.size {
            return Ok(None);
        }
        let mut reader = self.reader_at(front.id, self.ack_off)?;
        let (mut pos, mut bytes, mut n) = (self.ack_off, 0usize, 0u64);
        while pos < front.size && (n as usize) < max_records && bytes < max_bytes {
            let Some(payload) = read_one(&mut reader, front.size - pos) else {
                self.corrupt_front(pos, &front)?;
                break;
            };
            pos += (HEADER_LEN + payload.len()) as u64;
            bytes += payload.len();
            n += 1;
            out.push(payload);
        }
        self.reader = Some((front.id, pos, reader));
        Ok((n > 0).then_some(AckToken {
            seg: front.id,
            start: self.ack_off,
            end: pos,
            records: n,
        }))
    }

    /// Marks a peeked batch delivered. A token whose records were dropped
    /// meanwhile (spool full) is ignored.
    ///
    /// # Errors
    /// Writing the ack file or deleting a delivered segment failed.
    pub fn ack(&mut self, t: AckToken) -> io::Result<()> {
        let front = self.segs.front().map(|s| s.id);
        if front != Some(t.seg) || self.ack_off != t.start {
            return Ok(());
        }
        self.ack_off = t.end;
        self.ack_records += t.records;
        self.stats.acked_total += t.records;
        self.drop_delivered_front()?;
        self.write_ack()
    }

    fn head_seg(&self) -> Seg {
        self.segs.back().copied().unwrap_or(Seg {
            id: 0,
            size: 0,
            records: 0,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.sync()?;
        let id = self.head_seg().id + 1;
        self.head = create_segment(&self.cfg.dir, id)?;
        self.segs.push_back(Seg {
            id,
            size: 0,
            records: 0,
        });
        Ok(())
    }

    /// Deletes the oldest segment; returns its undelivered records.
    fn drop_front(&mut self) -> io::Result<u64> {
        let Some(front) = self.segs.pop_front() else {
            return Ok(0);
        };
        let lost = front.records - self.ack_records;
        self.stats.dropped_total += lost;
        self.ack_off = 0;
        self.ack_records = 0;
        self.reader = None;
        let path = seg_path(&self.cfg.dir, front.id);
        fs::remove_file(&path).map_err(|e| ctx(&path, e))?;
        self.write_ack()?;
        Ok(lost)
    }

    /// Deletes fully delivered segments other than the head.
    fn drop_delivered_front(&mut self) -> io::Result<()> {
        while self.segs.len() > 1 {
            match self.segs.front() {
                Some(f) if self.ack_off >= f.size => {
                    self.drop_front()?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// A record that does not decode in a segment we wrote: cut the segment
    /// there (counted) so delivery goes on with the next one.
    fn corrupt_front(&mut self, pos: u64, front: &Seg) -> io::Result<()> {
        tracing::warn!(
            spool = %self.cfg.dir.display(),
            segment = front.id,
            offset = pos,
            "spool: corrupt record, rest of segment skipped"
        );
        self.stats.truncated_total += 1;
        self.stats.truncated_bytes_total += front.size - pos;
        if let Some(f) = self.segs.front_mut() {
            f.size = pos;
        }
        if self.segs.len() == 1 {
            self.rotate()?;
        }
        Ok(())
    }

    fn reader_at(&mut self, seg: u64, off: u64) -> io::Result<BufReader<File>> {
        if let Some((id, pos, r)) = self.reader.take() {
            if id == seg && pos == off {
                return Ok(r);
            }
        }
        let path = seg_path(&self.cfg.dir, seg);
        let mut f = File::open(&path).map_err(|e| ctx(&path, e))?;
        f.seek(SeekFrom::Start(off))?;
        Ok(BufReader::with_capacity(1 << 16, f))
    }

    fn write_ack(&self) -> io::Result<()> {
        let seg = self.segs.front().map_or(0, |s| s.id);
        let tmp = self.cfg.dir.join("ack.tmp");
        fs::write(&tmp, format!("{seg} {}\n", self.ack_off)).map_err(|e| ctx(&tmp, e))?;
        fs::rename(&tmp, self.cfg.dir.join(ACK_FILE)).map_err(|e| ctx(&tmp, e))
    }
}

/// Reads one record of at most `room` bytes; `None` when it does not
/// decode (short file, impossible length, CRC mismatch).
fn read_one(r: &mut impl Read, room: u64) -> Option<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header).ok()?;
    let len = le32(&header, 0)? as usize;
    let crc = le32(&header, 4)?;
    if len > MAX_RECORD || (HEADER_LEN + len) as u64 > room {
        return None;
    }
    let mut payload = vec![0; len];
    r.read_exact(&mut payload).ok()?;
    (crc32fast::hash(&payload) == crc).then_some(payload)
}

fn ctx(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("spool {}: {e}", path.display()))
}

fn seg_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.{SEG_EXT}"))
}

fn create_segment(dir: &Path, id: u64) -> io::Result<File> {
    let path = seg_path(dir, id);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| ctx(&path, e))
}

/// The ack file: `segment offset`; missing or unreadable means "from the
/// start" (re-delivery, never loss).
fn read_ack(dir: &Path) -> (u64, u64) {
    let text = fs::read_to_string(dir.join(ACK_FILE)).unwrap_or_default();
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(s)), Some(Ok(o))) => (s, o),
        _ => (0, 0),
    }
}

fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| ctx(dir, e))? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) != Some(SEG_EXT) {
            continue;
        }
        if let Some(id) = p.file_stem().and_then(|s| s.to_str()?.parse().ok()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// What scanning a segment on open found.
struct Scan {
    /// Where delivery starts (the ack offset, or 0 when it was bad).
    start: u64,
    /// Valid length (the file is truncated to it).
    size: u64,
    /// Valid records from `start`.
    records: u64,
}

/// Validates a segment from `from`, truncating a torn or corrupt tail.
fn scan_segment(path: &Path, from: u64, stats: &mut SpoolStats) -> io::Result<Scan> {
    let data = fs::read(path).map_err(|e| ctx(path, e))?;
    let len = data.len() as u64;
    let mut start = if from <= len { from } else { 0 };
    let (mut good, mut records) = scan_records(data.get(start as usize..).unwrap_or_default());
    if start > 0 && good == 0 && start < len {
        // The ack does not point at a record: deliver the segment again
        // rather than cut it.
        start = 0;
        (good, records) = scan_records(&data);
    }
    let size = start + good as u64;
    if size < len {
        stats.truncated_total += 1;
        stats.truncated_bytes_total += len - size;
        tracing::warn!(
            segment = %path.display(),
            offset = size,
            bytes = len - size,
            "spool: torn or corrupt tail truncated (records after it were never fully written)"
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| ctx(path, e))?;
        f.set_len(size).map_err(|e| ctx(path, e))?;
        f.sync_all()?;
    }
    Ok(Scan {
        start,
        size,
        records,
    })
}

/// Length of the valid prefix of `buf` (whole, CRC-checked records) and how
/// many records it holds. Never panics on any input.
pub fn scan_records(buf: &[u8]) -> (usize, u64) {
    let (mut at, mut n) = (0usize, 0u64);
    while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
        match decode_record(rest) {
            Decoded::Record(_, used) => {
                at += used;
                n += 1;
            }
            Decoded::Incomplete | Decoded::Corrupt => break,
        }
    }
    (at, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(dir: &Path, max: u64, seg: u64) -> SpoolConfig {
        SpoolConfig {
            dir: dir.to_path_buf(),
            max_bytes: max,
            segment_bytes: seg,
            fsync: FsyncPolicy::Never,
            fsync_interval: Duration::from_secs(1),
        }
    }

    fn drain(s: &mut Spool, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = s.peek(n, usize::MAX, &mut out).unwrap() {
            s.ack(t).unwrap();
        }
        out.into_iter()
            .map(|b| String::from_utf8(b).unwrap())
            .collect()
    }

    fn drain_all(s: &mut Spool) -> Vec<String> {
        let mut got = Vec::new();
        for _ in 0..100 {
            got.extend(drain(s, 100));
        }
        assert_eq!(s.pending(), 0);
        got
    }

    #[test]
    fn records_come_back_in_order_across_segments() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(cfg(d.path(), 1 << 20, 40)).unwrap();
        for i in 0..10 {
            assert_eq!(s.append(format!("event-{i}").as_bytes()).unwrap(), 0);
        }
        assert_eq!(s.pending(), 10);
        let mut got = drain(&mut s, 1);
        got.extend(drain_all(&mut s));
        let want: Vec<String> = (0..10).map(|i| format!("event-{i}")).collect();
        assert_eq!(got, want);
        assert_eq!(s.pending(), 0);
        assert_eq!(
            list_segments(d.path()).unwrap().len(),
            1,
            "delivered deleted"
        );
    }

    #[test]
    fn peek_without_ack_redelivers_and_reopen_resumes_after_ack() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(cfg(d.path(), 1 << 20, 1 << 20)).unwrap();
            for i in 0..5 {
                s.append(format!("e{i}").as_bytes()).unwrap();
            }
            assert_eq!(drain(&mut s, 2), ["e0", "e1"]);
            let mut unacked = Vec::new();
            s.peek(2, usize::MAX, &mut unacked).unwrap();
            assert_eq!(unacked.len(), 2);
        }
        let mut s = Spool::open(cfg(d.path(), 1 << 20, 1 << 20)).unwrap();
        assert_eq!(s.pending(), 3);
        s.append(b"e5").unwrap();
        assert_eq!(drain(&mut s, 100), ["e2", "e3", "e4"]);
        assert_eq!(drain(&mut s, 100), ["e5"]);
    }

    #[test]
    fn torn_tail_is_truncated_and_counted() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(cfg(d.path(), 1 << 20, 1 << 20)).unwrap();
            s.append(b"whole").unwrap();
            s.append(b"torn-record").unwrap();
        }
        let seg = seg_path(d.path(), list_segments(d.path()).unwrap()[0]);
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let mut s = Spool::open(cfg(d.path(), 1 << 20, 1 << 20)).unwrap();
        assert_eq!(s.stats().truncated_total, 1);
        assert_eq!(s.pending(), 1);
        assert_eq!(fs::metadata(&seg).unwrap().len(), (HEADER_LEN + 5) as u64);
        assert_eq!(drain_all(&mut s), ["whole"]);
    }

    #[test]
    fn full_spool_drops_oldest_and_counts() {
        let d = tempfile::tempdir().unwrap();
        // Records are 8 + 2 bytes; segments hold 3, the spool 6.
        let mut s = Spool::open(cfg(d.path(), 60, 30)).unwrap();
        let mut dropped = 0;
        for i in 0..9 {
            dropped += s.append(format!("r{i}").as_bytes()).unwrap();
        }
        assert_eq!(dropped, 3);
        assert_eq!(s.stats().dropped_total, 3);
        assert!(s.bytes() <= 60);
        assert!(!s.has_room(1));
        assert_eq!(drain_all(&mut s), ["r3", "r4", "r5", "r6", "r7", "r8"]);
        assert!(s.has_room(1));
    }

    #[test]
    fn corrupt_byte_in_middle_segment_is_skipped_not_replayed() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(cfg(d.path(), 1 << 20, 25)).unwrap();
            for i in 0..4 {
                s.append(format!("seg{i}-abc").as_bytes()).unwrap();
            }
        }
        let first = seg_path(d.path(), list_segments(d.path()).unwrap()[0]);
        let mut bytes = fs::read(&first).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&first, bytes).unwrap();
        let mut s = Spool::open(cfg(d.path(), 1 << 20, 25)).unwrap();
        assert_eq!(s.stats().truncated_total, 1);
        assert_eq!(drain_all(&mut s), ["seg1-abc", "seg2-abc", "seg3-abc"]);
    }

    #[test]
    fn codec_rejects_bad_crc_and_huge_length() {
        let mut v = Vec::new();
        encode_record(b"abc", &mut v);
        assert_eq!(decode_record(&v), Decoded::Record(b"abc", 11));
        assert_eq!(decode_record(&v[..10]), Decoded::Incomplete);
        let mut bad = v.clone();
        bad[9] ^= 1;
        assert_eq!(decode_record(&bad), Decoded::Corrupt);
        let huge = [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0];
        assert_eq!(decode_record(&huge), Decoded::Corrupt);
    }

    proptest! {
        #[test]
        fn codec_round_trips(payloads in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let mut buf = Vec::new();
            for p in &payloads {
                encode_record(p, &mut buf);
            }
            let (good, n) = scan_records(&buf);
            prop_assert_eq!(good, buf.len());
            prop_assert_eq!(n as usize, payloads.len());
            let mut at = 0;
            for p in &payloads {
                match decode_record(&buf[at..]) {
                    Decoded::Record(got, used) => {
                        prop_assert_eq!(got, p.as_slice());
                        at += used;
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }

        #[test]
        fn scan_never_panics_and_prefix_is_valid(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let (good, n) = scan_records(&bytes);
            prop_assert!(good <= bytes.len());
            prop_assert_eq!(scan_records(&bytes[..good]), (good, n));
        }
    }
}
