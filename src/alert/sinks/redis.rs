//! A small Redis client (RESP2) for the Redis Streams sink and the
//! `leakwatch tail` consumer: `XADD key MAXLEN ~ N * event JSON`, pipelined
//! per batch; `XREADGROUP`/`XACK` for consumers. Replies are untrusted
//! bytes: lengths, nesting and line sizes are bounded.

use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

use super::conn::{Conn, Endpoint};
use super::http::split_host_port;
use super::remote::Transport;

/// Longest bulk string accepted in a reply.
const MAX_BULK: usize = 64 << 20;
/// Most elements of an array reply.
const MAX_ARRAY: usize = 1 << 20;
/// Deepest nesting of arrays.
const MAX_DEPTH: usize = 8;
/// Longest status/error/integer line.
const MAX_LINE: usize = 64 * 1024;

/// A RESP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`.
    Error(String),
    /// `:N`.
    Int(i64),
    /// `$N` bytes, or nil.
    Bulk(Option<Vec<u8>>),
    /// `*N` values, or nil.
    Array(Option<Vec<Value>>),
}

/// `redis://[[user]:password@]host[:port][/db]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisUrl {
    /// `host:port`.
    pub addr: String,
    /// ACL user (with a password).
    pub user: Option<String>,
    /// `AUTH` password.
    pub password: Option<String>,
    /// `SELECT` database.
    pub db: u32,
}

impl RedisUrl {
    /// Parses a Redis URL.
    ///
    /// # Errors
    /// Other schemes, bad port or database.
    pub fn parse(u: &str) -> Result<RedisUrl, String> {
        let rest = u.strip_prefix("redis://").ok_or_else(|| {
            format!(
                "url: must start with redis:// (got a {}-char value)",
                u.len()
            )
        })?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (hostport, db) = match rest.split_once('/') {
            Some((h, d)) if !d.is_empty() => (
                h,
                d.parse().map_err(|_| format!("url: bad database {d:?}"))?,
            ),
            Some((h, _)) => (h, 0),
            None => (rest, 0),
        };
        let (host, port) = split_host_port(hostport, 6379).map_err(|e| format!("url: {e}"))?;
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let (user, password) = match auth.map(|a| a.split_once(':')) {
            Some(Some((u, p))) => ((!u.is_empty()).then(|| u.to_string()), Some(p.to_string())),
            Some(None) => (None, auth.map(str::to_string)),
            None => (None, None),
        };
        Ok(RedisUrl {
            addr,
            user,
            password,
            db,
        })
    }
}

/// Appends a command as a RESP array of bulk strings.
pub fn encode_command(args: &[&[u8]], out: &mut Vec<u8>) {
    let _ = write!(out, "*{}\r\n", args.len());
    for a in args {
        let _ = write!(out, "${}\r\n", a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("redis: {msg}"))
}

fn read_line(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = io::Read::take(&mut *r, MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "redis: connection closed",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(bad("reply line too long or unterminated"));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_int(b: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad length or integer"))
}

/// Reads one reply (bounded; never panics on bad input).
///
/// # Errors
/// I/O, or a malformed or oversized reply.
pub fn read_value(r: &mut impl BufRead) -> io::Result<Value> {
    read_nested(r, 0)
}

fn read_nested(r: &mut impl BufRead, depth: usize) -> io::Result<Value> {
    let line = read_line(r)?;
    let (&kind, rest) = line.split_first().ok_or_else(|| bad("empty reply line"))?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    match kind {
        b'+' => Ok(Value::Simple(text())),
        b'-' => Ok(Value::Error(text())),
        b':' => Ok(Value::Int(parse_int(rest)?)),
        b'$' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Value::Bulk(None));
            }
            let n = usize::try_from(n).map_err(|_| bad("bad length"))?;
            if n > MAX_BULK {
                return Err(bad("bulk reply too large"));
            }
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf)?;
            if !buf.ends_with(b"\r\n") {
                return Err(bad("bulk reply not terminated"));
            }
            buf.truncate(n);
            Ok(Value::Bulk(Some(buf)))
        }
        b'*' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Value::Array(None));
            }
            let n = usize::try_from(n).map_err(|_| bad("bad length"))?;
            if n > MAX_ARRAY || depth >= MAX_DEPTH {
                return Err(bad("array reply too large or too deep"));
            }
            let mut v = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                v.push(read_nested(r, depth + 1)?);
            }
            Ok(Value::Array(Some(v)))
        }
        _ => Err(bad("unknown reply type")),
    }
}

/// A connection to one Redis server.
pub struct Client {
    conn: BufReader<Conn>,
    buf: Vec<u8>,
}

impl Client {
    /// Connects, authenticates and selects the database.
    ///
    /// # Errors
    /// Connection failure or an error reply.
    pub fn connect(url: &RedisUrl, timeout: Duration) -> io::Result<Client> {
        let conn = Endpoint::Tcp {
            addr: url.addr.clone(),
            tls: None,
        }
        .connect(timeout)?;
        let mut c = Client {
            conn: BufReader::new(conn),
            buf: Vec::new(),
        };
        match (&url.user, &url.password) {
            (Some(u), Some(p)) => c.cmd(&[b"AUTH", u.as_bytes(), p.as_bytes()])?,
            (None, Some(p)) => c.cmd(&[b"AUTH", p.as_bytes()])?,
            _ => Value::Simple(String::new()),
        };
        if url.db != 0 {
            c.cmd(&[b"SELECT", url.db.to_string().as_bytes()])?;
        }
        Ok(c)
    }

    /// Sends one command and reads its reply; an error reply is an `Err`.
    ///
    /// # Errors
    /// I/O or an error reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> io::Result<Value> {
        self.buf.clear();
        encode_command(args, &mut self.buf);
        self.conn.get_mut().write_all(&self.buf)?;
        match read_value(&mut self.conn)? {
            Value::Error(e) => Err(io::Error::other(format!("redis: {e}"))),
            v => Ok(v),
        }
    }

    /// Sends already encoded commands in one write and reads `n` replies;
    /// the first error reply fails the whole batch.
    ///
    /// # Errors
    /// I/O or an error reply.
    pub fn pipeline(&mut self, encoded: &[u8], n: usize) -> io::Result<()> {
        self.conn.get_mut().write_all(encoded)?;
        let mut first_err = None;
        for _ in 0..n {
            if let Value::Error(e) = read_value(&mut self.conn)? {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(io::Error::other(format!("redis: {e}"))),
            None => Ok(()),
        }
    }

    /// Whether the server is still connected.
    pub fn is_alive(&self) -> bool {
        self.conn.buffer().is_empty() && self.conn.get_ref().is_alive()
    }
}

/// The Redis Streams sink.
pub struct RedisStream {
    url: RedisUrl,
    key: String,
    maxlen: String,
    timeout: Duration,
    client: Option<Client>,
    buf: Vec<u8>,
}

impl RedisStream {
    /// `XADD key MAXLEN ~ maxlen * event JSON` per event.
    pub fn new(url: RedisUrl, key: String, maxlen: u64, timeout: Duration) -> RedisStream {
        RedisStream {
            url,
            key,
            maxlen: maxlen.to_string(),
            timeout,
            client: None,
            buf: Vec::new(),
        }
    }
}

impl Transport for RedisStream {
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
        if self.client.as_ref().is_some_and(|c| !c.is_alive()) {
            self.client = None;
        }
        let c = match &mut self.client {
            Some(c) => c,
            None => self
                .client
                .insert(Client::connect(&self.url, self.timeout)?),
        };
        self.buf.clear();
        for ev in batch {
            let args: [&[u8]; 7] = [
                b"XADD",
                self.key.as_bytes(),
                b"MAXLEN",
                b"~",
                self.maxlen.as_bytes(),
                b"*",
                b"event",
            ];
            let _ = write!(self.buf, "*{}\r\n", args.len() + 1);
            for a in args.iter().chain(std::iter::once(&ev.as_slice())) {
                let _ = write!(self.buf, "${}\r\n", a.len());
                self.buf.extend_from_slice(a);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
        c.pipeline(&self.buf, batch.len())
    }

    fn reset(&mut self) {
        self.client = None;
    }
}

/// One entry read by a consumer: stream id and the `event` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Stream entry id (`ms-seq`).
    pub id: String,
    /// The event JSON.
    pub event: Vec<u8>,
}

/// A consumer-group reader (at least once: entries are acknowledged only
/// after the callback returns, and entries delivered to this consumer but
/// never acknowledged are read again first after a restart).
pub struct Consumer {
    client: Client,
    key: String,
    group: String,
    name: String,
    /// Reading this consumer's pending entries (id `0`) before new ones (`>`).
    backlog: bool,
}

impl Consumer {
    /// Connects and creates the group (at the stream's start, creating the
    /// stream) when it does not exist.
    ///
    /// # Errors
    /// Connection failure or an error reply other than "group exists".
    pub fn new(
        url: &RedisUrl,
        key: &str,
        group: &str,
        name: &str,
        timeout: Duration,
    ) -> io::Result<Consumer> {
        let mut client = Client::connect(url, timeout)?;
        match client.cmd(&[
            b"XGROUP",
            b"CREATE",
            key.as_bytes(),
            group.as_bytes(),
            b"0",
            b"MKSTREAM",
        ]) {
            Ok(_) => {}
            Err(e) if e.to_string().contains("BUSYGROUP") => {}
            Err(e) => return Err(e),
        }
        Ok(Consumer {
            client,
            key: key.to_string(),
            group: group.to_string(),
            name: name.to_string(),
            backlog: true,
        })
    }

    /// Reads up to `count` entries, waiting up to `block_ms` for new ones.
    ///
    /// # Errors
    /// I/O or an error reply.
    pub fn read(&mut self, count: usize, block_ms: u64) -> io::Result<Vec<Entry>> {
        let id: &[u8] = if self.backlog { b"0" } else { b">" };
        let (count, block) = (count.to_string(), block_ms.to_string());
        let mut args: Vec<&[u8]> = vec![
            b"XREADGROUP",
            b"GROUP",
            self.group.as_bytes(),
            self.name.as_bytes(),
            b"COUNT",
            count.as_bytes(),
        ];
        if !self.backlog {
            args.extend_from_slice(&[b"BLOCK", block.as_bytes()]);
        }
        args.extend_from_slice(&[b"STREAMS", self.key.as_bytes(), id]);
        let v = self.client.cmd(&args)?;
        let entries = parse_xread(&v)?;
        if self.backlog && entries.is_empty() {
            self.backlog = false;
        }
        Ok(entries)
    }

    /// Acknowledges entries.
    ///
    /// # Errors
    /// I/O or an error reply.
    pub fn ack(&mut self, ids: &[String]) -> io::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut args: Vec<&[u8]> = vec![b"XACK", self.key.as_bytes(), self.group.as_bytes()];
        args.extend(ids.iter().map(|i| i.as_bytes()));
        self.client.cmd(&args).map(|_| ())
    }
}

/// Entries of an `XREADGROUP`/`XREAD` reply (nil: none).
///
/// # Errors
/// A reply of another shape.
pub fn parse_xread(v: &Value) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let streams = match v {
        Value::Array(None) | Value::Bulk(None) => return Ok(out),
        Value::Array(Some(s)) => s,
        _ => return Err(bad("unexpected XREADGROUP reply")),
    };
    for s in streams {
        let Value::Array(Some(pair)) = s else {
            return Err(bad("unexpected stream in reply"));
        };
        let Some(Value::Array(Some(entries))) = pair.get(1) else {
            continue;
        };
        for e in entries {
            let Value::Array(Some(e)) = e else { continue };
            let (Some(Value::Bulk(Some(id))), Some(fields)) = (e.first(), e.get(1)) else {
                continue;
            };
            let id = String::from_utf8_lossy(id).into_owned();
            let mut event = Vec::new();
            if let Value::Array(Some(f)) = fields {
                for kv in f.chunks(2) {
                    if let [Value::Bulk(Some(k)), Value::Bulk(Some(val))] = kv {
                        if k == b"event" {
                            event = val.clone();
                        }
                    }
                }
            }
            out.push(Entry { id, event });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(b: &[u8]) -> io::Result<Value> {
        read_value(&mut io::Cursor::new(b))
    }

    #[test]
    fn replies_parse() {
        assert_eq!(read(b"+OK\r\n").unwrap(), Value::Simple("OK".into()));
        assert_eq!(read(b"-ERR x\r\n").unwrap(), Value::Error("ERR x".into()));
        assert_eq!(read(b":12\r\n").unwrap(), Value::Int(12));
        assert_eq!(read(b"$-1\r\n").unwrap(), Value::Bulk(None));
        assert_eq!(
            read(b"*2\r\n$3\r\nabc\r\n*-1\r\n").unwrap(),
            Value::Array(Some(vec![
                Value::Bulk(Some(b"abc".to_vec())),
                Value::Array(None)
            ]))
        );
        assert!(read(b"$3\r\nab").is_err());
        assert!(read(b"*99999999999\r\n").is_err());
        assert!(read(b"?x\r\n").is_err());
        assert!(read(&b"*1\r\n".repeat(20)).is_err(), "too deep");
    }

    #[test]
    fn urls_parse() {
        let u = RedisUrl::parse("redis://:s3cret@127.0.0.1:6380/2").unwrap();
        assert_eq!(u.addr, "127.0.0.1:6380");
        assert_eq!(u.password.as_deref(), Some("s3cret"));
        assert_eq!(u.db, 2);
        let u = RedisUrl::parse("redis://localhost").unwrap();
        assert_eq!((u.addr.as_str(), u.db), ("localhost:6379", 0));
        assert!(RedisUrl::parse("http://x").is_err());
        assert!(RedisUrl::parse("redis://h/x").is_err());
    }

    #[test]
    fn xreadgroup_reply_parses() {
        let reply =
            b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$5\r\nevent\r\n$2\r\n{}\r\n";
        let v = read(reply).unwrap();
        let e = parse_xread(&v).unwrap();
        assert_eq!(
            e,
            vec![Entry {
                id: "1-0".into(),
                event: b"{}".to_vec()
            }]
        );
        assert!(parse_xread(&Value::Array(None)).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = read(&bytes);
        }
    }
}
