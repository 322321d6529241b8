//! Tests of the TLS decoder with real ClientHellos captured from curl 7.88
//! (OpenSSL 3.0) and `openssl s_client` 3.0 on loopback.

use super::parser::tests::{client_hello_body, sni_ext};
use super::*;
use proptest::prelude::*;

/// `curl -k https://api.example.cn:8443/ --http1.1` (one record, 517 bytes).
const CURL_CH: &[u8] = include_bytes!("../../../tests/data/nettls/curl_7.88_clienthello.bin");
/// `openssl s_client -servername Mail.Example.CN -alpn h2,http/1.1`.
const OPENSSL_CH: &[u8] = include_bytes!("../../../tests/data/nettls/openssl_3.0_clienthello.bin");

#[derive(Default)]
struct Sink {
    content: usize,
    txs: Vec<(Direction, TlsInfo)>,
}

impl ContentSink for Sink {
    fn on_content(&mut self, _: Direction, _: &'static str, data: &[u8]) {
        self.content += data.len();
    }
    fn end_content(&mut self, _: Direction) {}
    fn end_transaction(&mut self, dir: Direction, meta: &TxMeta) {
        if let TxMeta::Tls(i) = meta {
            self.txs.push((dir, i.clone()));
        }
    }
}

fn feed_split(data: &[u8], cuts: &[usize]) -> (TlsParser, Sink) {
    let mut p = TlsParser::default();
    let mut s = Sink::default();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(at, data.len());
        p.on_data(
            Direction::ToServer,
            data.get(at..c).unwrap_or_default(),
            &mut s,
        );
        at = c;
    }
    (p, s)
}

#[test]
fn curl_client_hello() {
    assert_eq!(probe(Direction::ToServer, CURL_CH), TlsProbe::Tls);
    let (p, s) = feed_split(CURL_CH, &[]);
    assert_eq!(s.txs.len(), 1);
    let info = p.info();
    assert_eq!(info.sni.as_deref(), Some("api.example.cn"));
    assert_eq!(info.alpn, vec!["http/1.1"]);
    assert_eq!(
        info.client_versions,
        vec!["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"]
    );
    assert_eq!(info.version, Some("TLSv1.3"));
    assert_eq!(info.cipher_suites, 31);
    // Cross-checked with an independent Python implementation of the spec.
    assert_eq!(
        info.ja4.as_deref(),
        Some("t13d3112h1_e8f1e7e78f70_b26ce05bbdd6")
    );
    assert_eq!(p.server_name(), Some("api.example.cn"));
    assert!(p.is_encrypted());
    assert_eq!(s.content, 0, "ciphertext and handshakes are never content");
}

#[test]
fn openssl_client_hello_name_is_lowercased() {
    let (p, _) = feed_split(OPENSSL_CH, &[3, 7, 100]);
    assert_eq!(p.info().sni.as_deref(), Some("Mail.Example.CN"));
    assert_eq!(p.server_name(), Some("mail.example.cn"));
    assert_eq!(p.info().alpn, vec!["h2", "http/1.1"]);
    assert_eq!(
        p.info().ja4.as_deref(),
        Some("t13d3111h2_e8f1e7e78f70_1f22a2ca17c4")
    );
}

/// Re-frames a hello body into several handshake records of `chunk` bytes.
fn records(hs_type: u8, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut hs = vec![hs_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut out = Vec::new();
    for c in hs.chunks(chunk.max(1)) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn hello_across_records() {
    let body = client_hello_body(&[0x1301], &[sni_ext("a.example.cn")], 0x0303);
    let (p, s) = feed_split(&records(1, &body, 7), &[]);
    assert_eq!(s.txs.len(), 1);
    assert_eq!(p.server_name(), Some("a.example.cn"));
    assert_eq!(p.info().version, Some("TLSv1.2"));
}

#[test]
fn server_hello_sets_negotiated_version() {
    let mut sh = vec![0x03, 0x03];
    sh.extend_from_slice(&[0x22; 32]);
    sh.push(0);
    sh.extend_from_slice(&[
        0x13, 0x02, 0x00, 0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
    ]);
    let (mut p, mut s) = feed_split(CURL_CH, &[]);
    let rec = records(2, &sh, 4096);
    assert_eq!(probe(Direction::ToClient, &rec), TlsProbe::Tls);
    p.on_data(Direction::ToClient, &rec, &mut s);
    p.on_data(
        Direction::ToClient,
        &[23, 3, 3, 0, 5, 1, 2, 3, 4, 5],
        &mut s,
    );
    assert_eq!(s.txs.len(), 2);
    assert_eq!(p.info().version, Some("TLSv1.3"));
    assert_eq!(p.info().cipher, Some(0x1302));
    assert_eq!(s.content, 0);
}

#[test]
fn probe_rejects_other_protocols() {
    assert_eq!(probe(Direction::ToServer, b"\x16\x03"), TlsProbe::NeedMore);
    assert_eq!(probe(Direction::ToServer, b"GET / HTTP/1.1"), TlsProbe::No);
    assert_eq!(probe(Direction::ToServer, b"\x16\x03\x05"), TlsProbe::No);
    assert_eq!(
        probe(Direction::ToServer, b"\x16\x03\x01\xff\x00\x01"),
        TlsProbe::No
    );
    // A ServerHello type sent by the client is not a session start.
    assert_eq!(
        probe(Direction::ToServer, b"\x16\x03\x01\x00\x30\x02"),
        TlsProbe::No
    );
}

#[test]
fn non_handshake_record_stops_parsing() {
    let mut p = TlsParser::default();
    let mut s = Sink::default();
    p.on_data(Direction::ToServer, &[23, 3, 3, 0, 2, 0xaa, 0xbb], &mut s);
    p.on_data(Direction::ToServer, CURL_CH, &mut s);
    assert!(s.txs.is_empty());
    assert_eq!(p.server_name(), None);
}

#[test]
fn oversized_handshake_is_bounded() {
    let mut p = TlsParser::default();
    let mut s = Sink::default();
    // Claims a 16 MB ClientHello: given up at once, nothing buffered.
    p.on_data(
        Direction::ToServer,
        &[22, 3, 1, 0, 8, 1, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        &mut s,
    );
    assert!(p.dirs[0].done);
    assert!(p.dirs[0].hs.capacity() == 0);
    assert!(s.txs.is_empty());
}

proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
        let mut p = TlsParser::default();
        let mut s = Sink::default();
        let cut = cut.min(data.len());
        let (a, b) = data.split_at(cut);
        p.on_data(Direction::ToServer, a, &mut s);
        p.on_data(Direction::ToClient, b, &mut s);
        p.on_data(Direction::ToServer, b, &mut s);
        prop_assert_eq!(s.content, 0);
    }

    #[test]
    fn segmentation_independent(cuts in proptest::collection::vec(0usize..600, 0..8)) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (p, s) = feed_split(CURL_CH, &cuts);
        prop_assert_eq!(s.txs.len(), 1);
        prop_assert_eq!(p.info().ja4.as_deref(), Some("t13d3112h1_e8f1e7e78f70_b26ce05bbdd6"));
    }

    #[test]
    fn mutated_hellos_never_panic(pos in 0usize..517, byte in any::<u8>()) {
        let mut data = CURL_CH.to_vec();
        if let Some(b) = data.get_mut(pos) { *b = byte; }
        let (p, _) = feed_split(&data, &[200]);
        let _ = p.info();
    }
}
