//! Streaming reader for one classic pcap or pcapng file.
//!
//! Built on `pcap-parser`'s streaming readers: a circular buffer that starts
//! at [`INITIAL_BUFFER`] bytes and grows only up to [`MAX_BLOCK`] bytes, so a
//! corrupt length field can never make us allocate without limit and a file
//! is never read whole into memory.
//!
//! A record cut short by the end of the file is a warning (captures are often
//! copied while still being written); anything impossible before the end is
//! a [`CaptureError`] naming the packet.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::{Block, InterfaceDescriptionBlock, OptionCode};
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{create_reader, LegacyPcapBlock, PcapBlockOwned, PcapError, PcapHeader};

use super::{CaptureError, FrameInfo, FrameSource, LinkType, Timestamp};

/// Largest captured length we accept for one packet; more is corruption.
pub const MAX_CAPLEN: u32 = 256 * 1024;
/// Largest pcapng block we buffer (a packet of [`MAX_CAPLEN`] plus options,
/// or a big non-packet block such as decryption secrets).
pub const MAX_BLOCK: usize = 1024 * 1024;
/// Starting size of the read buffer of each file.
pub const INITIAL_BUFFER: usize = 128 * 1024;
/// Most interfaces one pcapng section may declare.
const MAX_INTERFACES: usize = 4096;

const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Block type of a pcapng Section Header Block (a byte palindrome).
const SHB_MAGIC: u32 = 0x0A0D_0D0A;
/// Byte-order magic inside a pcapng SHB, as written by the file's writer.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// One pcap or pcapng file read as a stream of frames.
pub struct FileReader {
    reader: Box<dyn PcapReaderIterator + Send>,
    state: State,
    names: [PathBuf; 1],
    /// Current size of the parser's buffer.
    capacity: usize,
}

/// Everything except the parser itself, so blocks borrowed from the parser
/// can be handled while `state` is mutated.
struct State {
    file: u32,
    format: Format,
    /// Packets seen so far (the number of the last packet returned).
    packets: u64,
    /// Timestamp of the previous packet (Simple Packet Blocks carry none).
    last_ts: Timestamp,
    done: bool,
    warnings: Vec<String>,
}

enum Format {
    /// Not yet known: the first block says.
    Unknown,
    Legacy {
        big_endian: bool,
        nanos: bool,
        modified: bool,
        linktype: LinkType,
    },
    Ng {
        big_endian: bool,
        ifaces: Vec<Iface>,
    },
}

/// What a pcapng Interface Description Block says about its packets.
struct Iface {
    linktype: LinkType,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`); `None` when invalid.
    units_per_sec: Option<u64>,
    /// Seconds to add to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// What one call to the parser produced, detached from its buffer.
enum Step {
    Frame(usize, FrameInfo),
    Skip(usize),
    Eof,
    Refill,
    TooSmall,
    UnexpectedEof,
    ReadError,
    Corrupt(String),
}

impl FileReader {
    /// Opens a capture file; `file` is its index among all inputs.
    ///
    /// # Errors
    /// The file cannot be opened or read, or is not a pcap/pcapng capture.
    pub fn open(path: &Path, file: u32) -> Result<FileReader, CaptureError> {
        let f = File::open(path).map_err(|e| CaptureError::io(path.to_path_buf(), e))?;
        FileReader::from_reader(path.to_path_buf(), file, f)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    ///
    /// # Errors
    /// The stream cannot be read or does not start like a pcap/pcapng capture.
    pub fn from_reader<R: Read + Send + 'static>(
        name: PathBuf,
        file: u32,
        reader: R,
    ) -> Result<FileReader, CaptureError> {
        let reader = match create_reader(INITIAL_BUFFER, RetryInterrupted(reader)) {
            Ok(r) => r,
            Err(PcapError::ReadError) => {
                return Err(CaptureError::io(name, std::io::Error::other("read failed")))
            }
            Err(PcapError::Eof) => return Err(CaptureError::not_a_capture(name, "empty file")),
            Err(PcapError::Incomplete(_)) => {
                return Err(CaptureError::not_a_capture(name, "file too short"))
            }
            Err(_) => return Err(CaptureError::not_a_capture(name, "unknown file header")),
        };
        Ok(FileReader {
            reader,
            state: State {
                file,
                format: Format::Unknown,
                packets: 0,
                last_ts: 0,
                done: false,
                warnings: Vec::new(),
            },
            names: [name],
            capacity: INITIAL_BUFFER,
        })
    }

    fn path(&self) -> PathBuf {
        self.names[0].clone()
    }

    fn corrupt(&mut self, why: impl Into<String>) -> CaptureError {
        self.state.done = true;
        CaptureError::corrupt(self.path(), self.state.packets + 1, why)
    }

    /// Called when the parser needs more bytes than the buffer can hold.
    fn grow(&mut self) -> Result<(), CaptureError> {
        let need = match self.state.claimed_len(self.reader.data()) {
            Ok(Some(n)) => n,
            Ok(None) => self.reader.data().len() + 1,
            Err(why) => return Err(self.corrupt(why)),
        };
        if need > MAX_BLOCK {
            return Err(self.corrupt(format!("record of {need} bytes is too large")));
        }
        // Headroom so the record and what follows it fit after a shift.
        let new_size = (self.capacity * 2).max((need + 4096).next_power_of_two());
        if new_size > 2 * MAX_BLOCK || !self.reader.grow(new_size) {
            return Err(self.corrupt("record does not fit in the read buffer"));
        }
        self.capacity = new_size;
        self.refill()
    }

    fn refill(&mut self) -> Result<(), CaptureError> {
        if self.reader.refill().is_err() {
            self.state.done = true;
            return Err(CaptureError::io(
                self.path(),
                std::io::Error::other(format!("read failed after packet {}", self.state.packets)),
            ));
        }
        Ok(())
    }

    /// The file ends inside a record: a warning when the record is plausible.
    fn unexpected_eof(&mut self) -> Result<Option<FrameInfo>, CaptureError> {
        if let Err(why) = self.state.claimed_len(self.reader.data()) {
            return Err(self.corrupt(why));
        }
        self.state.done = true;
        let n = self.state.packets + 1;
        let name = self.names[0].display();
        self.state.warnings.push(format!(
            "{name}: packet {n} is truncated (the file ends inside it); it was skipped"
        ));
        Ok(None)
    }

    fn step(&mut self, out: &mut Vec<u8>) -> Step {
        let state = &mut self.state;
        match self.reader.next() {
            Ok((off, block)) => state.handle(off, block, out),
            Err(PcapError::Eof) => Step::Eof,
            Err(PcapError::Incomplete(_)) => Step::Refill,
            Err(PcapError::BufferTooSmall) => Step::TooSmall,
            Err(PcapError::UnexpectedEof) => Step::UnexpectedEof,
            Err(PcapError::ReadError) => Step::ReadError,
            Err(_) => Step::Corrupt("unparsable record".into()),
        }
    }
}

impl FrameSource for FileReader {
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<Option<FrameInfo>, CaptureError> {
        // Each refill either adds bytes or hits the end, and growth is
        // bounded, so this loop ends; the counter is a backstop.
        let mut stalls = 0u32;
        while !self.state.done {
            let before = self.reader.data().len();
            // pcap-parser subtracts 12 from a pcapng block's length without
            // a check (a panic where overflow checks are on, found by the
            // `capture` fuzz target): impossible lengths are caught here.
            if matches!(self.state.format, Format::Ng { .. }) {
                if let Err(why) = self.state.claimed_len(self.reader.data()) {
                    return Err(self.corrupt(why));
                }
            }
            match self.step(out) {
                Step::Frame(off, info) => {
                    self.reader.consume(off);
                    return Ok(Some(info));
                }
                Step::Skip(off) => self.reader.consume(off),
                Step::Eof => self.state.done = true,
                Step::Refill => self.refill()?,
                Step::TooSmall => self.grow()?,
                Step::UnexpectedEof => return self.unexpected_eof(),
                Step::ReadError => self.refill()?,
                Step::Corrupt(why) => return Err(self.corrupt(why)),
            }
            if self.reader.data().len() == before {
                stalls += 1;
                if stalls > 64 {
                    return Err(self.corrupt("reader makes no progress"));
                }
            } else {
                stalls = 0;
            }
        }
        Ok(None)
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.state.warnings)
    }

    fn file_names(&self) -> &[PathBuf] {
        &self.names
    }
}

impl State {
    fn handle(&mut self, off: usize, block: PcapBlockOwned<'_>, out: &mut Vec<u8>) -> Step {
        let res = match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_header(&h);
                Ok(None)
            }
            PcapBlockOwned::Legacy(b) => self.legacy_packet(&b, out).map(Some),
            PcapBlockOwned::NG(b) => self.ng_block(b, out),
        };
        match res {
            Ok(Some(info)) => Step::Frame(off, info),
            Ok(None) => Step::Skip(off),
            Err(why) => Step::Corrupt(why),
        }
    }

    fn legacy_header(&mut self, h: &PcapHeader) {
        self.format = Format::Legacy {
            big_endian: h.is_bigendian(),
            nanos: h.is_nanosecond_precision(),
            modified: h.is_modified_format(),
            // The upper 16 bits carry FCS information, not the link type.
            linktype: LinkType((h.network.0 & 0xFFFF) as u16),
        };
    }

    fn legacy_packet(
        &mut self,
        b: &LegacyPcapBlock<'_>,
        out: &mut Vec<u8>,
    ) -> Result<FrameInfo, String> {
        let Format::Legacy {
            nanos, linktype, ..
        } = self.format
        else {
            return Err("packet record before the file header".into());
        };
        check_caplen(b.caplen)?;
        let frac_ns = if nanos {
            u64::from(b.ts_usec)
        } else {
            u64::from(b.ts_usec).saturating_mul(1000)
        };
        let ts = u64::from(b.ts_sec) * NANOS_PER_SEC + frac_ns;
        Ok(self.emit(ts, linktype, b.data, b.origlen, out))
    }

    fn ng_block(&mut self, b: Block<'_>, out: &mut Vec<u8>) -> Result<Option<FrameInfo>, String> {
        match b {
            Block::SectionHeader(shb) => {
                self.format = Format::Ng {
                    big_endian: shb.big_endian(),
                    ifaces: Vec::new(),
                };
                Ok(None)
            }
            Block::InterfaceDescription(idb) => self.ng_interface(&idb).map(|()| None),
            Block::EnhancedPacket(epb) => {
                check_caplen(epb.caplen)?;
                let iface = self.iface(epb.if_id)?;
                let (linktype, ts) = (iface.linktype, iface.timestamp(epb.ts_high, epb.ts_low)?);
                Ok(Some(self.emit(
                    ts,
                    linktype,
                    epb.packet_data(),
                    epb.origlen,
                    out,
                )))
            }
            Block::SimplePacket(spb) => {
                let iface = self.iface(0)?;
                let (linktype, snaplen) = (iface.linktype, iface.snaplen);
                let mut data = spb.packet_data();
                if snaplen > 0 && data.len() > snaplen as usize {
                    data = data.get(..snaplen as usize).unwrap_or(data);
                }
                check_caplen(u32::try_from(data.len()).unwrap_or(u32::MAX))?;
                Ok(Some(self.emit(
                    self.last_ts,
                    linktype,
                    data,
                    spb.origlen,
                    out,
                )))
            }
            _ => Ok(None),
        }
    }

    fn ng_interface(&mut self, idb: &InterfaceDescriptionBlock<'_>) -> Result<(), String> {
        let Format::Ng { big_endian, ifaces } = &mut self.format else {
            return Err("interface block before the section header".into());
        };
        if ifaces.len() >= MAX_INTERFACES {
            return Err(format!("more than {MAX_INTERFACES} interfaces"));
        }
        let mut iface = Iface {
            linktype: LinkType(idb.linktype.0 as u16),
            snaplen: idb.snaplen,
            units_per_sec: ts_units(6),
            offset_secs: 0,
        };
        for opt in &idb.options {
            let v = opt.value();
            if opt.code == OptionCode::IfTsresol {
                iface.units_per_sec = v.first().and_then(|&r| ts_units(r));
            } else if opt.code == OptionCode::IfTsoffset {
                if let Some(b) = v.get(..8).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
                    iface.offset_secs = if *big_endian {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
            }
        }
        ifaces.push(iface);
        Ok(())
    }

    fn iface(&self, id: u32) -> Result<&Iface, String> {
        match &self.format {
            Format::Ng { ifaces, .. } => ifaces
                .get(id as usize)
                .ok_or_else(|| format!("packet on undeclared interface {id}")),
            _ => Err("packet block before the section header".into()),
        }
    }

    /// Counts the packet, appends its bytes and describes it.
    fn emit(
        &mut self,
        ts: Timestamp,
        linktype: LinkType,
        data: &[u8],
        orig_len: u32,
        out: &mut Vec<u8>,
    ) -> FrameInfo {
        self.packets += 1;
        self.last_ts = ts;
        out.extend_from_slice(data);
        // `data` is at most MAX_BLOCK bytes, so this never saturates.
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        FrameInfo {
            ts,
            linktype,
            caplen,
            orig_len,
            number: self.packets,
            file: self.file,
        }
    }

    /// Total length the record at the start of `data` claims, header included;
    /// `Ok(None)` when even its header is incomplete, `Err` when impossible.
    fn claimed_len(&self, data: &[u8]) -> Result<Option<usize>, String> {
        match &self.format {
            Format::Unknown => Ok(None),
            Format::Legacy {
                big_endian,
                modified,
                ..
            } => {
                let hdr = if *modified { 24 } else { 16 };
                let Some(caplen) = read_u32(data, 8, *big_endian) else {
                    return Ok(None);
                };
                check_caplen(caplen)?;
                Ok(Some(hdr + caplen as usize))
            }
            Format::Ng { big_endian, .. } => {
                let Some(kind) = read_u32(data, 0, false) else {
                    return Ok(None);
                };
                let big_endian = if kind == SHB_MAGIC {
                    match read_u32(data, 8, true) {
                        Some(bom) => bom == BYTE_ORDER_MAGIC,
                        None => return Ok(None),
                    }
                } else {
                    *big_endian
                };
                let Some(len) = read_u32(data, 4, big_endian) else {
                    return Ok(None);
                };
                if len < 12 || len as usize > MAX_BLOCK {
                    return Err(format!("impossible block length {len}"));
                }
                Ok(Some(len as usize))
            }
        }
    }
}

impl Iface {
    /// Packet time in nanoseconds since the epoch.
    fn timestamp(&self, high: u32, low: u32) -> Result<Timestamp, String> {
        let units = self
            .units_per_sec
            .ok_or("interface has an invalid timestamp resolution")?;
        let raw = (u64::from(high) << 32) | u64::from(low);
        let secs = i128::from(raw / units) + i128::from(self.offset_secs);
        let frac = u128::from(raw % units) * u128::from(NANOS_PER_SEC) / u128::from(units);
        let ns = secs.max(0) as u128 * u128::from(NANOS_PER_SEC) + frac;
        Ok(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

/// Units per second for an `if_tsresol` value: 10^n, or 2^n with the top bit.
fn ts_units(resol: u8) -> Option<u64> {
    let n = u32::from(resol & 0x7F);
    if resol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        1u64.checked_shl(n).filter(|_| n < 64)
    }
}

fn check_caplen(caplen: u32) -> Result<(), String> {
    if caplen > MAX_CAPLEN {
        return Err(format!(
            "captured length {caplen} exceeds the {} KiB limit",
            MAX_CAPLEN / 1024
        ));
    }
    Ok(())
}

/// The `u32` at `at` in the given byte order; `None` past the end.
pub(super) fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Retries reads interrupted by a signal, which the parser would take as
/// a failure.
struct RetryInterrupted<R>(R);

impl<R: Read> Read for RetryInterrupted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
}

/// Expands directories and opens every input, merging several into one.
pub(super) fn open_inputs(
    paths: &[PathBuf],
    opts: &super::InputOptions,
) -> Result<Box<dyn FrameSource>, CaptureError> {
    let files = expand_paths(paths)?;
    if let [only] = files.as_slice() {
        // One classic pcap: mapped or read in shared chunks, frames
        // routed in place.
        if let Some(chunked) = super::chunked::ChunkedFile::open(only, 0, opts.mmap)? {
            return Ok(Box::new(chunked));
        }
    }
    let mut readers = Vec::with_capacity(files.len());
    for (i, path) in files.iter().enumerate() {
        let index = u32::try_from(i)
            .map_err(|_| CaptureError::not_a_capture(path.clone(), "too many input files"))?;
        readers.push(FileReader::open(path, index)?);
    }
    match readers.len() {
        0 => Err(CaptureError::no_inputs(
            paths.first().cloned().unwrap_or_default(),
        )),
        1 => Ok(Box::new(readers.remove(0))),
        _ => Ok(Box::new(super::merge::Merge::new(readers, files)?)),
    }
}

/// Replaces each directory by its capture files (not recursive), in name order.
///
/// # Errors
/// A directory that cannot be listed or holds no capture file.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaptureError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| CaptureError::io(path.clone(), e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CaptureError::io(path.clone(), e))?;
            let p = entry.path();
            if is_capture_name(&p) && p.is_file() {
                found.push(p);
            }
        }
        if found.is_empty() {
            return Err(CaptureError::no_inputs(path.clone()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn is_capture_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["pcap", "pcapng", "cap"]
            .iter()
            .any(|c| e.eq_ignore_ascii_case(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;

    const A: &[u8] = b"frame-a";
    const B: &[u8] = b"frame-bb";

    fn reader(bytes: Vec<u8>) -> FileReader {
        FileReader::from_reader("t.pcap".into(), 3, std::io::Cursor::new(bytes)).unwrap()
    }

    type Frames = Vec<(FrameInfo, Vec<u8>)>;

    /// Reads every frame: (info, bytes) pairs, then the final result.
    fn read_all(r: &mut FileReader) -> (Frames, Result<(), CaptureError>) {
        let mut frames = Vec::new();
        loop {
            let mut buf = Vec::new();
            match r.next_frame(&mut buf) {
                Ok(Some(info)) => frames.push((info, buf)),
                Ok(None) => return (frames, Ok(())),
                Err(e) => return (frames, Err(e)),
            }
        }
    }

    fn legacy(be: bool, nanos: bool) -> Vec<u8> {
        let mut f = pcap_header(be, nanos, 1);
        f.extend(pcap_record(be, 1_700_000_000, 123, A));
        f.extend(pcap_record(be, 1_700_000_001, 456, B));
        f
    }

    #[test]
    fn legacy_both_endians_and_resolutions() {
        for be in [false, true] {
            for nanos in [false, true] {
                let mut r = reader(legacy(be, nanos));
                let (frames, res) = read_all(&mut r);
                res.unwrap();
                let unit = if nanos { 1 } else { 1000 };
                assert_eq!(frames.len(), 2, "be={be} nanos={nanos}");
                let (i, bytes) = &frames[0];
                assert_eq!(bytes, A);
                assert_eq!(i.ts, 1_700_000_000 * NANOS_PER_SEC + 123 * unit);
                assert_eq!(
                    (i.linktype, i.caplen, i.orig_len),
                    (LinkType::ETHERNET, 7, 7)
                );
                assert_eq!((i.number, i.file), (1, 3));
                assert_eq!(frames[1].1, B);
                assert_eq!(frames[1].0.number, 2);
                assert!(r.take_warnings().is_empty());
            }
        }
    }

    #[test]
    fn next_frame_appends() {
        let mut r = reader(legacy(false, false));
        let mut buf = b"keep".to_vec();
        r.next_frame(&mut buf).unwrap().unwrap();
        r.next_frame(&mut buf).unwrap().unwrap();
        assert_eq!(buf, [b"keep".as_slice(), A, B].concat());
        assert!(r.next_frame(&mut buf).unwrap().is_none());
        assert!(r.next_frame(&mut buf).unwrap().is_none());
    }

    #[test]
    fn pcapng_two_interfaces() {
        for be in [false, true] {
            let mut f = ng_shb(be);
            f.extend(ng_idb(be, 1, None, None)); // microseconds
            f.extend(ng_idb(be, 113, Some(9), Some(100))); // ns, +100 s
            f.extend(ng_unknown(be));
            f.extend(ng_epb(be, 0, 1_700_000_000_000_001, A));
            f.extend(ng_epb(be, 1, 5_000_000_007, B));
            f.extend(ng_spb(be, b"spb"));
            let (frames, res) = read_all(&mut reader(f));
            res.unwrap();
            assert_eq!(frames.len(), 3, "be={be}");
            assert_eq!(frames[0].0.linktype, LinkType::ETHERNET);
            assert_eq!(frames[0].0.ts, 1_700_000_000_000_001_000);
            assert_eq!(frames[0].1, A);
            assert_eq!(frames[1].0.linktype, LinkType::LINUX_SLL);
            assert_eq!(frames[1].0.ts, 105 * NANOS_PER_SEC + 7);
            assert_eq!(frames[1].1, B);
            // A Simple Packet Block has no time: it keeps the previous one.
            assert_eq!(frames[2].0.ts, frames[1].0.ts);
            assert_eq!(frames[2].1, b"spb");
            assert_eq!(frames[2].0.number, 3);
        }
    }

    #[test]
    fn pcapng_binary_resolution_and_negative_offset() {
        let mut f = ng_shb(false);
        f.extend(ng_idb(false, 101, Some(0x80 | 10), Some(-1)));
        f.extend(ng_epb(false, 0, 3 * 1024 + 512, A));
        let (frames, res) = read_all(&mut reader(f));
        res.unwrap();
        assert_eq!(frames[0].0.ts, 2 * NANOS_PER_SEC + 500_000_000);
        assert_eq!(frames[0].0.linktype, LinkType::RAW);
    }

    #[test]
    fn pcapng_new_section_resets_interfaces() {
        let mut f = ng_shb(false);
        f.extend(ng_idb(false, 1, None, None));
        f.extend(ng_epb(false, 0, 1, A));
        f.extend(ng_shb(true));
        f.extend(ng_idb(true, 276, None, None));
        f.extend(ng_epb(true, 0, 2, B));
        f.extend(ng_epb(true, 1, 3, B));
        let (frames, res) = read_all(&mut reader(f));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].0.linktype, LinkType::LINUX_SLL2);
        let msg = res.unwrap_err().to_string();
        assert!(
            msg.contains("packet 3") && msg.contains("interface 1"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_last_packet_is_a_warning() {
        for ng in [false, true] {
            let mut f = if ng {
                let mut f = ng_shb(false);
                f.extend(ng_idb(false, 1, None, None));
                f.extend(ng_epb(false, 0, 1, A));
                f.extend(ng_epb(false, 0, 2, B));
                f
            } else {
                legacy(false, false)
            };
            f.truncate(f.len() - 5);
            let mut r = reader(f);
            let (frames, res) = read_all(&mut r);
            res.unwrap();
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].1, A);
            let w = r.take_warnings();
            assert_eq!(w.len(), 1);
            assert!(
                w[0].contains("t.pcap") && w[0].contains("packet 2"),
                "{w:?}"
            );
            assert!(r.take_warnings().is_empty());
        }
    }

    #[test]
    fn corrupt_middle_record_is_an_error() {
        let mut f = legacy(false, false);
        // Garbage where the third record header should be, then a real one.
        f.extend_from_slice(&[0xEE; 16]);
        f.extend(pcap_record(false, 1, 1, A));
        let (frames, res) = read_all(&mut reader(f));
        assert_eq!(frames.len(), 2);
        let msg = res.unwrap_err().to_string();
        assert!(msg.contains("t.pcap: corrupt at packet 3"), "{msg}");
    }

    #[test]
    fn pcapng_block_shorter_than_its_frame_is_corrupt() {
        // Found by the `capture` fuzz target: a Process Information Block
        // claiming 8 bytes made pcap-parser underflow.
        let bytes: &[u8] = &[
            0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 1, 0, 0, 0,
            0xff, 0xff, 0xff, 0xf2, 0x2b, 0x3c, 0x4d, 0, 0, 1, 0, 0, 0x80, 8, 0, 0, 0, 0x4e, 0x3c,
            0xb2, 0xa1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe, 0, 9, 0,
        ];
        let (frames, res) = read_all(&mut reader(bytes.to_vec()));
        assert!(frames.is_empty());
        let err = res.unwrap_err().to_string();
        assert!(err.contains("impossible block length 8"), "{err}");
    }

    #[test]
    fn corrupt_pcapng_block_length() {
        let mut f = ng_shb(false);
        f.extend(ng_idb(false, 1, None, None));
        f.extend(ng_epb(false, 0, 1, A));
        let mut bad = ng_epb(false, 0, 2, B);
        bad[4..8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        f.extend(bad);
        f.extend(vec![0; 300_000]);
        let (frames, res) = read_all(&mut reader(f));
        assert_eq!(frames.len(), 1);
        let msg = res.unwrap_err().to_string();
        assert!(msg.contains("corrupt at packet 2"), "{msg}");
    }

    #[test]
    fn big_packets_grow_the_buffer_within_bounds() {
        let big = vec![0x5A; MAX_CAPLEN as usize];
        let mut f = pcap_header(true, false, 1);
        f.extend(pcap_record(true, 1, 0, A));
        f.extend(pcap_record(true, 2, 0, &big));
        f.extend(pcap_record(true, 3, 0, B));
        let (frames, res) = read_all(&mut reader(f));
        res.unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].1.len(), big.len());
        assert_eq!(frames[2].1, B);
        // One byte more than the limit is corruption, even at the end.
        let mut f = pcap_header(false, false, 1);
        f.extend(pcap_record(false, 2, 0, &vec![0; MAX_CAPLEN as usize + 1]));
        let (_, res) = read_all(&mut reader(f));
        assert!(res.unwrap_err().to_string().contains("exceeds"));
    }

    #[test]
    fn not_a_capture() {
        for bytes in [
            Vec::new(),
            b"GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxx".to_vec(),
            vec![0xd4],
        ] {
            let e = FileReader::from_reader("x".into(), 0, std::io::Cursor::new(bytes));
            let msg = e.err().unwrap().to_string();
            assert!(msg.contains("not a pcap or pcapng"), "{msg}");
        }
    }

    #[test]
    fn missing_file_names_it() {
        let err = open_inputs(&["/nonexistent/x.pcap".into()], &Default::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/x.pcap"));
    }

    #[test]
    fn directory_expansion() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.pcap", "a.PCAPNG", "c.cap", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.pcap")).unwrap();
        let got = expand_paths(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.PCAPNG", "b.pcap", "c.cap"]);

        let empty = tempfile::tempdir().unwrap();
        let err = open_inputs(&[empty.path().to_path_buf()], &Default::default())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("no .pcap/.pcapng/.cap files"),
            "{err}"
        );
    }

    #[test]
    fn ts_units_bounds() {
        assert_eq!(ts_units(6), Some(1_000_000));
        assert_eq!(ts_units(19), Some(10u64.pow(19)));
        assert_eq!(ts_units(20), None);
        assert_eq!(ts_units(0x80 | 63), Some(1 << 63));
        assert_eq!(ts_units(0x80 | 64), None);
    }
}
