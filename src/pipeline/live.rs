//! The live pipeline: interfaces (or a paced file) instead of a file read
//! as fast as possible, signals, hot reload, periodic `stats` events.
//!
//! ```text
//! source 0 ─ reader 0 ─┐                       ┌─► worker 0 ─┐
//! source 1 ─ reader 1 ─┼─ route by flow hash ──┼─► worker 1 ─┼─► output (main thread)
//!   ...                │                       └─► ...       │
//! control thread: signals, reload, flush ticks, stats ───────┘
//! ```
//! Each [`PacketSource`] has its own reader thread, which decodes and routes
//! with the same code as a replay. Readers send their pending batches after
//! every poll (so an event waits at most a poll interval plus the ring's
//! block timeout), and reader 0 sends a tick with its source's clock once a
//! second so idle flows time out.
//!
//! Reload: [`SensorSlot`] holds the current [`Sensor`] and a generation
//! counter; workers compare the generation once per batch (one atomic
//! load) and take the new sensor between batches. A reload that fails to
//! build leaves the slot untouched.
//!
//! Periodic `stats`: the control thread publishes the interfaces' counters
//! (kernel drops included), decode errors and reloads into the run's
//! [`LiveCounters`] once a second and drives the same [`StatsTicker`] as a
//! replay, on the wall clock, so both write one `stats` schema.
//!
//! Stop: the stop flag ends every reader after its current poll; pending
//! batches are sent, workers end every flow (reporting what reassembly
//! still holds), the output writes everything and the final `stats`.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};

use super::counters::{self, LiveCounters, StatsTicker};
use super::output::{self, OutMsg};
use super::reader::{self, Reader, ReaderStats, WorkerLink};
use super::stats::RunStats;
use super::{worker, worker_setup, ReplayError, RunHooks, Sensor, OUTPUT_QUEUE, WORKER_QUEUE};
use crate::alert::AlertSink;
use crate::capture::live::{
    merge_by_name, wall_clock, InterfaceStats, LiveError, PacketSource, SourceCounters,
};
use crate::config::Config;
use crate::decode::DecodeError;

/// How long a reader waits for frames before it checks the stop flag and
/// sends what it has.
const POLL: Duration = Duration::from_millis(100);
/// Interval of ticks (idle flow timeouts), output flushes and drop checks.
const TICK: Duration = Duration::from_secs(1);

/// The sensor in force, swapped atomically on reload.
pub struct SensorSlot {
    generation: AtomicU64,
    sensor: Mutex<Sensor>,
}

impl SensorSlot {
    /// A slot holding `sensor` (generation 0).
    pub fn new(sensor: Sensor) -> SensorSlot {
        SensorSlot {
            generation: AtomicU64::new(0),
            sensor: Mutex::new(sensor),
        }
    }

    /// Bumped by every [`SensorSlot::publish`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The sensor in force.
    pub fn current(&self) -> Sensor {
        self.sensor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `sensor` in force; workers take it at their next batch.
    pub fn publish(&self, sensor: Sensor) {
        let mut g = self.sensor.lock().unwrap_or_else(|p| p.into_inner());
        *g = sensor;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The sensor in force if it is newer than generation `seen` (which is
    /// then updated); `None` (one atomic load) otherwise.
    pub fn newer(&self, seen: &mut u64) -> Option<Sensor> {
        let g = self.generation();
        if g == *seen {
            return None;
        }
        let s = self.current();
        *seen = self.generation();
        Some(s)
    }
}

/// Builds the sensor anew (from the config file) on SIGHUP.
pub type Reloader<'a> = &'a (dyn Fn() -> Result<Sensor, String> + Sync);

/// Rebuilds the sensor with `build` and publishes it; on failure the sensor
/// in force stays and the error is returned (for the log).
///
/// # Errors
/// Whatever `build` reported (file, line, reason).
pub fn reload(slot: &SensorSlot, build: Reloader<'_>) -> Result<(), String> {
    let s = build()?;
    slot.publish(s);
    Ok(())
}

/// Stop and reload requests, set by signal handlers (or tests).
#[derive(Clone, Default)]
pub struct Control {
    /// Stop capturing, flush everything, exit.
    pub stop: Arc<AtomicBool>,
    /// Reload signatures, policy and geo.
    pub reload: Arc<AtomicBool>,
}

impl Control {
    /// Flags set by SIGTERM/SIGINT (stop) and SIGHUP (reload). A second
    /// SIGINT/SIGTERM while stopping ends the process at once.
    ///
    /// # Errors
    /// The handlers could not be installed.
    pub fn with_signals() -> io::Result<Control> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use signal_hook::flag;
        let c = Control::default();
        for sig in [SIGINT, SIGTERM] {
            flag::register_conditional_shutdown(sig, 130, Arc::clone(&c.stop))?;
            flag::register(sig, Arc::clone(&c.stop))?;
        }
        flag::register(SIGHUP, Arc::clone(&c.reload))?;
        Ok(c)
    }
}

/// Options of a live run.
pub struct LiveOptions<'a> {
    /// Stop/reload flags.
    pub control: &'a Control,
    /// Rebuilds the sensor on reload.
    pub reloader: Reloader<'a>,
    /// Interval of periodic `stats` events (zero: only the final one).
    pub stats_interval: Duration,
    /// Also run on SIGHUP, before the reload (e.g. reopen file sinks for
    /// logrotate).
    pub on_hup: Option<&'a (dyn Fn() + Sync)>,
    /// Live counters (metrics endpoint; created when `None`) and extra
    /// members of `stats` events (sink status). `stop` is not used: the
    /// control flags stop a live run.
    pub hooks: RunHooks,
}

/// Decode errors of one capture thread, published once a second.
type DecodeSlot = Mutex<[u64; DecodeError::ALL.len()]>;

/// What the reader threads return.
type ReaderResult = (ReaderStats, InterfaceStats, Option<LiveError>);

/// Runs the pipeline on live sources until they end (paced files) or the
/// stop flag is set, then writes the final `stats` event.
///
/// # Errors
/// A source failed (the events before were written), the output failed, or
/// a thread panicked.
pub fn run(
    cfg: &Config,
    slot: &Arc<SensorSlot>,
    sources: Vec<Box<dyn PacketSource>>,
    opts: &LiveOptions<'_>,
    sink: &mut dyn AlertSink,
) -> Result<RunStats, ReplayError> {
    let started = Instant::now();
    let workers = cfg.worker_count();
    let sensor = slot.current();
    let mut setup = worker_setup(cfg, &sensor, workers);
    setup.reload = Some(Arc::clone(slot));
    let live = opts
        .hooks
        .counters
        .clone()
        .unwrap_or_else(|| LiveCounters::new(workers));
    let decode: Vec<DecodeSlot> = sources.iter().map(|_| Mutex::default()).collect();
    let dedup = sensor.policy.new_deduper();
    let ids = crate::alert::EventIds::new(&cfg.sensor_id());
    let names: Vec<String> = sources.iter().map(|s| s.name().to_string()).collect();
    let counters: Vec<Arc<SourceCounters>> = sources.iter().map(|_| Arc::default()).collect();
    let running = AtomicUsize::new(sources.len());
    // One defragmenter for every capture thread: the kernel's fanout may
    // give the fragments of one IPv6 datagram to different sockets.
    let defrag = reader::SharedDefrag::new(cfg.defrag.to_config());
    let (out_tx, out_rx) = bounded(OUTPUT_QUEUE);
    let result = std::thread::scope(|s| {
        let mut links = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers {
            let (tx, rx) = bounded(WORKER_QUEUE);
            let (pool_tx, pool_rx) = bounded(WORKER_QUEUE + 2);
            links.push(WorkerLink { tx, pool: pool_rx });
            setup.counters = Some((Arc::clone(&live), i));
            let (setup, out_tx) = (setup.clone(), out_tx.clone());
            let h = std::thread::Builder::new()
                .name(format!("lw-worker-{i}"))
                .spawn_scoped(s, move || worker::run(setup, rx, pool_tx, out_tx));
            handles.push(h);
        }
        let mut readers = Vec::new();
        for (i, ((src, c), d)) in sources.into_iter().zip(&counters).zip(&decode).enumerate() {
            let ctx = ReaderCtx {
                links: links.clone(),
                opts: reader::ReaderOptions {
                    defrag: cfg.defrag.to_config(),
                    validate_checksums: cfg.decode.validate_checksums,
                    anomaly: super::anomaly_options(cfg),
                    anomaly_tx: Some(out_tx.clone()),
                    dns_names: cfg.dns.to_config(),
                    stop: None,
                    ftp_max_expectations: cfg.files.ftp_max_expectations,
                    ftp_expect_timeout: cfg.files.ftp_expect_timeout,
                    shared_defrag: Some(defrag.clone()),
                },
                control: opts.control,
                counters: c,
                decode: d,
                ticker: i == 0,
                running: &running,
            };
            let h = std::thread::Builder::new()
                .name(format!("lw-capture-{i}"))
                .spawn_scoped(s, move || read_source(src, ctx));
            readers.push(h);
        }
        drop(links); // workers end when the last reader is done
        let ticker = (!opts.stats_interval.is_zero()).then(|| {
            let secs = opts.stats_interval.as_secs().max(1);
            let extra = opts.hooks.stats_extra.clone();
            StatsTicker::new(secs, Arc::clone(&live), extra, out_tx.clone()).wall_clock()
        });
        let ctl = ControlCtx {
            slot,
            opts,
            names: &names,
            counters: &counters,
            decode: &decode,
            running: &running,
            live: &live,
        };
        let ctl_out = out_tx.clone();
        drop(out_tx);
        let controller = std::thread::Builder::new()
            .name("lw-control".into())
            .spawn_scoped(s, move || control_loop(&ctl, ticker, &ctl_out));
        let out = output::run(out_rx, sink, cfg.output.sort_buffer, dedup, &ids);
        let mut reader_results = Vec::new();
        for h in readers {
            reader_results.push(super::join(h)?);
        }
        let mut worker_stats = Vec::new();
        for h in handles {
            worker_stats.push(super::join(h)?);
        }
        super::join(controller)?;
        Ok::<_, ReplayError>((reader_results, worker_stats, out))
    });
    let (reader_results, worker_stats, out) = result?;
    let out_stats = out.map_err(ReplayError::Output)?;
    let (reader, ifaces, error) = merge_readers(reader_results);
    let mut files: Vec<String> = Vec::new();
    for n in names {
        if !files.contains(&n) {
            files.push(n);
        }
    }
    let mut stats = RunStats::new(
        files,
        workers,
        reader,
        &worker_stats,
        out_stats,
        started.elapsed(),
    );
    stats.interfaces = ifaces;
    let last = [stats.reader.last_ts, u64::MAX, 0, 0];
    let json = counters::with_extra(stats.to_event_json(), opts.hooks.stats_extra.as_ref());
    sink.write_event(&ids.stamp(last, &json))
        .map_err(ReplayError::Output)?;
    sink.flush().map_err(ReplayError::Output)?;
    match error {
        Some(e) => Err(ReplayError::Live(e)),
        None => Ok(stats),
    }
}

/// What one reader thread needs.
struct ReaderCtx<'a> {
    links: Vec<WorkerLink>,
    opts: reader::ReaderOptions,
    control: &'a Control,
    counters: &'a SourceCounters,
    decode: &'a DecodeSlot,
    ticker: bool,
    running: &'a AtomicUsize,
}

/// Polls one source until it ends, fails, or stop is requested.
fn read_source(mut src: Box<dyn PacketSource>, ctx: ReaderCtx<'_>) -> ReaderResult {
    let mut r = Reader::new(ctx.links, ctx.opts);
    let mut next_tick = Instant::now() + TICK;
    let mut alive = true;
    let error = loop {
        if ctx.control.stop.load(Ordering::Relaxed) || !alive {
            break None;
        }
        let more = src.poll(POLL, &mut |info, frame| {
            alive &= r.ingest(info, frame);
        });
        alive &= r.send_pending();
        let st = r.stats();
        ctx.counters
            .packets
            .store(st.packets_total, Ordering::Relaxed);
        ctx.counters.bytes.store(st.bytes_total, Ordering::Relaxed);
        if Instant::now() >= next_tick {
            next_tick += TICK;
            ctx.counters.set_kernel(src.kernel_stats());
            if let Ok(mut d) = ctx.decode.lock() {
                *d = st.decode_errors;
            }
            if ctx.ticker {
                alive &= r.tick(src.clock());
            }
        }
        match more {
            Ok(true) => {}
            Ok(false) => break None,
            Err(e) => break Some(e),
        }
    };
    if error.is_some() {
        ctx.control.stop.store(true, Ordering::Relaxed); // stop the others too
    }
    ctx.counters.set_kernel(src.kernel_stats());
    let mut stats = r.finish();
    stats.warnings = src.take_warnings();
    stats.interrupted = ctx.control.stop.load(Ordering::Relaxed);
    let iface = ctx.counters.snapshot(src.name());
    ctx.running.fetch_sub(1, Ordering::AcqRel);
    (stats, iface, error)
}

/// Sums the readers' counters; the first error wins.
fn merge_readers(all: Vec<ReaderResult>) -> (ReaderStats, Vec<InterfaceStats>, Option<LiveError>) {
    let mut sum = ReaderStats::default();
    let mut ifaces = Vec::new();
    let mut error = None;
    for (r, i, e) in all {
        sum.packets_total += r.packets_total;
        sum.bytes_total += r.bytes_total;
        sum.tcp_total += r.tcp_total;
        sum.udp_total += r.udp_total;
        sum.other_proto_total += r.other_proto_total;
        for (a, b) in sum.decode_errors.iter_mut().zip(r.decode_errors) {
            *a += b;
        }
        sum.snapped_total += r.snapped_total;
        sum.defrag.add(&r.defrag);
        sum.checksum.ipv4_bad_total += r.checksum.ipv4_bad_total;
        sum.checksum.tcp_bad_total += r.checksum.tcp_bad_total;
        sum.checksum.udp_bad_total += r.checksum.udp_bad_total;
        if r.first_ts != 0 && (sum.first_ts == 0 || r.first_ts < sum.first_ts) {
            sum.first_ts = r.first_ts;
        }
        sum.last_ts = sum.last_ts.max(r.last_ts);
        sum.warnings.extend(r.warnings);
        sum.interrupted |= r.interrupted;
        ifaces.push(i);
        if error.is_none() {
            error = e;
        }
    }
    (sum, merge_by_name(&ifaces), error)
}

/// What the control thread reads.
struct ControlCtx<'a> {
    slot: &'a SensorSlot,
    opts: &'a LiveOptions<'a>,
    names: &'a [String],
    counters: &'a [Arc<SourceCounters>],
    decode: &'a [DecodeSlot],
    running: &'a AtomicUsize,
    live: &'a LiveCounters,
}

/// Reload requests, output flushes, counters for periodic stats and drop
/// warnings, until every reader is done.
fn control_loop(c: &ControlCtx<'_>, mut ticker: Option<StatsTicker>, out: &Sender<OutMsg>) {
    let mut next_tick = Instant::now() + TICK;
    let mut drops = DropWatch::default();
    if let Some(t) = &mut ticker {
        t.observe(wall_clock()); // arms it: the first event is one interval in
    }
    while c.running.load(Ordering::Acquire) > 0 {
        std::thread::sleep(Duration::from_millis(50));
        if c.opts.control.reload.swap(false, Ordering::Relaxed) {
            if let Some(f) = c.opts.on_hup {
                f();
            }
            let res = reload(c.slot, c.opts.reloader);
            c.live.count_reload(res.is_ok());
            match res {
                Ok(()) => eprintln!("leakwatch: reloaded signatures, policy and geo (SIGHUP)"),
                Err(e) => eprintln!(
                    "leakwatch: error: reload failed, the running configuration stays in force: {e}"
                ),
            }
        }
        let now = Instant::now();
        if now < next_tick {
            continue;
        }
        next_tick = now + TICK;
        let snap: Vec<InterfaceStats> = c
            .names
            .iter()
            .zip(c.counters)
            .map(|(n, s)| s.snapshot(n))
            .collect();
        let merged = merge_by_name(&snap);
        for w in drops.check(&merged) {
            eprintln!("leakwatch: warning: {w}");
        }
        c.live
            .publish_interfaces(merged, &decode_sum(c.decode), wall_clock());
        if let Some(t) = &mut ticker {
            t.observe(wall_clock());
        }
        let _ = out.send(OutMsg::Flush);
    }
}

/// Decode errors summed over the capture threads.
fn decode_sum(slots: &[DecodeSlot]) -> [u64; DecodeError::ALL.len()] {
    let mut sum = [0u64; DecodeError::ALL.len()];
    for s in slots {
        if let Ok(d) = s.lock() {
            for (a, b) in sum.iter_mut().zip(d.iter()) {
                *a += b;
            }
        }
    }
    sum
}

/// Remembers drop counters to warn when they rise.
#[derive(Default)]
pub struct DropWatch {
    last: Vec<(String, u64)>,
}

impl DropWatch {
    /// Warnings for every interface whose drops rose since the last check.
    pub fn check(&mut self, now: &[InterfaceStats]) -> Vec<String> {
        let mut out = Vec::new();
        for s in now {
            let total = s.kernel.drops();
            let prev = match self.last.iter_mut().find(|(n, _)| *n == s.name) {
                Some(e) => std::mem::replace(&mut e.1, total),
                None => {
                    self.last.push((s.name.clone(), total));
                    0
                }
            };
            if total > prev {
                out.push(format!(
                    "{}: {} frames dropped by the kernel/interface since the last check ({} in all of {} received); \
                     add workers, enlarge live.block_count or live.buffer_size, or narrow --bpf",
                    s.name,
                    total - prev,
                    total,
                    s.kernel.received
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::live::KernelStats;

    fn sensor() -> Sensor {
        Sensor::build(&Config::default(), None, b"0123456789abcdef").unwrap()
    }

    #[test]
    fn slot_swaps_only_on_publish() {
        let slot = SensorSlot::new(sensor());
        let mut seen = slot.generation();
        assert!(slot.newer(&mut seen).is_none());
        let replacement = sensor();
        let engine = Arc::clone(&replacement.engine);
        slot.publish(replacement);
        let got = slot.newer(&mut seen).unwrap();
        assert!(Arc::ptr_eq(&got.engine, &engine));
        assert!(slot.newer(&mut seen).is_none());
    }

    #[test]
    fn failed_reload_keeps_the_old_sensor() {
        let slot = SensorSlot::new(sensor());
        let before = Arc::clone(&slot.current().engine);
        let bad = || Err::<Sensor, String>("config x.toml line 3: unknown zone".into());
        let e = reload(&slot, &bad).unwrap_err();
        assert!(e.contains("line 3"));
        assert_eq!(slot.generation(), 0);
        assert!(Arc::ptr_eq(&slot.current().engine, &before));
        let good = || Ok(sensor());
        reload(&slot, &good).unwrap();
        assert_eq!(slot.generation(), 1);
        assert!(!Arc::ptr_eq(&slot.current().engine, &before));
    }

    #[test]
    fn bad_config_file_is_rejected_with_its_line() {
        // What `live` does on SIGHUP: load the file again, build the sensor.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "workers = 1\n[flow]\nmax_flow = 3\n").unwrap();
        let build = || {
            let cfg = Config::load(&path).map_err(|e| e.to_string())?;
            Sensor::build(&cfg, Some(&path), b"0123456789abcdef").map_err(|e| e.to_string())
        };
        let slot = SensorSlot::new(sensor());
        let e = reload(&slot, &build).unwrap_err();
        assert!(e.contains("line 3") && e.contains("c.toml"), "{e}");
        assert_eq!(slot.generation(), 0);
    }

    #[test]
    fn drop_watch_warns_on_rise_only() {
        let s = |d: u64| InterfaceStats {
            name: "eth0".into(),
            packets_total: 10,
            bytes_total: 100,
            kernel: KernelStats {
                received: 20,
                dropped: d,
                if_dropped: 0,
            },
        };
        let mut w = DropWatch::default();
        assert!(w.check(&[s(0)]).is_empty());
        let warn = w.check(&[s(5)]);
        assert_eq!(warn.len(), 1);
        assert!(warn[0].contains("eth0: 5 frames"), "{}", warn[0]);
        assert!(w.check(&[s(5)]).is_empty());
    }

    #[test]
    fn periodic_stats_event_shape() {
        let i = InterfaceStats {
            name: "veth1".into(),
            packets_total: 3,
            bytes_total: 300,
            kernel: KernelStats {
                received: 4,
                dropped: 1,
                if_dropped: 0,
            },
        };
        let live = LiveCounters::new(1);
        live.publish_interfaces(vec![i], &[0, 2], 5);
        live.count_reload(true);
        live.count_reload(true);
        live.count_reload(false);
        let v = live.stats_json(true);
        assert_eq!(v["periodic"], true);
        assert_eq!(v["clock"], "wall");
        assert!(v["uptime_seconds"].is_u64());
        assert_eq!(v["capture"]["packets_total"], 3);
        assert_eq!(v["capture"]["kernel_drops_total"], 1);
        assert_eq!(v["capture"]["drops_total"], 1);
        assert_eq!(v["capture"]["interfaces"][0]["name"], "veth1");
        assert_eq!(v["reload"]["ok_total"], 2);
        assert_eq!(v["reload"]["failed_total"], 1);
        let name = DecodeError::ALL[1].counter_name();
        assert_eq!(v["decoder"]["errors"][name], 2);
    }

    #[test]
    fn decode_errors_are_summed_over_capture_threads() {
        let slots: Vec<DecodeSlot> = (0..2).map(|_| Mutex::default()).collect();
        slots[0].lock().unwrap()[0] = 3;
        slots[1].lock().unwrap()[0] = 4;
        slots[1].lock().unwrap()[1] = 1;
        let sum = decode_sum(&slots);
        assert_eq!(&sum[..2], &[7, 1]);
    }
}
