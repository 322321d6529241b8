//! libpcap capture (the `pcap` crate): promiscuous mode, snaplen, kernel
//! buffer size, immediate mode, BPF filter, nanosecond timestamps. The read
//! handle is non-blocking and `poll` waits on its descriptor with a
//! timeout (libpcap's own read timeout is not honoured in immediate mode
//! on Linux), so shutdown is prompt.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::{wall_clock, KernelStats, LiveConfig, LiveError, PacketSource};
use crate::capture::{FrameInfo, LinkType, Timestamp};

/// libpcap read timeout in milliseconds (the ring's block timeout).
const READ_TIMEOUT_MS: i32 = 50;
/// Frames handed over per `poll` call at most.
const FRAMES_PER_POLL: usize = 4096;

/// One libpcap handle on one interface.
pub struct PcapSource {
    cap: ::pcap::Capture<::pcap::Active>,
    name: String,
    linktype: LinkType,
    /// Raw (32-bit, wrapping) counters last read, to accumulate deltas.
    last: (u32, u32, u32),
    stats: KernelStats,
}

impl PcapSource {
    /// Opens `iface` with the options of `cfg`.
    ///
    /// # Errors
    /// Missing interface, no permission, bad BPF expression.
    pub fn open(iface: &str, cfg: &LiveConfig) -> Result<PcapSource, LiveError> {
        let err = |e: ::pcap::Error| LiveError::new(iface, e.to_string());
        let mut cap = ::pcap::Capture::from_device(iface)
            .map_err(err)?
            .promisc(cfg.promisc)
            .snaplen(i32::try_from(cfg.snaplen).unwrap_or(65535))
            .buffer_size(i32::try_from(cfg.buffer_size).unwrap_or(i32::MAX))
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .precision(::pcap::Precision::Nano)
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(err)?;
        if !cfg.bpf.trim().is_empty() {
            cap.filter(&cfg.bpf, true)
                .map_err(|e| LiveError::new(iface, format!("BPF expression {:?}: {e}", cfg.bpf)))?;
        }
        let linktype = LinkType(u16::try_from(cap.get_datalink().0).unwrap_or(u16::MAX));
        Ok(PcapSource {
            cap,
            name: iface.to_string(),
            linktype,
            last: (0, 0, 0),
            stats: KernelStats::default(),
        })
    }
}

impl PcapSource {
    /// Waits until the handle is readable or `timeout` passes (a signal
    /// ends the wait early, which is what we want).
    fn wait(&self, timeout: Duration) {
        let ms = u16::try_from(timeout.as_millis().clamp(1, 1000)).unwrap_or(1000);
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(ms));
    }
}

impl PacketSource for PcapSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(FrameInfo, &[u8]),
    ) -> Result<bool, LiveError> {
        let started = Instant::now();
        let mut delivered = 0;
        while delivered < FRAMES_PER_POLL {
            match self.cap.next_packet() {
                Ok(p) => {
                    let h = p.header;
                    let ts = u64::try_from(h.ts.tv_sec).unwrap_or(0) * 1_000_000_000
                        + u64::try_from(h.ts.tv_usec).unwrap_or(0);
                    let info = FrameInfo {
                        ts,
                        linktype: self.linktype,
                        caplen: p.data.len() as u32,
                        orig_len: h.len,
                        number: 0,
                        file: 0,
                    };
                    f(info, p.data);
                    delivered += 1;
                }
                // Non-blocking: nothing there now.
                Err(::pcap::Error::TimeoutExpired) => {
                    let waited = started.elapsed();
                    if delivered > 0 || waited >= timeout {
                        break;
                    }
                    self.wait(timeout - waited);
                }
                Err(::pcap::Error::NoMorePackets) => return Ok(false),
                Err(e) => return Err(LiveError::new(&self.name, e.to_string())),
            }
        }
        Ok(true)
    }

    fn kernel_stats(&mut self) -> KernelStats {
        if let Ok(s) = self.cap.stats() {
            let (r, d, i) = self.last;
            self.stats.received += u64::from(s.received.wrapping_sub(r));
            self.stats.dropped += u64::from(s.dropped.wrapping_sub(d));
            self.stats.if_dropped += u64::from(s.if_dropped.wrapping_sub(i));
            self.last = (s.received, s.dropped, s.if_dropped);
        }
        self.stats
    }

    fn clock(&self) -> Timestamp {
        wall_clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interface_is_named() {
        let e = PcapSource::open("lw-nonexistent0", &LiveConfig::default())
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("lw-nonexistent0: "), "{e}");
    }
}
