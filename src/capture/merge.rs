//! K-way merge of several captures into one, in timestamp order.
//!
//! Each input keeps one frame read ahead; a min-heap on
//! `(timestamp, file index)` picks the next, so ties go to the earlier file
//! and frames of one file keep their order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;

use super::file::FileReader;
use super::{CaptureError, FrameInfo, FrameSource, Timestamp};

/// Several [`FileReader`]s merged into one [`FrameSource`].
pub struct Merge {
    inputs: Vec<Input>,
    /// `(ts, file)` of every input holding a frame read ahead.
    heap: BinaryHeap<Reverse<(Timestamp, u32)>>,
    names: Vec<PathBuf>,
    /// An error met while reading ahead, returned on the next call.
    pending_err: Option<CaptureError>,
}

struct Input {
    reader: FileReader,
    /// The frame read ahead, if any.
    info: Option<FrameInfo>,
    bytes: Vec<u8>,
}

impl Merge {
    /// Merges `readers`, whose `file` indexes are their positions in `names`.
    ///
    /// # Errors
    /// The first frame of some input cannot be read.
    pub fn new(readers: Vec<FileReader>, names: Vec<PathBuf>) -> Result<Merge, CaptureError> {
        let mut m = Merge {
            inputs: readers
                .into_iter()
                .map(|reader| Input {
                    reader,
                    info: None,
                    bytes: Vec::new(),
                })
                .collect(),
            heap: BinaryHeap::new(),
            names,
            pending_err: None,
        };
        for i in 0..m.inputs.len() {
            m.read_ahead(i)?;
        }
        Ok(m)
    }

    /// Reads the next frame of input `i` into its slot.
    fn read_ahead(&mut self, i: usize) -> Result<(), CaptureError> {
        let Some(input) = self.inputs.get_mut(i) else {
            return Ok(());
        };
        input.bytes.clear();
        input.info = input.reader.next_frame(&mut input.bytes)?;
        if let Some(info) = input.info {
            self.heap.push(Reverse((info.ts, info.file)));
        }
        Ok(())
    }
}

impl FrameSource for Merge {
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<Option<FrameInfo>, CaptureError> {
        if let Some(e) = self.pending_err.take() {
            return Err(e);
        }
        let Some(Reverse((_, file))) = self.heap.pop() else {
            return Ok(None);
        };
        let i = file as usize;
        let Some(info) = self.inputs.get_mut(i).and_then(|input| {
            out.extend_from_slice(&input.bytes);
            input.info.take()
        }) else {
            return Ok(None);
        };
        // A failing input stops; its error follows the frames before it.
        if let Err(e) = self.read_ahead(i) {
            self.pending_err = Some(e);
        }
        Ok(Some(info))
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.inputs
            .iter_mut()
            .flat_map(|i| i.reader.take_warnings())
            .collect()
    }

    fn file_names(&self) -> &[PathBuf] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open_inputs;
    use crate::capture::testutil::*;

    fn write(dir: &std::path::Path, name: &str, records: &[(u32, &[u8])]) -> PathBuf {
        let mut f = pcap_header(false, false, 1);
        for (sec, data) in records {
            f.extend(pcap_record(false, *sec, 0, data));
        }
        let p = dir.join(name);
        std::fs::write(&p, f).unwrap();
        p
    }

    #[test]
    fn merges_in_time_order_ties_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", &[(1, b"a1"), (3, b"a3"), (5, b"a5")]);
        let b = write(dir.path(), "b.pcap", &[(1, b"b1"), (2, b"b2"), (6, b"b6")]);
        let mut src = open_inputs(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(src.file_names(), [a, b]);
        let mut out = Vec::new();
        let mut seen = Vec::new();
        while let Some(info) = src.next_frame(&mut out).unwrap() {
            seen.push((info.file, info.number));
        }
        assert_eq!(out, b"a1b1b2a3a5b6");
        assert_eq!(seen, [(0, 1), (1, 1), (1, 2), (0, 2), (0, 3), (1, 3)]);
    }

    #[test]
    fn directory_is_merged_and_error_follows_good_frames() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1.pcap", &[(1, b"x1"), (4, b"x4")]);
        let p = write(dir.path(), "2.pcap", &[(2, b"y2")]);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(&[0xFF; 40]);
        std::fs::write(&p, bytes).unwrap();
        let mut src = open_inputs(&[dir.path().to_path_buf()]).unwrap();
        let mut out = Vec::new();
        assert_eq!(src.next_frame(&mut out).unwrap().unwrap().file, 0);
        assert_eq!(src.next_frame(&mut out).unwrap().unwrap().file, 1);
        let err = src.next_frame(&mut out).unwrap_err().to_string();
        assert!(err.contains("2.pcap: corrupt at packet 2"), "{err}");
        // The other input goes on after the failed one is dropped.
        assert_eq!(src.next_frame(&mut out).unwrap().unwrap().number, 2);
        assert!(src.next_frame(&mut out).unwrap().is_none());
        assert_eq!(out, b"x1y2x4");
    }

    #[test]
    fn warnings_from_all_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", &[(1, b"a1"), (3, b"a3")]);
        let b = write(dir.path(), "b.pcap", &[(2, b"b2")]);
        let bytes = std::fs::read(&a).unwrap();
        std::fs::write(&a, &bytes[..bytes.len() - 1]).unwrap();
        let mut src = open_inputs(&[a, b]).unwrap();
        let mut out = Vec::new();
        let mut n = 0;
        while src.next_frame(&mut out).unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
        let w = src.take_warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("a.pcap") && w[0].contains("packet 2"),
            "{w:?}"
        );
    }

    /// Real loopback captures written by tcpdump (see tests/data/capture/README.md).
    #[test]
    fn tcpdump_fixtures_merge_and_decode() {
        use crate::decode::{decode, tcp_flags};
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/capture");
        let files = [
            dir.join("lo-http-eth-us.pcap"),
            dir.join("any-http-sll2-ns.pcap"),
        ];
        let mut src = open_inputs(&files).unwrap();
        let (mut frame, mut last_ts, mut per_file) = (Vec::new(), 0, [0u32; 2]);
        let mut posts = 0;
        while let Some(info) = src.next_frame(&mut frame).unwrap() {
            assert!(info.ts >= last_ts, "merge keeps time order");
            last_ts = info.ts;
            per_file[info.file as usize] += 1;
            let d = decode(info.linktype, &frame).unwrap();
            assert_eq!(d.dport.min(d.sport), 8080);
            let t = d.tcp.unwrap();
            if t.flags == tcp_flags::SYN {
                assert_eq!(t.wscale, Some(10));
            }
            if frame[d.payload.clone()].starts_with(b"POST /form") {
                assert_eq!(d.payload.len(), 60);
                posts += 1;
            }
            frame.clear();
        }
        assert_eq!(per_file, [10, 10]);
        assert_eq!(posts, 2);
        assert!(src.take_warnings().is_empty());
    }

    /// Throughput of reading and decoding; run with `--ignored --nocapture`.
    #[test]
    #[ignore = "measurement, not a check"]
    fn throughput() {
        use crate::decode::decode;
        use crate::decode::testutil::{eth, ipv4, tcp};
        let frame = eth(0x0800, &ipv4(6, &tcp((1, 2), 3, 0x18, &[], &[b'x'; 560])));
        let n = 200_000u32;
        let mut f = pcap_header(false, false, 1);
        for i in 0..n {
            f.extend(pcap_record(false, i, 0, &frame));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.pcap");
        std::fs::write(&p, &f).unwrap();
        let start = std::time::Instant::now();
        let mut src = open_inputs(&[p]).unwrap();
        let (mut buf, mut bytes, mut count) = (Vec::new(), 0usize, 0u32);
        while let Some(info) = src.next_frame(&mut buf).unwrap() {
            let d = decode(info.linktype, &buf).unwrap();
            bytes += d.payload.len();
            count += 1;
            buf.clear();
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(count, n);
        assert_eq!(bytes, 560 * n as usize);
        let mb = f.len() as f64 / 1e6;
        println!(
            "read+decode {n} frames, {mb:.0} MB in {secs:.3} s: {:.0} MB/s, {:.2} Mpps",
            mb / secs,
            f64::from(n) / secs / 1e6
        );
        let start = std::time::Instant::now();
        for _ in 0..10 {
            for _ in 0..n {
                std::hint::black_box(
                    decode(
                        crate::capture::LinkType::ETHERNET,
                        std::hint::black_box(&frame),
                    )
                    .ok(),
                );
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!("decode only: {:.1} Mpps", 10.0 * f64::from(n) / secs / 1e6);
    }
}
