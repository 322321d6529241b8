//! A network sink: the output thread appends to its backlog (spool or
//! memory queue) and a delivery thread of its own sends batches in order,
//! acknowledging them only after the peer accepted them. A slow or dead
//! peer therefore never blocks capture or the other sinks (unless the sink
//! is configured `on_full = "block"`).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backlog::Backlog;
use super::spool::FullPolicy;

/// Sends batches of events to a peer.
pub trait Transport: Send {
    /// Delivers `batch` in order. `Ok` only when the whole batch was
    /// accepted as far as the protocol can tell (HTTP 2xx, Redis replies;
    /// for plain streams: written to a connection that was alive).
    ///
    /// # Errors
    /// Any failure; the batch is sent again later.
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()>;
    /// Drops the connection after a failure.
    fn reset(&mut self);
}

/// Delivery settings of a remote sink.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// Name in logs and metrics.
    pub name: String,
    /// Type name.
    pub kind: &'static str,
    /// Events per batch.
    pub batch: usize,
    /// Payload bytes per batch (soft).
    pub batch_bytes: usize,
    /// First and longest retry delay.
    pub backoff: (Duration, Duration),
    /// What a full backlog does.
    pub on_full: FullPolicy,
    /// How long [`Remote::close`] keeps delivering.
    pub drain_timeout: Duration,
}

/// Live counters of a remote sink.
#[derive(Debug, Default)]
pub struct RemoteCounters {
    /// Events acknowledged by the peer.
    pub delivered_total: AtomicU64,
    /// Failed delivery attempts.
    pub send_errors_total: AtomicU64,
    /// Times the writer waited on a full backlog (`block`).
    pub blocked_total: AtomicU64,
    /// Events lost because the backlog itself failed (spool I/O error) or
    /// was in memory at exit.
    pub lost_total: AtomicU64,
    /// Whether the last attempt succeeded.
    pub up: AtomicBool,
}

/// A snapshot of one sink for stats and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkStatus {
    /// Sink name.
    pub name: String,
    /// Sink type.
    pub kind: &'static str,
    /// Events written to the sink (accepted by its filter).
    pub events_total: u64,
    /// Events acknowledged by the peer (remote sinks).
    pub delivered_total: u64,
    /// Events waiting.
    pub backlog: u64,
    /// Bytes of the spool (or memory queue).
    pub backlog_bytes: u64,
    /// Undelivered events dropped because the backlog was full.
    pub dropped_total: u64,
    /// Events lost otherwise (spool I/O error; memory queue at exit).
    pub lost_total: u64,
    /// Failed delivery attempts.
    pub send_errors_total: u64,
    /// Waits on a full backlog.
    pub blocked_total: u64,
    /// Peer reachable at the last attempt (local sinks: always).
    pub up: bool,
    /// Undelivered events survive a restart.
    pub durable: bool,
}

pub(crate) struct Shared {
    opts: RemoteOptions,
    backlog: Mutex<Backlog>,
    cond: Condvar,
    closing: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    pub(crate) counters: RemoteCounters,
    events: AtomicU64,
    last_loud: Mutex<Option<Instant>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Status for metrics.
    pub(crate) fn status(&self) -> SinkStatus {
        let b = self.lock();
        let c = &self.counters;
        SinkStatus {
            name: self.opts.name.clone(),
            kind: self.opts.kind,
            events_total: self.events.load(Ordering::Relaxed),
            delivered_total: c.delivered_total.load(Ordering::Relaxed),
            backlog: b.pending(),
            backlog_bytes: b.bytes(),
            dropped_total: b.dropped(),
            lost_total: c.lost_total.load(Ordering::Relaxed),
            send_errors_total: c.send_errors_total.load(Ordering::Relaxed),
            blocked_total: c.blocked_total.load(Ordering::Relaxed),
            up: c.up.load(Ordering::Relaxed),
            durable: b.is_durable(),
        }
    }

    /// Loud, but at most every 10 s per sink.
    fn loud(&self) -> bool {
        let mut last = self.last_loud.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(10)) {
            return false;
        }
        *last = Some(now);
        true
    }

    fn past_deadline(&self) -> bool {
        let d = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        d.is_some_and(|d| Instant::now() >= d)
    }
}

/// The output thread's end of a remote sink.
pub struct Remote {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Remote {
    /// Starts the delivery thread.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn start(
        opts: RemoteOptions,
        backlog: Backlog,
        transport: Box<dyn Transport>,
    ) -> io::Result<Remote> {
        let pending = backlog.pending();
        if pending > 0 {
            tracing::info!(sink = %opts.name, events = pending, "resuming spooled events");
        }
        let shared = Arc::new(Shared {
            opts,
            backlog: Mutex::new(backlog),
            cond: Condvar::new(),
            closing: AtomicBool::new(false),
            deadline: Mutex::new(None),
            counters: RemoteCounters::default(),
            events: AtomicU64::new(0),
            last_loud: Mutex::new(None),
        });
        shared.counters.up.store(true, Ordering::Relaxed);
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("lw-sink-{}", shared.opts.name))
            .spawn(move || pump(&s, transport))?;
        Ok(Remote {
            shared,
            thread: Some(thread),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Queues one event. Never fails the pipeline: spool I/O errors are
    /// logged and the event is counted as lost.
    pub fn push(&self, json: &[u8]) {
        let sh = &self.shared;
        sh.events.fetch_add(1, Ordering::Relaxed);
        let mut b = sh.lock();
        if sh.opts.on_full == FullPolicy::Block && !b.has_room(json.len()) {
            sh.counters.blocked_total.fetch_add(1, Ordering::Relaxed);
            if sh.loud() {
                tracing::error!(sink = %sh.opts.name, "backlog full: blocking the pipeline until the sink catches up (on_full = block)");
            }
            while !b.has_room(json.len()) && !sh.closing.load(Ordering::Relaxed) {
                b = sh
                    .cond
                    .wait_timeout(b, Duration::from_millis(500))
                    .map(|r| r.0)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        }
        match b.append(json) {
            Ok(0) => {}
            Ok(n) => {
                if sh.loud() {
                    tracing::error!(
                        sink = %sh.opts.name,
                        dropped = n,
                        dropped_total = b.dropped(),
                        "backlog full: oldest undelivered events dropped (raise spool_max_bytes or fix the sink)"
                    );
                }
            }
            Err(e) => {
                sh.counters.lost_total.fetch_add(1, Ordering::Relaxed);
                if sh.loud() {
                    tracing::error!(sink = %sh.opts.name, error = %e, "cannot spool event: event lost");
                }
            }
        }
        drop(b);
        sh.cond.notify_all();
    }

    /// Pushes buffered spool data to the kernel and syncs it.
    pub fn sync(&self) {
        if let Err(e) = self.shared.lock().sync() {
            tracing::warn!(sink = %self.shared.opts.name, error = %e, "spool fsync failed");
        }
    }

    /// Waits until the backlog is empty or `timeout` passes; true when empty.
    pub fn wait_empty(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        let mut b = self.shared.lock();
        while b.pending() > 0 {
            let now = Instant::now();
            if now >= end {
                return false;
            }
            b = self
                .shared
                .cond
                .wait_timeout(b, (end - now).min(Duration::from_millis(100)))
                .map(|r| r.0)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        true
    }

    /// Keeps delivering for up to the drain timeout, then stops the thread.
    /// What is left stays in the spool for the next run (or, without a
    /// spool, is counted lost and logged).
    pub fn close(mut self) -> SinkStatus {
        self.stop();
        self.shared.status()
    }

    fn stop(&mut self) {
        let sh = &self.shared;
        *sh.deadline.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + sh.opts.drain_timeout);
        sh.closing.store(true, Ordering::Relaxed);
        sh.cond.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut b = sh.lock();
        let _ = b.sync();
        let left = b.pending();
        if left == 0 {
            return;
        }
        if b.is_durable() {
            tracing::warn!(sink = %sh.opts.name, events = left, "undelivered events kept in the spool for the next run");
        } else {
            sh.counters.lost_total.fetch_add(left, Ordering::Relaxed);
            tracing::error!(sink = %sh.opts.name, events = left, "undelivered events lost at exit (no spool_dir)");
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
        }
    }
}

/// The delivery loop: oldest batch first, retried with exponential backoff
/// until accepted.
fn pump(sh: &Shared, mut tx: Box<dyn Transport>) {
    let (min, max) = sh.opts.backoff;
    let mut delay = min;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let Some(token) = next_batch(sh, &mut batch) else {
            return;
        };
        match tx.send(&batch) {
            Ok(()) => {
                if let Err(e) = sh.lock().ack(token) {
                    tracing::warn!(sink = %sh.opts.name, error = %e, "cannot record delivery in the spool (events may be sent again)");
                }
                let c = &sh.counters;
                c.delivered_total
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !c.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(sink = %sh.opts.name, "sink reachable again; delivering the backlog");
                }
                delay = min;
                sh.cond.notify_all();
            }
            Err(e) => {
                tx.reset();
                let c = &sh.counters;
                c.send_errors_total.fetch_add(1, Ordering::Relaxed);
                if c.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(sink = %sh.opts.name, error = %e, "sink unreachable; events are kept and retried");
                }
                if sh.closing.load(Ordering::Relaxed) && sh.past_deadline() {
                    return;
                }
                sleep(sh, delay);
                delay = (delay * 2).min(max);
            }
        }
    }
}

/// Waits for events; `None` when closing and done (empty or past the
/// drain deadline).
fn next_batch(sh: &Shared, out: &mut Vec<Vec<u8>>) -> Option<super::backlog::Token> {
    let mut b = sh.lock();
    loop {
        if let Err(e) = b.maybe_sync() {
            tracing::warn!(sink = %sh.opts.name, error = %e, "spool fsync failed");
        }
        let closing = sh.closing.load(Ordering::Relaxed);
        if closing && sh.past_deadline() {
            return None;
        }
        match b.peek(sh.opts.batch, sh.opts.batch_bytes, out) {
            Ok(Some(t)) => return Some(t),
            Ok(None) if closing => return None,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(sink = %sh.opts.name, error = %e, "cannot read the spool");
                if closing {
                    return None;
                }
            }
        }
        b = sh
            .cond
            .wait_timeout(b, Duration::from_millis(200))
            .map(|r| r.0)
            .unwrap_or_else(|p| p.into_inner().0);
    }
}

/// Sleeps `d`, waking early when closing.
fn sleep(sh: &Shared, d: Duration) {
    let end = Instant::now() + d;
    let mut b = sh.lock();
    loop {
        let now = Instant::now();
        if now >= end || (sh.closing.load(Ordering::Relaxed) && sh.past_deadline()) {
            return;
        }
        b = sh
            .cond
            .wait_timeout(b, (end - now).min(Duration::from_millis(50)))
            .map(|r| r.0)
            .unwrap_or_else(|p| p.into_inner().0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::backlog::MemQueue;
    use super::*;

    /// Fails the first `fail` sends, then records.
    struct Flaky {
        fail: usize,
        got: Arc<Mutex<Vec<Vec<u8>>>>,
    }
    impl Transport for Flaky {
        fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
            if self.fail > 0 {
                self.fail -= 1;
                return Err(io::Error::other("down"));
            }
            self.got.lock().unwrap().extend(batch.iter().cloned());
            Ok(())
        }
        fn reset(&mut self) {}
    }

    fn opts() -> RemoteOptions {
        RemoteOptions {
            name: "t".into(),
            kind: "test",
            batch: 2,
            batch_bytes: 1 << 20,
            backoff: (Duration::from_millis(1), Duration::from_millis(5)),
            on_full: FullPolicy::DropOldest,
            drain_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn failures_are_retried_in_order() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let tx = Flaky {
            fail: 3,
            got: Arc::clone(&got),
        };
        let r = Remote::start(opts(), Backlog::Mem(MemQueue::new(100)), Box::new(tx)).unwrap();
        for i in 0..7u8 {
            r.push(&[b'a' + i]);
        }
        assert!(r.wait_empty(Duration::from_secs(5)));
        let st = r.close();
        assert_eq!(st.delivered_total, 7);
        assert_eq!(st.send_errors_total, 3);
        assert!(st.up);
        let got: Vec<u8> = got.lock().unwrap().iter().map(|v| v[0]).collect();
        assert_eq!(got, b"abcdefg");
    }

    #[test]
    fn close_of_a_dead_sink_without_spool_counts_lost() {
        let tx = Flaky {
            fail: usize::MAX,
            got: Arc::default(),
        };
        let mut o = opts();
        o.drain_timeout = Duration::from_millis(30);
        let r = Remote::start(o, Backlog::Mem(MemQueue::new(100)), Box::new(tx)).unwrap();
        r.push(b"x");
        r.push(b"y");
        let st = r.close();
        assert_eq!(st.lost_total, 2);
        assert!(!st.up);
    }
}
