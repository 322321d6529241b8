//! The column mapping's counters reach the `stats` event
//! (`stats.detect.columns`): a CSV sent over TCP whose header has more
//! columns than mapped, and a data cell over the checked length.

mod common;

use common::craft::{replay_events, stats_of, Capture, Conn};
use leakwatch::config::Config;
use leakwatch::detect::columns::{CELL_RAW_MAX, MAX_COLUMNS};
use serde_json::Value;

/// A CSV: 姓名 in column 1 and again past [`MAX_COLUMNS`]; one row with a
/// name, one whose name cell is too long to be checked.
fn csv() -> Vec<u8> {
    let mut head: Vec<String> = (0..MAX_COLUMNS + 4).map(|i| format!("c{i}")).collect();
    head[1] = "姓名".into();
    head.push("姓名".into());
    let row = |name: &str| {
        let mut r: Vec<String> = (0..head.len()).map(|i| i.to_string()).collect();
        r[1] = name.into();
        r.join(",")
    };
    let long = format!("{}张伟", " ".repeat(CELL_RAW_MAX as usize));
    format!("{}\n{}\n{}\n", head.join(","), row("王芳"), row(&long)).into_bytes()
}

fn replay_stats(data: &[u8]) -> Value {
    let mut cap = Capture::new();
    let mut c = Conn::new(41002, 500);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, data);
    c.s_ack(&mut cap, data.len() as u32);
    c.close(&mut cap, data.len() as u32);
    stats_of(&replay_events(&cap, &Config::default()))
}

#[test]
fn column_bounds_hit_show_in_the_stats_event() {
    let cols = &replay_stats(&csv())["detect"]["columns"];
    assert_eq!(cols["tables_total"], 1, "{cols}");
    assert_eq!(cols["hits_total"], 1, "{cols}");
    assert_eq!(cols["columns_limit_total"], 1, "{cols}");
    assert_eq!(cols["cell_limit_total"], 1, "{cols}");
    assert_eq!(cols["header_line_limit_total"], 0, "{cols}");
}

#[test]
fn no_table_no_column_counts() {
    let cols = &replay_stats(b"hello 13800138000\n")["detect"]["columns"];
    assert_eq!(cols["tables_total"], 0, "{cols}");
    assert_eq!(cols["columns_limit_total"], 0, "{cols}");
}
