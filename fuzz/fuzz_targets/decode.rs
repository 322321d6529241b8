//! Decodes arbitrary bytes; the first byte picks the link type.
#![no_main]

use leakwatch::capture::LinkType;
use leakwatch::decode::{decode, decode_frame, Frame};
use libfuzzer_sys::fuzz_target;

const LINKS: [LinkType; 9] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(147),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(pick) % LINKS.len()];
    if let Ok(d) = decode(link, frame) {
        assert!(d.payload.start <= d.payload.end && d.payload.end <= frame.len());
        assert_eq!(d.tcp.is_some(), d.proto == 6);
        assert!(d.l3_offset <= d.l4_offset && d.l4_offset <= frame.len());
    }
    if let Ok(Frame::Fragment(at)) = decode_frame(link, frame) {
        assert!(at.ip_offset < frame.len() && at.end <= frame.len());
    }
});
