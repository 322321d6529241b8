//! Reads arbitrary bytes as a pcap/pcapng file and decodes every frame;
//! classic pcap is read by the chunked reader, by the mapped reader (the
//! bytes written to a file) and by `pcap-parser`, which must agree on
//! every frame, the end and the warnings.
#![no_main]

use leakwatch::capture::chunked::ChunkedFile;
use leakwatch::capture::file::{FileReader, MAX_CAPLEN};
use leakwatch::capture::FrameSource;
use leakwatch::decode::decode;
use libfuzzer_sys::fuzz_target;

type Frames = Vec<(leakwatch::capture::FrameInfo, Vec<u8>)>;

/// Every frame, whether the end was an error, and the warnings.
fn read_all(src: &mut dyn FrameSource) -> (Frames, Option<String>, Vec<String>) {
    let mut frames = Vec::new();
    let end = loop {
        let mut buf = Vec::new();
        match src.next_frame(&mut buf) {
            Ok(Some(info)) => frames.push((info, buf)),
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    (frames, end, src.take_warnings())
}

/// A directory for the file the mapped reader reads (one per process).
fn dir() -> &'static tempfile::TempDir {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

/// [`read_all`] of `data` written to `fuzz.pcap` and mapped, the
/// directory left out of the messages; `None` when it is no classic pcap.
fn read_mapped(data: &[u8]) -> Option<(Frames, Option<String>, Vec<String>)> {
    let path = dir().path().join("fuzz.pcap");
    std::fs::write(&path, data).expect("write the capture");
    let mut c = ChunkedFile::open(&path, 0, true).expect("open the capture")?;
    let (frames, end, warnings) = read_all(&mut c);
    let prefix = format!("{}/", dir().path().display());
    let local = |m: String| m.replace(&prefix, "");
    Some((frames, end.map(local), warnings.into_iter().map(local).collect()))
}

fuzz_target!(|data: &[u8]| {
    let chunked = ChunkedFile::from_reader("fuzz.pcap".into(), 0, std::io::Cursor::new(data.to_vec()));
    if let Ok(Some(mut c)) = chunked {
        let parsed = FileReader::from_reader("fuzz.pcap".into(), 0, std::io::Cursor::new(data.to_vec()));
        let mut p = parsed.expect("a classic pcap header the parser accepts");
        let want = read_all(&mut p);
        assert_eq!(read_all(&mut c), want);
        assert_eq!(read_mapped(data), Some(want));
    }
    let cursor = std::io::Cursor::new(data.to_vec());
    let Ok(mut reader) = FileReader::from_reader("fuzz.pcap".into(), 0, cursor) else {
        return;
    };
    let mut frame = Vec::new();
    let mut last = 0;
    // Each frame consumes at least a record header, so this ends.
    while let Ok(Some(info)) = reader.next_frame(&mut frame) {
        assert_eq!(info.number, last + 1);
        last = info.number;
        assert_eq!(info.caplen as usize, frame.len());
        assert!(info.caplen <= MAX_CAPLEN);
        let _ = decode(info.linktype, &frame);
        frame.clear();
    }
    // A finished reader stays finished.
    assert!(matches!(reader.next_frame(&mut frame), Ok(None)));
    let _ = reader.take_warnings();
});
