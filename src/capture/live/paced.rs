//! `replay --realtime`: a capture file delivered at its recorded pace (or a
//! multiple of it) through the live code path.
//!
//! Frame `ts` is due `(ts - first_ts) / speed` after the start. The
//! source's clock (which times out idle flows) is the packet time mapped
//! back from the wall clock, so flows expire as they would have live.

use std::time::{Duration, Instant};

use super::{KernelStats, LiveError, PacketSource};
use crate::capture::{FrameInfo, FrameSource, Timestamp};

/// Frames handed over per `poll` call at most.
const FRAMES_PER_POLL: usize = 4096;

/// How long after the start (wall clock) a frame of time `ts` is due.
pub fn due_after(first_ts: Timestamp, ts: Timestamp, speed: f64) -> Duration {
    let ns = ts.saturating_sub(first_ts) as f64 / speed.max(1e-9);
    Duration::from_nanos(ns.min(u64::MAX as f64) as u64)
}

/// The packet time that corresponds to `elapsed` wall time since the start.
pub fn packet_time(first_ts: Timestamp, elapsed: Duration, speed: f64) -> Timestamp {
    let ns = elapsed.as_nanos() as f64 * speed;
    first_ts.saturating_add(ns.min(u64::MAX as f64) as u64)
}

/// A file source paced in real time.
pub struct PacedSource {
    inner: Box<dyn FrameSource>,
    name: String,
    speed: f64,
    /// Wall time and packet time of the first frame.
    start: Option<(Instant, Timestamp)>,
    /// The next frame, read but not yet due.
    pending: Option<FrameInfo>,
    frame: Vec<u8>,
    /// Latest packet time handed over.
    last_ts: Timestamp,
    delivered: u64,
}

impl PacedSource {
    /// Paces `inner` at `speed` times the recorded rate (1.0 = as recorded).
    pub fn new(inner: Box<dyn FrameSource>, name: String, speed: f64) -> PacedSource {
        PacedSource {
            inner,
            name,
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            start: None,
            pending: None,
            frame: Vec::with_capacity(65536),
            last_ts: 0,
            delivered: 0,
        }
    }

    /// Reads the next frame into `self.frame`; false at the end.
    fn fill(&mut self) -> Result<bool, LiveError> {
        if self.pending.is_some() {
            return Ok(true);
        }
        self.frame.clear();
        match self.inner.next_frame(&mut self.frame) {
            Ok(Some(info)) => {
                self.start.get_or_insert((Instant::now(), info.ts));
                self.pending = Some(info);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(LiveError::new(&self.name, e.to_string())),
        }
    }
}

impl PacketSource for PacedSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(FrameInfo, &[u8]),
    ) -> Result<bool, LiveError> {
        let deadline = Instant::now() + timeout;
        for _ in 0..FRAMES_PER_POLL {
            if !self.fill()? {
                return Ok(false);
            }
            let (Some(info), Some((t0, first))) = (self.pending, self.start) else {
                return Ok(false);
            };
            let due = t0 + due_after(first, info.ts, self.speed);
            let now = Instant::now();
            if due > now {
                if now >= deadline {
                    return Ok(true);
                }
                std::thread::sleep(due.min(deadline) - now);
                if due > deadline {
                    return Ok(true);
                }
            }
            self.pending = None;
            self.last_ts = self.last_ts.max(info.ts);
            self.delivered += 1;
            f(info, &self.frame);
        }
        Ok(true)
    }

    fn kernel_stats(&mut self) -> KernelStats {
        KernelStats {
            received: self.delivered,
            ..KernelStats::default()
        }
    }

    fn clock(&self) -> Timestamp {
        match self.start {
            Some((t0, first)) => packet_time(first, t0.elapsed(), self.speed).max(self.last_ts),
            None => 0,
        }
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil;

    #[test]
    fn pacing_math() {
        let s = 1_000_000_000u64;
        assert_eq!(due_after(10 * s, 10 * s, 1.0), Duration::ZERO);
        assert_eq!(due_after(10 * s, 12 * s, 1.0), Duration::from_secs(2));
        assert_eq!(due_after(10 * s, 12 * s, 4.0), Duration::from_millis(500));
        assert_eq!(due_after(10 * s, 11 * s, 0.5), Duration::from_secs(2));
        // Out-of-order (earlier) timestamps are due at once.
        assert_eq!(due_after(10 * s, 9 * s, 1.0), Duration::ZERO);
        assert_eq!(packet_time(10 * s, Duration::from_secs(2), 1.0), 12 * s);
        assert_eq!(packet_time(10 * s, Duration::from_millis(500), 4.0), 12 * s);
        // Round trip.
        let ts = 10 * s + 123_456_789;
        let back = packet_time(10 * s, due_after(10 * s, ts, 3.0), 3.0);
        assert!(back.abs_diff(ts) < 10, "{back} vs {ts}");
    }

    #[test]
    fn delivers_in_order_at_pace() {
        let ms = 1_000_000u64;
        let t0 = 1_700_000_000_000_000_000u64;
        let frames: Vec<(u64, Vec<u8>)> = (0..4)
            .map(|i| (t0 + i * 20 * ms, vec![i as u8; 60]))
            .collect();
        let mut bytes = testutil::pcap_header(false, true, 1);
        for (ts, d) in &frames {
            let (sec, ns) = ((ts / 1_000_000_000) as u32, (ts % 1_000_000_000) as u32);
            bytes.extend(testutil::pcap_record(false, sec, ns, d));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.pcap");
        std::fs::write(&path, bytes).unwrap();
        let src = crate::capture::open_inputs(&[path]).unwrap();
        // 60 ms of capture at speed 2 takes about 30 ms.
        let mut p = PacedSource::new(src, "f".into(), 2.0);
        let started = Instant::now();
        let mut got = Vec::new();
        while p
            .poll(Duration::from_millis(5), &mut |i, d| got.push((i.ts, d[0])))
            .unwrap()
        {}
        let took = started.elapsed();
        assert_eq!(
            got.iter().map(|g| g.1).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        assert!(took >= Duration::from_millis(28), "{took:?}");
        assert!(took < Duration::from_millis(500), "{took:?}");
        assert!(p.clock() >= t0 + 60 * ms);
        assert_eq!(p.kernel_stats().received, 4);
    }
}
