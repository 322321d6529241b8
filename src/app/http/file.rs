//! Which HTTP bodies and multipart parts are files (for `begin_file`).
//!
//! A body is a file when its `Content-Disposition` names a file or says
//! `attachment`, or when its media type is a document or archive type
//! (PDF, ZIP, Office, gzip, tar, `application/octet-stream`; the worker
//! reports a generic octet-stream body only when its magic is a known
//! type). A multipart part is a file when it has a non-empty `filename`.
//! File bytes are passed on undecoded by charset, so hashes match the file.

use super::parser::header_param;
use crate::app::{FileMeta, HttpPart};

/// Media types whose bodies are files.
const DOCUMENT_TYPES: [&[u8]; 13] = [
    b"application/pdf",
    b"application/zip",
    b"application/x-zip-compressed",
    b"application/gzip",
    b"application/x-gzip",
    b"application/x-tar",
    b"application/msword",
    b"application/vnd.ms-excel",
    b"application/vnd.ms-powerpoint",
    b"application/octet-stream",
    b"application/x-7z-compressed",
    b"application/vnd.rar",
    b"text/csv",
];

/// The file a whole body is, if any: `mt` is the lowercased media type,
/// `ct` the `Content-Type` value, `disposition` the
/// `Content-Disposition` value, `length` the body's size once de-framed and
/// decoded, when known.
pub fn body_file(
    mt: &[u8],
    ct: &[u8],
    disposition: &[u8],
    length: Option<u64>,
) -> Option<FileMeta> {
    let name = filename(disposition);
    let attachment = disposition
        .trim_ascii_start()
        .get(..10)
        .is_some_and(|d| d.eq_ignore_ascii_case(b"attachment"));
    let document = DOCUMENT_TYPES.contains(&mt)
        || mt.starts_with(b"application/vnd.openxmlformats-officedocument.")
        || mt.starts_with(b"application/vnd.oasis.opendocument.");
    if name.is_none() && !attachment && !document {
        return None;
    }
    Some(FileMeta {
        name,
        content_type: (!ct.is_empty()).then(|| String::from_utf8_lossy(ct).into_owned()),
        declared_size: length,
    })
}

/// The file a multipart part is, if any.
pub fn part_file(part: &HttpPart) -> Option<FileMeta> {
    let name = part.filename.as_deref().filter(|f| !f.is_empty())?;
    Some(FileMeta {
        name: Some(decode_ext_value(name.as_bytes())),
        content_type: part.content_type.clone(),
        declared_size: None,
    })
}

/// `filename*` (RFC 6266/5987, preferred) or `filename` of a
/// `Content-Disposition` value.
fn filename(disposition: &[u8]) -> Option<String> {
    let v = header_param(disposition, b"filename*")
        .or_else(|| header_param(disposition, b"filename"))?;
    (!v.is_empty()).then(|| decode_ext_value(v))
}

/// Decodes an RFC 5987 `charset'lang'percent-encoded` value (UTF-8 or
/// GBK); any other value is taken as it is (lossy UTF-8).
fn decode_ext_value(v: &[u8]) -> String {
    let mut it = v.splitn(3, |&b| b == b'\'');
    let (Some(cs), Some(_lang), Some(enc)) = (it.next(), it.next(), it.next()) else {
        return String::from_utf8_lossy(v).into_owned();
    };
    let mut bytes = Vec::with_capacity(enc.len());
    let mut i = 0;
    while let Some(&b) = enc.get(i) {
        let hex = enc
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(x)) => {
                bytes.push(x);
                i += 3;
            }
            _ => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    if cs.eq_ignore_ascii_case(b"gbk")
        || cs.eq_ignore_ascii_case(b"gb2312")
        || cs.eq_ignore_ascii_case(b"gb18030")
    {
        encoding_rs::GB18030.decode(&bytes).0.into_owned()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_files() {
        let f = body_file(b"application/pdf", b"application/pdf", b"", Some(10)).unwrap();
        assert_eq!((f.name, f.declared_size), (None, Some(10)));
        let f = body_file(
            b"text/plain",
            b"text/plain",
            b"attachment; filename=\"a b.txt\"",
            None,
        )
        .unwrap();
        assert_eq!(f.name.as_deref(), Some("a b.txt"));
        let f = body_file(
            b"",
            b"",
            b"inline; filename*=UTF-8''%E5%90%8D%E5%8D%95.xlsx",
            None,
        )
        .unwrap();
        assert_eq!(f.name.as_deref(), Some("名单.xlsx"));
        let f = body_file(
            b"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"x",
            b"",
            None,
        );
        assert!(f.is_some());
        assert!(body_file(b"text/html", b"text/html", b"", None).is_none());
        assert!(body_file(b"application/json", b"application/json", b"inline", None).is_none());
    }

    #[test]
    fn parts_with_file_names() {
        let mut p = HttpPart {
            filename: Some(String::new()),
            ..HttpPart::default()
        };
        assert!(part_file(&p).is_none());
        p.filename = Some("gbk'zh'%C3%FB%B5%A5.csv".into());
        assert_eq!(part_file(&p).unwrap().name.as_deref(), Some("名单.csv"));
    }
}
