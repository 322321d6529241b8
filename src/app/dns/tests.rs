//! Tests of the DNS decoder and the name cache.

use std::net::IpAddr;
use std::sync::Arc;

use super::cache::{response_addresses, NameCache, NameCacheConfig};
use super::parser::{read_name, Name};
use super::*;
use proptest::prelude::*;

#[derive(Default)]
struct Sink {
    items: Vec<(&'static str, Vec<u8>)>,
    open: Option<(&'static str, Vec<u8>)>,
    txs: Vec<(Direction, DnsTx)>,
}

impl ContentSink for Sink {
    fn on_content(&mut self, _: Direction, loc: &'static str, data: &[u8]) {
        self.open
            .get_or_insert_with(|| (loc, Vec::new()))
            .1
            .extend_from_slice(data);
    }
    fn end_content(&mut self, _: Direction) {
        if let Some(i) = self.open.take() {
            self.items.push(i);
        }
    }
    fn end_transaction(&mut self, dir: Direction, meta: &TxMeta) {
        if let TxMeta::Dns(t) = meta {
            self.txs.push((dir, t.clone()));
        }
    }
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

/// A query for `name` (type A, class IN).
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&encode_name(name));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

/// A response to `name`: a CNAME to `alias` (if any) then A records of
/// the last name, using compression pointers to the question (offset 12).
fn response(name: &str, alias: Option<&str>, addrs: &[[u8; 4]]) -> Vec<u8> {
    let an = addrs.len() as u16 + u16::from(alias.is_some());
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1];
    m.extend_from_slice(&an.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&encode_name(name));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let mut owner = vec![0xc0, 12];
    if let Some(a) = alias {
        let target_at = m.len() + 12;
        m.extend_from_slice(&owner);
        m.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60]);
        let t = encode_name(a);
        m.extend_from_slice(&(t.len() as u16).to_be_bytes());
        m.extend_from_slice(&t);
        owner = vec![0xc0, target_at as u8];
    }
    for a in addrs {
        m.extend_from_slice(&owner);
        m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(a);
    }
    m
}

#[test]
fn query_name_and_encoded_labels_are_scanned() {
    let data = b"13800138000";
    let name = format!("{}.x.exfil.example.com", hex::encode(data));
    let mut p = DnsParser::udp();
    let mut s = Sink::default();
    p.on_data(Direction::ToServer, &query(7, &name), &mut s);
    assert_eq!(s.items[0], (location::DNS_QUERY, name.as_bytes().to_vec()));
    assert_eq!(s.items[1], (location::DNS_QUERY_HEX, data.to_vec()));
    assert_eq!(s.txs.len(), 1);
    let tx = &s.txs[0].1;
    assert_eq!((tx.id, tx.response, tx.rrtype), (7, false, Some(1)));
    assert_eq!(tx.rrname.as_deref(), Some(name.as_bytes()));
}

#[test]
fn response_questions_are_not_rescanned_but_txt_is() {
    // A TXT answer: two character-strings joined into one item.
    let mut m = vec![0, 9, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(&encode_name("t.example.cn"));
    m.extend_from_slice(&[0, 16, 0, 1, 0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 9, 0, 12]);
    m.extend_from_slice(b"\x05hello\x05world");
    let mut p = DnsParser::udp();
    let mut s = Sink::default();
    p.on_data(Direction::ToClient, &m, &mut s);
    assert_eq!(s.items, vec![(location::DNS_TXT, b"helloworld".to_vec())]);
    assert_eq!(s.txs[0].1.rcode, Some(0));
    assert_eq!(s.txs[0].1.answers, 1);
}

#[test]
fn compression_loops_and_bad_labels_end() {
    let mut name = Name::default();
    // Pointer to itself.
    let msg = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12];
    assert!(read_name(&msg, 12, &mut name).is_none());
    // Two pointers to each other.
    let msg = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12];
    assert!(read_name(&msg, 12, &mut name).is_none());
    // Extended label type 0x40 and truncated labels.
    assert!(read_name(&[0x41, b'a'], 0, &mut name).is_none());
    assert!(read_name(&[5, b'a', b'b'], 0, &mut name).is_none());
    // A name longer than 255 built from pointers to a long label chain.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.push(0);
    assert!(read_name(&long, 0, &mut name).is_none());
    // A good compressed name.
    let mut m = vec![0u8; 12];
    m.extend_from_slice(&encode_name("a.example.cn"));
    m.extend_from_slice(&[3, b'w', b'w', b'w', 0xc0, 12]);
    let end = read_name(&m, 26, &mut name);
    assert_eq!(end, Some(m.len()));
    assert_eq!(name.as_bytes(), b"www.a.example.cn");
    assert_eq!(name.labels(), 4);
}

#[test]
fn malformed_messages_are_counted() {
    let mut p = DnsParser::udp();
    let mut s = Sink::default();
    p.on_data(Direction::ToServer, b"\x00\x01\x01", &mut s);
    p.on_data(
        Direction::ToServer,
        &[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, b'a'],
        &mut s,
    );
    assert_eq!(p.malformed(), 2);
    assert!(s.txs.is_empty());
}

#[test]
fn tcp_framing_across_segments() {
    let q1 = query(1, "a.example.cn");
    let q2 = query(2, "b.example.cn");
    let mut stream = Vec::new();
    for q in [&q1, &q2] {
        stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
        stream.extend_from_slice(q);
    }
    assert_eq!(probe_tcp(&stream), DnsProbe::Dns);
    assert_eq!(probe_tcp(&stream[..1]), DnsProbe::NeedMore);
    assert_eq!(probe_tcp(b"GET / HTTP/1.1\r\n"), DnsProbe::No);
    let mut p = DnsParser::tcp();
    let mut s = Sink::default();
    for c in stream.chunks(5) {
        p.on_data(Direction::ToServer, c, &mut s);
    }
    let ids: Vec<u16> = s.txs.iter().map(|t| t.1.id).collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn udp_probe_by_port_or_content() {
    let q = query(3, "a.example.cn");
    assert_eq!(probe_udp(40000, 53, &q), DnsProbe::Dns);
    assert_eq!(probe_udp(40000, 9999, &q), DnsProbe::Dns);
    assert_eq!(
        probe_udp(40000, 9999, b"<13>syslog line here"),
        DnsProbe::No
    );
    assert_eq!(probe_udp(40000, 514, b"short"), DnsProbe::No);
}

#[test]
fn cname_chain_resolves_to_the_question() {
    let m = response(
        "api.example.cn",
        Some("edge.cdn.example.net"),
        &[[10, 0, 0, 9], [10, 0, 0, 10]],
    );
    let mut got = Vec::new();
    response_addresses(&m, &mut |n, ip| {
        got.push((String::from_utf8_lossy(n.as_bytes()).into_owned(), ip))
    })
    .expect("parses");
    assert_eq!(
        got,
        vec![
            ("api.example.cn".to_string(), IpAddr::from([10, 0, 0, 9])),
            ("api.example.cn".to_string(), IpAddr::from([10, 0, 0, 10])),
        ]
    );
}

#[test]
fn cache_is_bounded_and_time_aware() {
    let cfg = NameCacheConfig {
        max_entries: 2,
        max_age: 100,
    };
    let mut c = NameCache::new(cfg);
    c.observe_udp(10, 53, &response("A.example.cn", None, &[[1, 1, 1, 1]]));
    c.observe_udp(20, 53, &response("b.example.cn", None, &[[2, 2, 2, 2]]));
    c.observe_udp(25, 9999, &response("x.example.cn", None, &[[9, 9, 9, 9]]));
    let ip1 = IpAddr::from([1, 1, 1, 1]);
    assert_eq!(c.lookup(ip1, 10).as_deref(), Some("a.example.cn"));
    assert_eq!(c.lookup(ip1, 9), None, "answer from the future");
    assert_eq!(c.lookup(ip1, 111), None, "older than max_age");
    assert_eq!(
        c.lookup(IpAddr::from([9, 9, 9, 9]), 30),
        None,
        "not a DNS port"
    );
    // Refresh 1.1.1.1, then a third address evicts the oldest (2.2.2.2).
    c.insert(30, ip1, Arc::from("a2.example.cn"));
    c.insert(40, IpAddr::from([3, 3, 3, 3]), Arc::from("c.example.cn"));
    assert_eq!(c.len(), 2);
    assert_eq!(c.stats().evicted_total, 1);
    assert_eq!(c.lookup(IpAddr::from([2, 2, 2, 2]), 40), None);
    assert_eq!(c.lookup(ip1, 40).as_deref(), Some("a2.example.cn"));
    assert_eq!(c.stats().responses_total, 2);
}

proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut p = DnsParser::udp();
        let mut s = Sink::default();
        p.on_data(Direction::ToServer, &data, &mut s);
        let mut t = DnsParser::tcp();
        t.on_data(Direction::ToClient, &data, &mut s);
        let mut c = NameCache::new(NameCacheConfig { max_entries: 4, max_age: 10 });
        c.observe_udp(1, 53, &data);
        prop_assert!(c.len() <= 4);
        let _ = probe_tcp(&data);
        let _ = probe_udp(1, 2, &data);
    }

    #[test]
    fn mutated_responses_never_panic(pos in 0usize..80, byte in any::<u8>()) {
        let mut m = response("api.example.cn", Some("e.cdn.example.net"), &[[10, 0, 0, 9]]);
        if let Some(b) = m.get_mut(pos) { *b = byte; }
        let mut c = NameCache::new(NameCacheConfig::default());
        c.observe_udp(1, 53, &m);
        let mut p = DnsParser::udp();
        p.on_data(Direction::ToClient, &m, &mut Sink::default());
    }

    #[test]
    fn tcp_segmentation_independent(cuts in proptest::collection::vec(0usize..120, 0..6)) {
        let mut stream = Vec::new();
        for (i, n) in ["a.example.cn", "b.example.cn", "c.example.cn"].iter().enumerate() {
            let q = query(i as u16, n);
            stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
            stream.extend_from_slice(&q);
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut p = DnsParser::tcp();
        let mut s = Sink::default();
        let mut at = 0;
        for c in cuts.into_iter().chain(std::iter::once(stream.len())) {
            let c = c.clamp(at, stream.len());
            p.on_data(Direction::ToServer, &stream[at..c], &mut s);
            at = c;
        }
        prop_assert_eq!(s.txs.len(), 3);
        prop_assert_eq!(s.items.len(), 3);
    }
}
