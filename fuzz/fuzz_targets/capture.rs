//! Reads arbitrary bytes as a pcap/pcapng file and decodes every frame;
//! classic pcap is read both by the chunked reader and by `pcap-parser`,
//! which must agree on every frame, the end and the warnings.
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

fuzz_target!(|data: &[u8]| {
    let chunked = ChunkedFile::from_reader("fuzz.pcap".into(), 0, std::io::Cursor::new(data.to_vec()));
    if let Ok(Some(mut c)) = chunked {
        let parsed = FileReader::from_reader("fuzz.pcap".into(), 0, std::io::Cursor::new(data.to_vec()));
        let mut p = parsed.expect("a classic pcap header the parser accepts");
        assert_eq!(read_all(&mut c), read_all(&mut p));
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
