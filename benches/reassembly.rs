//! TCP reassembly throughput: one direction, 1460-byte segments, a sink
//! that only counts bytes. Cases: in order (the zero-copy path), adjacent
//! pairs swapped (every other segment buffered once), and windows of 32
//! segments sent in reverse (31 buffered per window, inserted at the front).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakwatch::decode::{tcp_flags, TcpMeta};
use leakwatch::flow::{
    Direction, MemBudget, ReassemblyConfig, ReassemblyStats, StreamSink, TcpSession,
};

const MSS: usize = 1460;
const SEGS: usize = 4096;
const ISN: u32 = 0xffff_0000;

#[derive(Default)]
struct Count(u64);

impl StreamSink for Count {
    fn on_data(&mut self, _: Direction, data: &[u8]) {
        self.0 += data.len() as u64;
    }
    fn on_gap(&mut self, _: Direction, _: u64) {}
    fn on_close(&mut self, _: Direction) {}
}

/// Runs one session over segments `order` of a `SEGS * MSS` stream; returns bytes delivered.
fn run(data: &[u8], order: &[usize], cfg: &ReassemblyConfig) -> u64 {
    let mut s = TcpSession::new();
    let mut budget = MemBudget::default();
    let mut stats = ReassemblyStats::default();
    let mut sink = Count::default();
    let syn = TcpMeta {
        seq: ISN,
        flags: tcp_flags::SYN,
        ..TcpMeta::default()
    };
    s.on_packet(
        Direction::ToServer,
        &syn,
        &[],
        cfg,
        &mut budget,
        &mut stats,
        &mut sink,
    );
    for &i in order {
        let tcp = TcpMeta {
            seq: ISN.wrapping_add(1 + (i * MSS) as u32),
            flags: tcp_flags::ACK,
            ..TcpMeta::default()
        };
        let seg = &data[i * MSS..(i + 1) * MSS];
        s.on_packet(
            Direction::ToServer,
            &tcp,
            seg,
            cfg,
            &mut budget,
            &mut stats,
            &mut sink,
        );
    }
    sink.0
}

fn bench(c: &mut Criterion) {
    let data: Vec<u8> = (0..SEGS * MSS).map(|i| i as u8).collect();
    let cfg = ReassemblyConfig {
        depth: 0,
        ..ReassemblyConfig::default()
    };
    let in_order: Vec<usize> = (0..SEGS).collect();
    let swapped: Vec<usize> = (0..SEGS).map(|i| i ^ 1).collect();
    let reversed: Vec<usize> = (0..SEGS).map(|i| (i & !31) | (31 - (i & 31))).collect();
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, order) in [
        ("in_order", &in_order),
        ("pairs_swapped", &swapped),
        ("reverse_32", &reversed),
    ] {
        assert_eq!(
            run(&data, order, &cfg),
            data.len() as u64,
            "{name} delivers everything"
        );
        g.bench_function(name, |b| b.iter(|| run(&data, order, &cfg)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
