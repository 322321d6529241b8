//! Records estimate end to end: a real capture (`pcaps/records_http.pcap`:
//! a gzip'd CSV export POSTed, a gzip'd JSON array export downloaded)
//! replayed against its ground truth, and `leakwatch scan` over generated
//! CSV, JSON, NDJSON and HTML exports.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// Distinct values per PI type of one event (summed over its detectors).
fn distinct(ev: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in ev["findings"].as_array().into_iter().flatten() {
        let t = f["type"].as_str().unwrap_or_default().to_string();
        *m.entry(t).or_insert(0) += f["count"].as_u64().unwrap_or_default();
    }
    m
}

#[test]
fn capture_of_csv_and_json_exports_matches_truth() {
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(pcap("records_http.truth.json")).expect("truth"),
    )
    .expect("truth json");
    for workers in [1, 2] {
        let events = parse(&replay(&[pcap("records_http.pcap")], workers));
        let dlp: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        let want = truth["events"].as_array().expect("events");
        assert_eq!(dlp.len(), want.len(), "{dlp:#?}");
        for w in want {
            let ev = dlp
                .iter()
                .find(|e| e["direction"] == w["direction"])
                .unwrap_or_else(|| panic!("no {} event", w["direction"]));
            assert_eq!(ev["records"], w["records"], "{ev}");
            let want_d: BTreeMap<String, u64> =
                serde_json::from_value(w["distinct"].clone()).expect("distinct");
            assert_eq!(distinct(ev), want_d, "{ev}");
            assert_eq!(ev["severity"], w["severity"], "{ev}");
            let reason = ev["severity_reason"].as_str().unwrap_or_default();
            assert!(reason.contains("records"), "{reason}");
            for f in ev["findings"].as_array().into_iter().flatten() {
                let loc = f["where"].as_str().unwrap_or_default().split('|').next();
                assert_eq!(loc, w["where"].as_str(), "{f}");
            }
        }
        // The CSV upload is graded by its records, not its 90 values.
        let csv = dlp
            .iter()
            .find(|e| e["direction"] == "to_server")
            .expect("csv");
        let reason = csv["severity_reason"].as_str().unwrap_or_default();
        assert!(reason.contains("600 records >= 500"), "{reason}");
    }
}

/// A resident ID with a valid check character (synthetic).
fn id18(n: u32) -> String {
    let first17 = format!(
        "110105{}{:02}{:02}{:03}",
        1990 + n % 10,
        n % 12 + 1,
        n % 28 + 1,
        100 + n % 900
    );
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first17
        .chars()
        .zip(w)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let chk = b"10X98765432"[(s % 11) as usize] as char;
    format!("{first17}{chk}")
}

fn mobile(n: u32) -> String {
    format!("138{:08}", 10_000_000 + n * 7919)
}

/// `leakwatch scan -` of `input`: the one event.
fn scan(input: &[u8]) -> Value {
    scan_stdin(input)
}

#[test]
fn scan_counts_csv_rows_json_objects_ndjson_and_html_rows() {
    // 600 CSV rows, 20 customers repeated; quoted cells with a comma and
    // a newline inside; a row without PI every tenth.
    let mut csv = String::from("id,name,mobile,note\r\n");
    let mut want = 0;
    for i in 0..600u32 {
        if i % 10 == 9 {
            csv.push_str(&format!("{i},x,none,\"a\nb\"\r\n"));
            continue;
        }
        want += 1;
        csv.push_str(&format!("{i},\"Li, {i}\",{},\"x\ny\"\r\n", mobile(i % 20)));
    }
    let ev = scan(csv.as_bytes());
    assert_eq!(ev["records"], want, "{ev}");
    assert!(distinct(&ev)["cn_mobile"] >= 15, "{ev}");

    let objs: Vec<String> = (0..75)
        .map(|i| {
            format!(
                r#"{{"id":"{}","tags":["a","{{"],"m":"{}"}}"#,
                id18(i),
                mobile(i)
            )
        })
        .collect();
    let json = format!(r#"{{"total":75,"data":[{}],"page":1}}"#, objs.join(","));
    assert_eq!(scan(json.as_bytes())["records"], 75);

    let ndjson: String = (0..30)
        .map(|i| format!("{{\"m\":\"{}\"}}\n", mobile(i)))
        .collect();
    assert_eq!(scan(ndjson.as_bytes())["records"], 30);

    let mut html = String::from("<html><body><table>\n<tr><th>手机</th></tr>\n");
    for i in 0..12 {
        html.push_str(&format!(
            "<tr>\n <td>{}</td>\n <td>{}</td>\n</tr>\n",
            i,
            mobile(i)
        ));
    }
    html.push_str("</table></body></html>\n");
    assert_eq!(scan(html.as_bytes())["records"], 12);
}

#[test]
fn free_text_addresses_are_found_and_place_names_are_not() {
    let text = "公司搬到了北京市海淀区中关村大街27号。\n\
                上海市浦东新区人民政府今天召开发布会，深圳市南山区科技园的企业参加。\n\
                收件：浙江省杭州市西湖区文三路90号\n";
    let ev = scan(text.as_bytes());
    assert_eq!(distinct(&ev)["cn_address"], 2, "{ev}");
    assert_eq!(ev["records"], 2, "{ev}");
    assert!(
        !ev.to_string().contains("中关村大街27号"),
        "clear value in {ev}"
    );
}
