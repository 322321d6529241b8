//! Per-stage throughput of the stages without a bench of their own:
//! packet decoding (Ethernet/IPv4/TCP frames of a bundled capture) and
//! HTTP parsing with body decompression (a keep-alive stream of JSON
//! requests and gzip/chunked responses, as `gen_replay_pcap.py` writes).
//! Detection, reassembly and the policy have `detect.rs`,
//! `reassembly.rs` and `policy.rs`; the whole pipeline `replay.rs`.

use std::io::Write as _;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakwatch::app::http::{HttpConfig, HttpParser};
use leakwatch::app::{AppParser, ContentSink, TxMeta};
use leakwatch::capture::{open_inputs, LinkType};
use leakwatch::decode::decode_frame;
use leakwatch::flow::Direction::{self, ToClient, ToServer};

/// Frames of the bundled capture (link type, bytes).
fn frames() -> Vec<(LinkType, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut src = open_inputs(&[root.join("pcaps/http_form_json.pcap")]).expect("open pcap");
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(info) = src.next_frame(&mut buf).expect("read pcap") {
        out.push((info.linktype, std::mem::take(&mut buf)));
    }
    assert!(out.len() > 10, "capture has {} frames", out.len());
    out
}

fn decode(c: &mut Criterion) {
    let fr = frames();
    let bytes: usize = fr.iter().map(|(_, f)| f.len()).sum();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for (lt, f) in &fr {
                ok += usize::from(decode_frame(*lt, f).is_ok());
            }
            assert_eq!(ok, fr.len());
            ok
        })
    });
    g.finish();
}

/// Counts decoded content bytes and transactions.
#[derive(Default)]
struct Count {
    bytes: u64,
    tx: u64,
}

impl ContentSink for Count {
    fn on_content(&mut self, _: Direction, _: &'static str, data: &[u8]) {
        self.bytes += data.len() as u64;
    }
    fn end_content(&mut self, _: Direction) {}
    fn end_transaction(&mut self, _: Direction, _: &TxMeta) {
        self.tx += 1;
    }
}

/// xorshift64 for deterministic filler.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Digit-dense JSON lines of about `size` bytes.
fn json_body(r: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 200);
    while s.len() < size {
        let v = r.next();
        s.push_str(&format!(
            "{{\"ts\":{},\"order\":\"{:016}\",\"price\":{}.{:02},\"trace\":\"{:016x}\"}}\n",
            1_763_000_000_000u64 + v % 1_000_000_000,
            v % 10_000_000_000_000_000,
            (v >> 20) % 100_000,
            (v >> 4) % 100,
            r.next()
        ));
    }
    s.into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Request bytes and response bytes of one exchange.
type Exchange = (Vec<u8>, Vec<u8>);

/// `n` keep-alive exchanges and the decoded body bytes. Responses
/// alternate gzip + Content-Length and chunked.
fn http_stream(n: usize) -> (Vec<Exchange>, u64) {
    let mut r = Rng(7);
    let (mut out, mut body_bytes) = (Vec::new(), 0u64);
    for i in 0..n {
        let (mut req, mut resp) = (Vec::new(), Vec::new());
        let up = json_body(&mut r, 2048);
        write!(
            req,
            "POST /api/v1/orders?page={i} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: bench\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            up.len()
        )
        .expect("write");
        req.extend_from_slice(&up);
        let down = json_body(&mut r, 16 * 1024);
        body_bytes += (up.len() + down.len()) as u64;
        if i % 2 == 0 {
            let z = gzip(&down);
            write!(
                resp,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\
                 Content-Length: {}\r\n\r\n",
                z.len()
            )
            .expect("write");
            resp.extend_from_slice(&z);
        } else {
            resp.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            for c in down.chunks(4000) {
                write!(resp, "{:x}\r\n", c.len()).expect("write");
                resp.extend_from_slice(c);
                resp.extend_from_slice(b"\r\n");
            }
            resp.extend_from_slice(b"0\r\n\r\n");
        }
        out.push((req, resp));
    }
    (out, body_bytes)
}

fn http(c: &mut Criterion) {
    let n = 64;
    let (ex, body_bytes) = http_stream(n);
    let wire: usize = ex.iter().map(|(q, s)| q.len() + s.len()).sum();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Bytes(wire as u64));
    g.bench_function("http_parse_gunzip", |b| {
        b.iter(|| {
            let mut p = HttpParser::new(HttpConfig::default());
            let mut sink = Count::default();
            // Exchange by exchange in 1460-byte segments, as reassembly delivers.
            for (q, s) in &ex {
                for seg in q.chunks(1460) {
                    p.on_data(ToServer, seg, &mut sink);
                }
                for seg in s.chunks(1460) {
                    p.on_data(ToClient, seg, &mut sink);
                }
            }
            p.on_close(ToServer, &mut sink);
            p.on_close(ToClient, &mut sink);
            assert_eq!(sink.tx, 2 * n as u64, "transactions");
            assert!(
                sink.bytes >= body_bytes,
                "decoded {} < {}",
                sink.bytes,
                body_bytes
            );
            sink.bytes
        })
    });
    g.finish();
}

criterion_group!(benches, decode, http);
criterion_main!(benches);
