//! Detect throughput: digit-dense text (timestamps, order ids, prices, hex
//! trace ids, one synthetic PI value per ~4 KiB), binary data, and the two
//! context-word back-ends. Each bench asserts its expected match count.
//! Group `families`: one detector family at a time (digits, regex, a
//! 5,000-word keyword dictionary) and the whole shipped set.
//! `detect/digit_dense_stream/1460`: the digit-dense text through
//! `scan_stream` one MSS-sized segment per call, as a replay feeds it.
//!
//! Baseline (2026-11-22, shared 2-core VM under load 4-8, so wall-clock
//! figures are depressed): digit_dense 200-540 MiB/s, binary 0.9-2.0 GiB/s;
//! per-thread CPU time: digit_dense 0.50 GB/s (Hyperscan) / 0.57 GB/s
//! (aho-corasick), binary 2.5 / 3.1 GB/s.
//!
//! `LEAKWATCH_BENCH_CPU=1` first prints bytes per thread-CPU-second (the
//! figures above and below), which depend less on the load of a shared box.
//! With the block gate (2026-11-22 17:11, load ~4, runs interleaved with the
//! pre-gate build): digit_dense/hyperscan 1.81-1.98 GB/s (pre-gate build in
//! the same window 1.49-1.52), binary 2.9-3.5 GB/s (2.6-2.7).
//! End to end (`leakwatch replay --workers 1`, 100 MB pcap from
//! `gen_replay_pcap.py --size-mb 100`, perf stat task-clock, 4 interleaved
//! runs): 235-257 ms before the gate, 176-218 ms with it; identical events.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakwatch::detect::{ContextBackend, Engine, EngineOptions, Match, MatchSink, StreamState};

struct Count(usize);
impl MatchSink for Count {
    fn on_match(&mut self, _m: &Match<'_>) {
        self.0 += 1;
    }
}

fn engine(backend: ContextBackend) -> Arc<Engine> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let opts = EngineOptions {
        context_backend: backend,
        ..EngineOptions::default()
    };
    Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"))
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

/// ~`size` bytes of JSON-ish log lines; returns the text and the PI count.
fn digit_dense(size: usize) -> (Vec<u8>, usize) {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(size + 512);
    let mut pi = 0;
    let mut next_pi = 4096;
    while out.len() < size {
        let v = r.next();
        out.push_str(&format!(
            "{{\"ts\":\"2026-11-22T15:{:02}:{:02}.{:03}Z\",\"epoch\":{},\"order_id\":\"{:012}{:012}\",\"price\":{}.{:02},\"qty\":{},\"trace\":\"{:016x}{:016x}\",\"status\":200}}\n",
            v % 60,
            (v >> 8) % 60,
            (v >> 16) % 1000,
            1_763_000_000_000u64 + (v % 1_000_000_000),
            v % 1_000_000_000_000,
            (v >> 3) % 1_000_000_000_000,
            (v >> 20) % 100_000,
            (v >> 4) % 100,
            (v >> 40) % 50,
            r.next(),
            r.next()
        ));
        if out.len() >= next_pi {
            next_pi += 4096;
            pi += 1;
            out.push_str(match pi % 3 {
                0 => "{\"mobile\":\"13800138000\"}\n",
                1 => "{\"idcard\":\"11010519491231002X\"}\n",
                _ => "{\"card_no\":\"6217000000000000004\"}\n",
            });
        }
    }
    (out.into_bytes(), pi)
}

fn binary(size: usize) -> Vec<u8> {
    let mut r = Rng(42);
    (0..size).map(|_| (r.next() >> 24) as u8).collect()
}

/// CPU time of the calling thread in seconds (the machine is shared, so
/// wall-clock throughput understates the engine).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Prints bytes per thread-CPU-second of scanning `data` repeatedly.
fn cpu_throughput(name: &str, e: &Arc<Engine>, data: &[u8]) {
    let mut s = e.scanner();
    let rounds = 200;
    let t0 = thread_cpu();
    for _ in 0..rounds {
        let mut n = Count(0);
        s.scan_buffer(data, &mut n);
        std::hint::black_box(n.0);
    }
    let dt = thread_cpu() - t0;
    let gbps = (data.len() * rounds) as f64 / dt / 1e9;
    println!("cpu-time throughput {name}: {gbps:.2} GB/s per core");
}

fn bench(c: &mut Criterion) {
    let (text, pi) = digit_dense(1 << 20);
    let bin = binary(1 << 20);
    if std::env::var_os("LEAKWATCH_BENCH_CPU").is_some() {
        let mut backends = vec![("aho_corasick", ContextBackend::AhoCorasick)];
        if cfg!(feature = "hyperscan") {
            backends.insert(0, ("hyperscan", ContextBackend::Hyperscan));
        }
        for (name, b) in backends {
            let e = engine(b);
            cpu_throughput(&format!("digit_dense/{name}"), &e, &text);
            cpu_throughput(&format!("binary/{name}"), &e, &bin);
        }
    }
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(text.len() as u64));
    let mut backends = vec![("aho_corasick", ContextBackend::AhoCorasick)];
    if cfg!(feature = "hyperscan") {
        backends.insert(0, ("hyperscan", ContextBackend::Hyperscan));
    }
    for (name, b) in backends {
        let e = engine(b);
        let mut s = e.scanner();
        let mut n = Count(0);
        s.scan_buffer(&text, &mut n);
        assert_eq!(n.0, pi, "digit-dense match count ({name})");
        g.bench_function(format!("digit_dense/{name}"), |bch| {
            bch.iter(|| {
                let mut n = Count(0);
                s.scan_buffer(&text, &mut n);
                n.0
            })
        });
    }
    // The same text delivered as a TCP stream is, one MSS-sized segment per
    // call: what replay does. Measures the fixed cost per call.
    let e = engine(ContextBackend::default());
    let mut s = e.scanner();
    g.bench_function("digit_dense_stream/1460", |bch| {
        bch.iter(|| {
            let mut n = Count(0);
            let mut st = StreamState::default();
            for seg in text.chunks(1460) {
                s.scan_stream(&mut st, seg, &mut n);
            }
            s.finish_stream(&mut st, &mut n);
            assert_eq!(n.0, pi, "streamed digit-dense match count");
        })
    });
    let mut n = Count(0);
    s.scan_buffer(&bin, &mut n);
    let expected_bin = n.0;
    assert!(expected_bin < 5, "binary buffer: {expected_bin} matches");
    g.throughput(Throughput::Bytes(bin.len() as u64));
    g.bench_function("binary", |bch| {
        bch.iter(|| {
            let mut n = Count(0);
            s.scan_buffer(&bin, &mut n);
            assert_eq!(n.0, expected_bin);
        })
    });
    g.finish();
}

/// The shipped detectors of one kind (`digits`, `email`, `regex`), or all.
fn family_sources(kind: Option<&str>) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures/detectors");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("signatures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .filter(|(_, t)| kind.is_none_or(|k| t.contains(&format!("kind = \"{k}\""))))
        .collect();
    v.sort();
    v
}

/// A keyword detector with 5,000 words (ASCII and Chinese, UTF-8 + GBK).
fn keyword_source() -> (String, String) {
    let mut words: Vec<String> = (0..4000).map(|i| format!("\"codeword{i:04}\"")).collect();
    let han = "机密内部资料项目客户合同薪资绝密档案";
    let chars: Vec<char> = han.chars().collect();
    for i in 0..1000usize {
        let w: String = (0..4)
            .map(|k| chars[(i * 7 + k * 3 + i / 17) % chars.len()])
            .collect();
        words.push(format!("\"{w}{i}\""));
    }
    let text = format!(
        "id = \"kw\"\npi_type = \"custom:kw\"\ncategory = \"custom\"\nkind = \"keywords\"\n\
         confidence = \"medium\"\n[keywords]\nwords = [{}]\n",
        words.join(", ")
    );
    ("kw.toml".to_string(), text)
}

fn family_engine(sources: &[(String, String)]) -> Arc<Engine> {
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Arc::new(Engine::from_sources(&refs, &EngineOptions::default()).expect("engine"))
}

/// Per family (digits, regex, keywords) and the whole shipped set, on
/// digit-dense text and binary data, with the default back-end.
fn families(c: &mut Criterion) {
    let (text, _) = digit_dense(1 << 20);
    let bin = binary(1 << 20);
    let sets: Vec<(&str, Vec<(String, String)>)> = vec![
        ("digits", family_sources(Some("digits"))),
        ("regex", family_sources(Some("regex"))),
        ("field", family_sources(Some("field"))),
        ("email", family_sources(Some("email"))),
        ("keywords", vec![keyword_source()]),
        ("all", family_sources(None)),
    ];
    let cpu = std::env::var_os("LEAKWATCH_BENCH_CPU").is_some();
    let mut g = c.benchmark_group("families");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(500));
    for (name, src) in &sets {
        let e = family_engine(src);
        for (input, data) in [("digit_dense", &text), ("binary", &bin)] {
            if cpu {
                cpu_throughput(&format!("families/{name}/{input}"), &e, data);
            }
            let mut s = e.scanner();
            g.throughput(Throughput::Bytes(data.len() as u64));
            g.bench_function(format!("{name}/{input}"), |bch| {
                bch.iter(|| {
                    let mut n = Count(0);
                    s.scan_buffer(data, &mut n);
                    n.0
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench, families);
criterion_main!(benches);
