//! Capture: where frames come from.
//!
//! A [`FrameSource`] yields link-layer frames with their packet timestamp.
//! [`open_inputs`] opens pcap and pcapng files (or directories of them) and
//! merges several into one capture in timestamp order.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Packet timestamp: nanoseconds since the Unix epoch (packet time, never wall clock).
pub type Timestamp = u64;

/// Link-layer header type, numbered as libpcap's `LINKTYPE_*` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback (`DLT_NULL`): 4-byte host-order address family.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II, possibly with 802.1Q / 802.1ad (QinQ) tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback (`DLT_LOOP`): 4-byte network-order address family.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// What a [`FrameSource`] says about one frame whose bytes it appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Packet timestamp.
    pub ts: Timestamp,
    /// Link type of the interface the frame was captured on.
    pub linktype: LinkType,
    /// Number of bytes appended (the captured length).
    pub caplen: u32,
    /// Length of the frame on the wire (may exceed `caplen` when snapped).
    pub orig_len: u32,
    /// 1-based packet number within its own file (for error messages).
    pub number: u64,
    /// Index of the input file this frame came from (into the list given to
    /// [`open_inputs`], after directory expansion).
    pub file: u32,
}

/// A block of capture bytes that frames are handed out of in place
/// (see [`FrameSource::next_frame_shared`]).
pub type Chunk = Arc<ChunkBytes>;

/// The bytes of a [`Chunk`]: read into memory, or a window of a capture
/// file mapped into memory (no copy; unmapped when the last batch
/// pointing into it is done).
#[derive(Debug)]
pub enum ChunkBytes {
    /// Bytes read into a buffer (reused once no batch points into it).
    Owned(Vec<u8>),
    /// A read-only window of a mapped file.
    Mapped(memmap2::Mmap),
}

impl ChunkBytes {
    /// The buffer of an owned chunk, to read into.
    pub fn owned_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            ChunkBytes::Owned(v) => Some(v),
            ChunkBytes::Mapped(_) => None,
        }
    }
}

impl std::ops::Deref for ChunkBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ChunkBytes::Owned(v) => v,
            ChunkBytes::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for ChunkBytes {
    fn from(v: Vec<u8>) -> ChunkBytes {
        ChunkBytes::Owned(v)
    }
}

/// A frame left where it was read: `chunk[start..start + caplen]`.
#[derive(Clone, Copy, Debug)]
pub struct SharedFrame<'a> {
    /// The chunk holding it.
    pub chunk: &'a Chunk,
    /// Where it starts in the chunk.
    pub start: usize,
}

impl SharedFrame<'_> {
    /// The frame's bytes (`caplen` from its [`FrameInfo`]).
    pub fn bytes(&self, caplen: u32) -> &[u8] {
        let end = self.start.saturating_add(caplen as usize);
        self.chunk.get(self.start..end).unwrap_or(&[])
    }
}

/// A source of link-layer frames.
pub trait FrameSource: Send {
    /// Appends the next frame's bytes to `out` and describes it.
    /// Returns `Ok(None)` at the end of input.
    ///
    /// # Errors
    /// A [`CaptureError`] when the input cannot be read or is corrupt before
    /// its end; it names the file and the packet number.
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<Option<FrameInfo>, CaptureError>;

    /// Like [`FrameSource::next_frame`], but a source that reads in shared
    /// chunks leaves the frame in place and says where it is (`out` is then
    /// untouched): the reader routes it without copying.
    ///
    /// # Errors
    /// As [`FrameSource::next_frame`].
    fn next_frame_shared(
        &mut self,
        out: &mut Vec<u8>,
    ) -> Result<Option<(FrameInfo, Option<SharedFrame<'_>>)>, CaptureError> {
        Ok(self.next_frame(out)?.map(|info| (info, None)))
    }

    /// Non-fatal problems seen so far (e.g. a truncated last packet), taken once.
    fn take_warnings(&mut self) -> Vec<String>;

    /// Names of the input files, indexed by [`FrameInfo::file`].
    fn file_names(&self) -> &[PathBuf];
}

/// Why a capture could not be read. Names the file and, where known, the packet.
#[derive(Debug)]
pub struct CaptureError {
    path: PathBuf,
    packet: Option<u64>,
    kind: CaptureErrorKind,
}

#[derive(Debug)]
enum CaptureErrorKind {
    Io(std::io::Error),
    NotACapture(String),
    Corrupt(String),
    NoInputs,
}

impl CaptureError {
    pub(crate) fn io(path: PathBuf, err: std::io::Error) -> Self {
        CaptureError {
            path,
            packet: None,
            kind: CaptureErrorKind::Io(err),
        }
    }
    pub(crate) fn not_a_capture(path: PathBuf, why: impl Into<String>) -> Self {
        CaptureError {
            path,
            packet: None,
            kind: CaptureErrorKind::NotACapture(why.into()),
        }
    }
    pub(crate) fn corrupt(path: PathBuf, packet: u64, why: impl Into<String>) -> Self {
        CaptureError {
            path,
            packet: Some(packet),
            kind: CaptureErrorKind::Corrupt(why.into()),
        }
    }
    pub(crate) fn no_inputs(path: PathBuf) -> Self {
        CaptureError {
            path,
            packet: None,
            kind: CaptureErrorKind::NoInputs,
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match (&self.kind, self.packet) {
            (CaptureErrorKind::Io(e), _) => write!(f, "{p}: cannot read: {e}"),
            (CaptureErrorKind::NotACapture(why), _) => {
                write!(f, "{p}: not a pcap or pcapng file ({why}); give a capture written by tcpdump, tshark or dumpcap")
            }
            (CaptureErrorKind::Corrupt(why), Some(n)) => {
                write!(
                    f,
                    "{p}: corrupt at packet {n}: {why}; the packets before it were processed"
                )
            }
            (CaptureErrorKind::Corrupt(why), None) => write!(f, "{p}: corrupt: {why}"),
            (CaptureErrorKind::NoInputs, _) => {
                write!(
                    f,
                    "{p}: no .pcap/.pcapng/.cap files found in this directory"
                )
            }
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CaptureErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Opens every path (files, or directories whose capture files are taken in
/// name order) and merges them into one source in timestamp order.
///
/// # Errors
/// The first file that is missing, unreadable or not a capture.
pub fn open_inputs(paths: &[PathBuf]) -> Result<Box<dyn FrameSource>, CaptureError> {
    file::open_inputs(paths, &InputOptions::default())
}

/// [`open_inputs`] with options.
///
/// # Errors
/// As [`open_inputs`].
pub fn open_inputs_with(
    paths: &[PathBuf],
    opts: &InputOptions,
) -> Result<Box<dyn FrameSource>, CaptureError> {
    file::open_inputs(paths, opts)
}

/// How capture files are opened.
#[derive(Clone, Copy, Debug)]
pub struct InputOptions {
    /// Map a single classic pcap file instead of reading it (see
    /// [`mapped`]).
    pub mmap: bool,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions { mmap: true }
    }
}

pub mod chunked;
pub mod file;
pub mod live;
pub mod mapped;
mod merge;
mod prefetch;
#[cfg(test)]
pub(crate) mod testutil;
