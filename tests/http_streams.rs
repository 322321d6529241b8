//! HTTP transcript tests: each `tests/streams/http/NN-what.t` is fed to the
//! parser and everything the sink receives (content items with their
//! location and bytes, transaction metadata) is compared with the golden
//! `NN-what.out` beside it. `UPDATE_GOLDEN=1` rewrites the goldens (review
//! the diff!). Also: split invariance, and brotli/zstd bodies built here
//! (Python's standard library cannot write them).

use std::path::{Path, PathBuf};

use leakwatch::app::http::{HttpConfig, HttpParser};
use leakwatch::app::{AppParser, ContentSink, TxMeta};
use leakwatch::flow::Direction::{self, ToClient, ToServer};
use proptest::prelude::*;

mod common;
use common::transcript::{feed, load, Recorder, Step};

/// The log line of an HTTP transaction.
fn tx_line(meta: &TxMeta) -> Option<String> {
    let TxMeta::Http(tx) = meta else {
        return None;
    };
    let url = tx
        .url
        .as_deref()
        .map(|u| String::from_utf8_lossy(u).into_owned());
    Some(format!(
        "TX method={:?} url={:?} host={:?} status={:?} ua={:?} req_ct={:?} resp_ct={:?} parts={:?} limits={:?}",
        tx.method,
        url,
        tx.hostname,
        tx.status,
        tx.user_agent,
        tx.request_content_type,
        tx.response_content_type,
        tx.parts.iter().map(|p| (&p.name, &p.filename, &p.content_type)).collect::<Vec<_>>(),
        tx.limits_hit
    ))
}

/// Runs `steps`, each data block cut into pieces of `piece(i)` bytes.
fn run(steps: &[Step], cfg: HttpConfig, piece: impl FnMut() -> usize) -> String {
    let mut p = HttpParser::new(cfg);
    let mut r = Recorder::new(tx_line, false);
    feed(&mut p, steps, piece, &mut r);
    r.log
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/streams/http")
}

fn transcripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "t"));
    v.sort();
    v
}

#[test]
fn transcripts_match_golden() {
    let all = transcripts();
    assert!(
        all.len() >= 20,
        "transcripts missing: run tests/streams/http/gen.py"
    );
    let mut failed = Vec::new();
    for t in &all {
        let steps = load(&std::fs::read(t).unwrap());
        let got = run(&steps, HttpConfig::default(), || usize::MAX);
        let golden = t.with_extension("out");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            eprintln!("--- {}\n{got}", t.display());
            failed.push(t.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "transcripts differ from golden: {failed:?}"
    );
}

fn bodies(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with("< http.response_body"))
        .collect()
}

#[test]
fn key_extractions() {
    let get = |name: &str| {
        let steps = load(&std::fs::read(dir().join(name)).unwrap());
        run(&steps, HttpConfig::default(), || usize::MAX)
    };
    let id = "11010519491231002X";
    // Evasions: the body a client shows is extracted in clear.
    for (t, want) in [
        (
            "11-gzip-chunked-gzip.t",
            format!("gzip in chunked in gzip {id}"),
        ),
        ("19-bogus-cl-chunked.t", format!("hidden {id}")),
        ("17-lf-only.t", format!("lf only {id}")),
        ("21-odd-chunking.t", format!("odd chunks {id}")),
        ("10-gzip-in-chunked.t", format!("chunked gzip {id}")),
    ] {
        let log = get(t);
        assert_eq!(
            bodies(&log),
            vec![format!("< http.response_body \"{want}\"")],
            "{t}"
        );
    }
    assert!(get("01-get-simple.t").contains(&format!("> http.uri \"/user/张三?id={id}&q=a b c\"")));
    assert!(get("15-basic-auth.t").contains("> http.authorization \"Basic zhangsan:13812345678\""));
    assert!(
        get("14-gbk.t")
            .matches(&format!("姓名：张三 身份证：{id}"))
            .count()
            == 2
    );
    let bomb = get("20-bomb.t");
    assert!(
        bomb.contains("decompress") || bomb.contains("body_depth"),
        "{bomb}"
    );
}

fn compressed_transcript(coding: &str, body: &[u8]) -> Vec<Step> {
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(body);
    vec![
        Step::Data(ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        Step::Data(ToClient, resp),
    ]
}

#[test]
fn brotli_zstd_and_stacked() {
    use std::io::Write;
    let text = b"compressed 11010519491231002X";
    let br = |d: &[u8]| {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(d).unwrap();
        }
        out
    };
    let zs = zstd::encode_all(&text[..], 3).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&br(text)).unwrap();
    let gz_br = gz.finish().unwrap();
    for (coding, body) in [("br", br(text)), ("zstd", zs), ("br, gzip", gz_br)] {
        let steps = compressed_transcript(coding, &body);
        for piece in [1, 7, usize::MAX] {
            let log = run(&steps, HttpConfig::default(), || piece);
            assert_eq!(
                bodies(&log),
                vec!["< http.response_body \"compressed 11010519491231002X\""],
                "{coding}"
            );
        }
    }
    // Three layers with the default limit of two: noted, not decoded past.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&zstd::encode_all(&br(text)[..], 3).unwrap())
        .unwrap();
    let log = run(
        &compressed_transcript("br, zstd, gzip", &gz.finish().unwrap()),
        HttpConfig::default(),
        || 9,
    );
    assert!(log.contains("\"decode_layers\""), "{log}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn split_invariance(seed in any::<u64>(), max in 1usize..64) {
        let mut rng = seed;
        for t in transcripts().iter().filter(|t| !t.ends_with("20-bomb.t")) {
            let steps = load(&std::fs::read(t).unwrap());
            let whole = run(&steps, HttpConfig::default(), || usize::MAX);
            let split = run(&steps, HttpConfig::default(), || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                1 + (rng >> 33) as usize % max
            });
            prop_assert_eq!(&whole, &split, "{}", t.display());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(c in proptest::collection::vec(any::<u8>(), 0..400),
                                   s in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut p = HttpParser::default();
        let mut r = Recorder::new(tx_line, false);
        let mut sc = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        sc.extend_from_slice(&c);
        p.on_data(ToServer, &sc, &mut r);
        p.on_data(ToClient, &s, &mut r);
        p.on_gap(ToClient, 10, &mut r);
        p.on_data(ToClient, &c, &mut r);
        p.on_close(ToServer, &mut r);
        p.on_close(ToClient, &mut r);
        prop_assert!(r.log.len() < 64 * 1024);
    }
}

/// Throughput of the parser on plain and gzip'd chunked bodies; run with
/// `cargo test --test http_streams throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    use std::io::Write;
    struct Null(usize);
    impl ContentSink for Null {
        fn on_content(&mut self, _: Direction, loc: &'static str, d: &[u8]) {
            if loc == "http.response_body" {
                self.0 += d.len();
            }
        }
        fn end_content(&mut self, _: Direction) {}
        fn end_transaction(&mut self, _: Direction, _: &TxMeta) {}
    }
    let text: Vec<u8> = (0..4 << 20)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz 0123456789\n"[i % 39])
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let gz = gz.finish().unwrap();
    for (name, ce, body) in [("plain", "identity", &text), ("gzip", "gzip", &gz)] {
        let mut wire = Vec::new();
        for _ in 0..8 {
            wire.extend_from_slice(
                format!("HTTP/1.1 200 OK\r\nContent-Encoding: {ce}\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
            );
            for c in body.chunks(8192) {
                wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                wire.extend_from_slice(c);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        }
        let mut p = HttpParser::default();
        let mut n = Null(0);
        let t = std::time::Instant::now();
        for seg in wire.chunks(1460) {
            p.on_data(ToClient, seg, &mut n);
        }
        let s = t.elapsed().as_secs_f64();
        assert_eq!(n.0 as u64, 8 * (4 << 20));
        println!(
            "{name}: wire {:.1} MB/s, decoded {:.1} MB/s",
            wire.len() as f64 / s / 1e6,
            n.0 as f64 / s / 1e6
        );
    }
}
