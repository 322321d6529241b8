//! Column mapping on arbitrary bytes behind a tabular head (a CSV header
//! naming field and context columns, or an HTML table header), split at
//! two arbitrary points: no panic, bounded stream state, and the same
//! matches as one buffer.
#![no_main]

mod detect_common;

use detect_common::{engine, Collect};
use leakwatch::detect::columns::Slot;
use leakwatch::detect::StreamState;
use libfuzzer_sys::fuzz_target;

const HEADS: [&str; 14] = [
    "序号,姓名,身份证号,手机,住址,民族\n",
    "姓名\t备注\t手机号码\r\n",
    "\"姓名\";\"地址\";\"x\"\"y\"\n",
    "<table><tr><th>姓名</th><th>身份证号</th><th>民族</th></tr>",
    // HTML labels (the field family's key/value layouts).
    "<table><tr><th>姓名</th><td>张伟</td></tr><tr><td>住址</td><td>",
    "<dl><dt>民　　族</dt><dd>汉族</dd><dt>姓名：</dt><dd>",
    // Form controls and bracketed keys (`fields_attr.rs`).
    "<form><input type=\"text\" name=\"realName\" value=\"张伟\"><textarea name=\"address\">",
    "info[0][realname]=王芳&<input value=\"李娜\" name=\"user[name]\" ",
    // Values named by ids (`fields_attr::Trigger::Id`).
    "<p><span class=\"v\" id=\"realName\">张伟</span><input id=\"xm\" value=\"",
    // An open select (`fields_attr::SelectLog`).
    "<select name=\"mz\"><option value=\"1\">汉族</option><option value=\"2\" selected>回族</option>",
    // A label naming the select after it (`fields_html::Markup::select`).
    "<label>民族：</label><div><select name=\"f12\"><option>汉族</option><option selected>",
    // Radio buttons: only a checked one is a value (`fields_attr::Choice`).
    "<input type=\"radio\" name=\"zzmm\" value=\"群众\" checked><input name=\"mz\" value=\"回族\" ",
    // A four-column key/value row (`fields_html::CellEnd::Cell`).
    "<tr><td>姓名</td><td>张伟</td><td>诊断</td><td>高血压</td></tr><tr><td>民族</td><td>",
    "",
];

fuzz_target!(|data: &[u8]| {
    let [first, second, rest @ ..] = data else {
        return;
    };
    let mut doc = HEADS[usize::from(*second) % HEADS.len()].as_bytes().to_vec();
    doc.extend_from_slice(rest);
    let e = engine();
    let mut whole = Collect::default();
    e.scan_buffer(&doc, &mut whole);
    let a = usize::from(*first) % (doc.len() + 1);
    let b = (a + usize::from(*first) * 7 + usize::from(*second)) % (doc.len() + 1);
    let (a, b) = (a.min(b), a.max(b));
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut cols = Slot::default();
    let mut pieces = Collect::default();
    for piece in [&doc[..a], &doc[a..b], &doc[b..]] {
        s.scan_stream_columns(&mut st, &mut cols, piece, &mut pieces);
        assert!(st.heap_bytes() <= 250 + 160 + StreamState::EXTRA_MAX);
    }
    s.finish_stream_columns(&mut st, &mut cols, &mut pieces);
    assert_eq!(whole.0, pieces.0);
});
