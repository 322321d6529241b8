//! Reads arbitrary bytes as a pcap/pcapng file and decodes every frame.
#![no_main]

use leakwatch::capture::file::{FileReader, MAX_CAPLEN};
use leakwatch::capture::FrameSource;
use leakwatch::decode::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
