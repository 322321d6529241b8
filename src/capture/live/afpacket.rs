//! `AF_PACKET` capture with a `TPACKET_V3` memory-mapped ring and
//! `PACKET_FANOUT_HASH` (Linux).
//!
//! This is the crate's only raw-socket FFI: the unsafe blocks are the
//! socket options, the `mmap` of the ring, reading and releasing a block's
//! status word, and viewing an owned block as a byte slice. Walking the
//! packets of a block is safe code in [`super::ring`].
//!
//! Ownership protocol of a block (kernel `Documentation/networking/packet_mmap.rst`):
//! the kernel sets `TP_STATUS_USER` when it hands a block over and does not
//! touch it again until we write `TP_STATUS_KERNEL` back. We read the
//! status with a volatile load followed by an acquire fence, and release
//! the block with a release fence followed by a volatile store.
//!
//! Fanout: the sockets of one interface join one group (id allocated by
//! the kernel with `PACKET_FANOUT_FLAG_UNIQUEID`). `PACKET_FANOUT_HASH`
//! spreads frames by `skb_get_hash_symmetric`, with `PACKET_FANOUT_FLAG_DEFRAG`
//! so fragments of a datagram hash alike. That hash is symmetric for plain
//! TCP/UDP, but it is the kernel's flow dissection, not ours (tunnels,
//! VLANs), so readers still route by our own flow hash.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use super::ring::{self, BLOCK_STATUS};
use super::{wall_clock, KernelStats, LiveConfig, LiveError, PacketSource};
use crate::capture::{FrameInfo, LinkType, Timestamp};

const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
/// Blocks processed per `poll` call before the reader gets control back.
const BLOCKS_PER_POLL: usize = 8;

/// One `AF_PACKET` socket with its ring.
pub struct AfPacket {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    block_size: usize,
    block_count: usize,
    next_block: usize,
    name: String,
    snaplen: usize,
    stats: KernelStats,
    /// Frames with a VLAN tag put back (only those are copied).
    vlan_buf: Vec<u8>,
    /// Blocks whose layout did not parse (kernel/ABI mismatch).
    malformed_blocks: u64,
}

// SAFETY: the mapping is owned by this value alone (no aliasing pointers
// escape), so moving it to the reader thread is sound.
unsafe impl Send for AfPacket {}

impl Drop for AfPacket {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` are exactly what mmap returned; nothing
        // borrows the ring past `poll`.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}

fn os_err(iface: &str, what: &str) -> LiveError {
    let e = std::io::Error::last_os_error();
    let hint = match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            " (needs root or CAP_NET_RAW; see the README, Live capture)"
        }
        Some(libc::ENOMEM) => {
            " (ring too large: lower live.block_count/block_size or raise LimitMEMLOCK)"
        }
        _ => "",
    };
    LiveError::new(iface, format!("{what}: {e}{hint}"))
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, val: &T) -> bool {
    // SAFETY: `val` points to a live `T` of the size we pass; the kernel
    // only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Opens `count` sockets on `iface` in one fanout group (no group when 1).
///
/// # Errors
/// Missing interface, no permission, bad BPF expression, ring too large.
pub fn open_group(iface: &str, cfg: &LiveConfig, count: usize) -> Result<Vec<AfPacket>, LiveError> {
    let filter = compile_bpf(iface, &cfg.bpf)?;
    let mut out = Vec::with_capacity(count);
    let mut group: Option<u16> = None;
    for _ in 0..count {
        let s = AfPacket::open(iface, cfg, filter.as_deref())?;
        if count > 1 {
            group = Some(s.join_fanout(iface, group)?);
        }
        out.push(s);
    }
    Ok(out)
}

/// Compiles a tcpdump expression with libpcap for an Ethernet link.
fn compile_bpf(iface: &str, expr: &str) -> Result<Option<Vec<libc::sock_filter>>, LiveError> {
    if expr.trim().is_empty() {
        return Ok(None);
    }
    let dead = ::pcap::Capture::dead(::pcap::Linktype::ETHERNET)
        .map_err(|e| LiveError::new(iface, format!("BPF: {e}")))?;
    let prog = dead
        .compile(expr, true)
        .map_err(|e| LiveError::new(iface, format!("BPF expression {expr:?}: {e}")))?;
    let mut insns = Vec::new();
    for i in prog.get_instructions() {
        // The pcap crate exposes instructions only through Display:
        // "code jt jf k".
        let text = i.to_string();
        let mut it = text.split_whitespace();
        let mut next = || it.next().and_then(|s| s.parse::<u64>().ok());
        let (Some(code), Some(jt), Some(jf), Some(k)) = (next(), next(), next(), next()) else {
            return Err(LiveError::new(iface, "BPF: cannot read compiled program"));
        };
        insns.push(libc::sock_filter {
            code: code as u16,
            jt: jt as u8,
            jf: jf as u8,
            k: k as u32,
        });
    }
    Ok(Some(insns))
}

impl AfPacket {
    fn open(
        iface: &str,
        cfg: &LiveConfig,
        filter: Option<&[libc::sock_filter]>,
    ) -> Result<AfPacket, LiveError> {
        let ifindex = ifindex(iface)?;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // Protocol 0: nothing is queued until `bind` names the interface
        // and ETH_P_ALL (else the ring would fill with every interface's
        // traffic in between; libpcap does the same).
        // SAFETY: plain syscall; the returned descriptor is owned below.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(os_err(iface, "cannot open AF_PACKET socket"));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if !setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3) {
            return Err(os_err(iface, "TPACKET_V3 not supported"));
        }
        if let Some(f) = filter {
            let prog = libc::sock_fprog {
                len: f.len() as u16,
                filter: f.as_ptr().cast_mut(),
            };
            if !setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog) {
                return Err(os_err(iface, "cannot attach BPF filter"));
            }
        }
        let (req, map_len) = ring_request(cfg);
        if !setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req) {
            return Err(os_err(iface, "cannot set up the ring"));
        }
        // SAFETY: maps the ring the kernel just allocated for this socket;
        // checked against MAP_FAILED, unmapped in Drop.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os_err(iface, "cannot map the ring"));
        }
        let s = AfPacket {
            fd,
            map: map.cast(),
            map_len,
            block_size: req.tp_block_size as usize,
            block_count: req.tp_block_nr as usize,
            next_block: 0,
            name: iface.to_string(),
            snaplen: cfg.snaplen.max(64) as usize,
            stats: KernelStats::default(),
            vlan_buf: Vec::with_capacity(65536 + 4),
            malformed_blocks: 0,
        };
        s.bind(iface, ifindex, proto)?;
        if cfg.promisc {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            if !setsockopt(&s.fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq) {
                return Err(os_err(iface, "cannot enable promiscuous mode"));
            }
        }
        Ok(s)
    }

    fn bind(&self, iface: &str, ifindex: libc::c_int, proto: u16) -> Result<(), LiveError> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a valid sockaddr_ll and we pass its size.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os_err(iface, "cannot bind to the interface"));
        }
        Ok(())
    }

    /// Joins the fanout group `group`, or creates one with a kernel-chosen
    /// id; returns the group id.
    fn join_fanout(&self, iface: &str, group: Option<u16>) -> Result<u16, LiveError> {
        let mode = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
        let arg: u32 = match group {
            Some(id) => u32::from(id) | (mode << 16),
            None => (mode | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16,
        };
        if !setsockopt(&self.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg) {
            return Err(os_err(iface, "cannot join the fanout group"));
        }
        if let Some(id) = group {
            return Ok(id);
        }
        let mut val: u32 = 0;
        let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: `val`/`len` describe a writable u32.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_FANOUT,
                (&mut val as *mut u32).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(os_err(iface, "cannot read the fanout group id"));
        }
        Ok((val & 0xffff) as u16)
    }

    /// The status word of block `i`.
    fn status(&self, i: usize) -> u32 {
        // SAFETY: i < block_count, so the word lies inside the mapping;
        // volatile because the kernel writes it concurrently, and the
        // acquire fence orders our reads of the block after it.
        let s = unsafe {
            let p = self
                .map
                .add(i * self.block_size + BLOCK_STATUS)
                .cast::<u32>();
            std::ptr::read_volatile(p)
        };
        fence(Ordering::Acquire);
        s
    }

    /// Hands block `i` back to the kernel.
    fn release(&self, i: usize) {
        fence(Ordering::Release);
        // SAFETY: as in `status`; no slice of this block outlives the call
        // (the walk is done).
        unsafe {
            let p = self
                .map
                .add(i * self.block_size + BLOCK_STATUS)
                .cast::<u32>();
            std::ptr::write_volatile(p, TP_STATUS_KERNEL);
        }
    }

    /// Walks block `i` (owned by us) and releases it.
    fn process_block(&mut self, i: usize, f: &mut dyn FnMut(FrameInfo, &[u8])) {
        // SAFETY: the kernel set TP_STATUS_USER on this block, so it will
        // not write to it until `release`; the slice lies inside the
        // mapping and is dropped before the release below.
        let block = unsafe {
            std::slice::from_raw_parts(self.map.add(i * self.block_size), self.block_size)
        };
        let snaplen = self.snaplen;
        let vlan_buf = &mut self.vlan_buf;
        let walk = ring::walk_block(block, &mut |p| {
            let data = match p.vlan {
                Some((tpid, tci)) => {
                    ring::with_vlan(p.data, tpid, tci, vlan_buf);
                    vlan_buf.as_slice()
                }
                None => p.data,
            };
            let data = data.get(..snaplen).unwrap_or(data);
            let info = FrameInfo {
                ts: p.ts,
                linktype: LinkType::ETHERNET,
                caplen: data.len() as u32,
                orig_len: p.len,
                number: 0,
                file: 0,
            };
            f(info, data);
        });
        self.malformed_blocks += u64::from(walk.malformed);
        self.release(i);
    }

    fn wait(&self, timeout: Duration) {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        let ms = timeout.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: one valid pollfd; EINTR (a signal) simply returns early.
        unsafe {
            libc::poll(&mut pfd, 1, ms);
        }
    }
}

impl PacketSource for AfPacket {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(FrameInfo, &[u8]),
    ) -> Result<bool, LiveError> {
        let deadline = Instant::now() + timeout;
        let mut done = 0;
        loop {
            let i = self.next_block;
            if self.status(i) & TP_STATUS_USER != 0 {
                self.process_block(i, f);
                self.next_block = (i + 1) % self.block_count;
                done += 1;
                if done >= BLOCKS_PER_POLL {
                    return Ok(true);
                }
                continue;
            }
            let now = Instant::now();
            if done > 0 || now >= deadline {
                return Ok(true);
            }
            self.wait(deadline - now);
        }
    }

    fn kernel_stats(&mut self) -> KernelStats {
        // SAFETY: tpacket_stats_v3 is plain old data.
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st`/`len` describe a writable tpacket_stats_v3. The
        // kernel resets its counters on each read, so we accumulate.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            // tp_packets already includes tp_drops.
            self.stats.received += u64::from(st.tp_packets);
            self.stats.dropped += u64::from(st.tp_drops);
        }
        self.stats
    }

    fn clock(&self) -> Timestamp {
        wall_clock()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        if self.malformed_blocks == 0 {
            return Vec::new();
        }
        let n = std::mem::take(&mut self.malformed_blocks);
        vec![format!("{}: {n} ring blocks with an inconsistent layout (packets after the inconsistency skipped)", self.name)]
    }
}

fn ifindex(iface: &str) -> Result<libc::c_int, LiveError> {
    let c = CString::new(iface).map_err(|_| LiveError::new(iface, "bad interface name"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(LiveError::new(iface, "no such interface"));
    }
    libc::c_int::try_from(i).map_err(|_| LiveError::new(iface, "interface index out of range"))
}

/// The ring request for `cfg` and the size of its mapping. Frames are
/// variable-sized in V3; `tp_frame_size` only has to divide the block.
fn ring_request(cfg: &LiveConfig) -> (libc::tpacket_req3, usize) {
    let page = 4096u32;
    let block_size = cfg.block_size.max(page).div_ceil(page) * page;
    let block_nr = cfg.block_count.max(2);
    let frame_size = 2048u32;
    let req = libc::tpacket_req3 {
        tp_block_size: block_size,
        tp_block_nr: block_nr,
        tp_frame_size: frame_size,
        tp_frame_nr: (block_size / frame_size) * block_nr,
        tp_retire_blk_tov: cfg.block_timeout_ms.max(1),
        tp_sizeof_priv: 0,
        tp_feature_req_word: 0,
    };
    (req, block_size as usize * block_nr as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_request_is_consistent() {
        let cfg = LiveConfig {
            block_size: 5000,
            block_count: 1,
            ..LiveConfig::default()
        };
        let (req, len) = ring_request(&cfg);
        assert_eq!(req.tp_block_size % 4096, 0);
        assert_eq!(req.tp_block_size, 8192);
        assert_eq!(req.tp_block_nr, 2);
        assert_eq!(req.tp_frame_nr, (8192 / 2048) * 2);
        assert_eq!(len, 16384);
    }

    #[test]
    fn bpf_compiles_to_socket_filter() {
        let f = compile_bpf("x", "tcp port 80").unwrap().unwrap();
        assert!(f.len() > 3);
        // The last instruction returns (accept or reject).
        assert_eq!(f.last().map(|i| i.code & 0x07), Some(0x06));
        assert!(compile_bpf("x", "").unwrap().is_none());
        let e = compile_bpf("x", "tcp port banana").unwrap_err();
        assert!(e.to_string().contains("BPF"), "{e}");
    }

    #[test]
    fn missing_interface_is_named() {
        let e = open_group("lw-nonexistent0", &LiveConfig::default(), 1)
            .err()
            .unwrap();
        assert!(e.to_string().contains("lw-nonexistent0"), "{e}");
    }
}
