//! Finds the line of a key path (`zones.office.cidrs[1]`,
//! `geo.overrides."1.2.3.0/24"`, `allow.rule[0].expires`) in config text, so
//! errors found after parsing can still name the line.

use std::ops::Range;

use toml_edit::{ArrayOfTables, ImDocument, Item, Table, Value};

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits a key path; quoted segments may contain dots.
fn segments(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            out.push(Seg::Key(q.get(..end)?));
            rest = q.get(end + 1..)?;
        } else if let Some(ix) = rest.strip_prefix('[') {
            let end = ix.find(']')?;
            out.push(Seg::Index(ix.get(..end)?.parse().ok()?));
            rest = ix.get(end + 1..)?;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(Seg::Key(rest.get(..end)?));
            rest = rest.get(end..)?;
        }
    }
    Some(out)
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Value(&'a Value),
    Tables(&'a ArrayOfTables),
}

fn node(item: &Item) -> Option<Node<'_>> {
    match item {
        Item::Table(t) => Some(Node::Table(t)),
        Item::Value(v) => Some(Node::Value(v)),
        Item::ArrayOfTables(a) => Some(Node::Tables(a)),
        Item::None => None,
    }
}

fn step<'a>(n: Node<'a>, seg: &Seg<'_>) -> Option<(Node<'a>, Option<Range<usize>>)> {
    match (n, seg) {
        (Node::Table(t), Seg::Key(k)) => {
            let (key, item) = t.get_key_value(k)?;
            Some((node(item)?, key.span().or_else(|| item.span())))
        }
        (Node::Value(Value::InlineTable(t)), Seg::Key(k)) => {
            let (key, item) = t.get_key_value(k)?;
            Some((node(item)?, key.span().or_else(|| item.span())))
        }
        (Node::Tables(a), Seg::Index(i)) => {
            let t = a.get(*i)?;
            Some((Node::Table(t), t.span()))
        }
        (Node::Value(Value::Array(a)), Seg::Index(i)) => {
            let v = a.get(*i)?;
            Some((Node::Value(v), v.span()))
        }
        _ => None,
    }
}

/// 1-based line of the deepest part of `path` found in `text`.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = ImDocument::parse(text).ok()?;
    let mut n = Node::Table(doc.as_table());
    let mut span = None;
    for seg in segments(path)? {
        let Some((next, s)) = step(n, &seg) else {
            break;
        };
        n = next;
        span = s.or(span);
    }
    let start = span?.start;
    Some(text.get(..start)?.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"home_country = "CN"
[zones.office]
cidrs = ["10.1.0.0/16",
         "10.1.2.3/16"]
[geo.overrides]
"1.2.3.0/24" = "usa"
[[allow.rule]]
reason = "a"
[[allow.rule]]
reason = "b"
expires = "30/06/2027"
"#;

    #[test]
    fn finds_lines() {
        assert_eq!(line_of(TEXT, "home_country"), Some(1));
        assert_eq!(line_of(TEXT, "zones.office"), Some(2));
        assert_eq!(line_of(TEXT, "zones.office.cidrs[1]"), Some(4));
        assert_eq!(line_of(TEXT, "geo.overrides.\"1.2.3.0/24\""), Some(6));
        assert_eq!(line_of(TEXT, "allow.rule[1].expires"), Some(11));
        assert_eq!(line_of(TEXT, "allow.rule[1]"), Some(9));
        // Missing leaf: the deepest part found.
        assert_eq!(line_of(TEXT, "zones.office.country"), Some(2));
        assert_eq!(line_of(TEXT, "dedup"), None);
        assert_eq!(line_of("not toml [", "a"), None);
    }
}
