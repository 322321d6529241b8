//! File typing by magic bytes (never by name or declared type).

/// What a file is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// PDF (`%PDF-`).
    Pdf,
    /// ZIP archive that is not an Office document.
    Zip,
    /// Word OOXML (zip with `word/`).
    Docx,
    /// Excel OOXML (zip with `xl/`).
    Xlsx,
    /// PowerPoint OOXML (zip with `ppt/`).
    Pptx,
    /// gzip stream.
    Gzip,
    /// POSIX/GNU tar archive.
    Tar,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// OLE2 compound file (legacy Office) of no known flavour.
    Ole,
    /// Word 97-2003 document (OLE with a `WordDocument` stream).
    Doc,
    /// Excel 97-2003 workbook (OLE with a `Workbook` stream).
    Xls,
    /// PowerPoint 97-2003 (OLE with a `PowerPoint Document` stream).
    Ppt,
    /// JSON text.
    Json,
    /// XML or HTML text.
    Xml,
    /// Comma-separated values.
    Csv,
    /// Other text.
    Text,
    /// Anything else.
    Binary,
}

impl FileType {
    /// Name written in events (`magic`) and in extracted-content locations.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Zip => "zip",
            FileType::Docx => "docx",
            FileType::Xlsx => "xlsx",
            FileType::Pptx => "pptx",
            FileType::Gzip => "gzip",
            FileType::Tar => "tar",
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Gif => "gif",
            FileType::Ole => "ole",
            FileType::Doc => "doc",
            FileType::Xls => "xls",
            FileType::Ppt => "ppt",
            FileType::Json => "json",
            FileType::Xml => "xml",
            FileType::Csv => "csv",
            FileType::Text => "text",
            FileType::Binary => "binary",
        }
    }

    /// Whether contents are only readable after extraction (the whole
    /// file is buffered, within bounds, and unpacked at its end).
    pub fn needs_extraction(self) -> bool {
        matches!(
            self,
            FileType::Pdf
                | FileType::Zip
                | FileType::Docx
                | FileType::Xlsx
                | FileType::Pptx
                | FileType::Gzip
                | FileType::Tar
                | FileType::Ole
                | FileType::Doc
                | FileType::Xls
                | FileType::Ppt
        )
    }

    /// Whether the type is a ZIP container.
    pub fn is_zip(self) -> bool {
        matches!(
            self,
            FileType::Zip | FileType::Docx | FileType::Xlsx | FileType::Pptx
        )
    }

    /// Whether the bytes are text (scanned as they are).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FileType::Json | FileType::Xml | FileType::Csv | FileType::Text
        )
    }
}

/// Bytes [`sniff`] wants to see when the file is longer (tar's magic sits
/// at offset 257; OOXML entry names follow the first local headers).
pub const SNIFF_LEN: usize = 1024;

/// Types `head`, the first bytes of a file (up to [`SNIFF_LEN`], or the
/// whole file when shorter).
pub fn sniff(head: &[u8]) -> FileType {
    const MAGICS: [(&[u8], FileType); 8] = [
        (b"%PDF-", FileType::Pdf),
        (b"\x1f\x8b", FileType::Gzip),
        (b"\x89PNG\r\n\x1a\n", FileType::Png),
        (b"\xff\xd8\xff", FileType::Jpeg),
        (b"GIF87a", FileType::Gif),
        (b"GIF89a", FileType::Gif),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileType::Ole),
        (b"PK\x05\x06", FileType::Zip),
    ];
    if head.starts_with(b"PK\x03\x04") {
        return zip_flavour(head);
    }
    if let Some((_, t)) = MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return *t;
    }
    if head.get(257..262) == Some(b"ustar") {
        return FileType::Tar;
    }
    text_flavour(head)
}

/// A ZIP's first bytes: OOXML packages name `[Content_Types].xml`,
/// `_rels/` and `word/`|`xl/`|`ppt/` entries in their first local headers.
fn zip_flavour(head: &[u8]) -> FileType {
    let has = |n: &[u8]| memchr::memmem::find(head, n).is_some();
    if has(b"word/") {
        FileType::Docx
    } else if has(b"xl/") {
        FileType::Xlsx
    } else if has(b"ppt/") {
        FileType::Pptx
    } else {
        FileType::Zip
    }
}

/// Text, JSON, XML/HTML or CSV when `head` looks like text (UTF-8, GBK or
/// another ASCII-compatible charset: no NULs, few control bytes).
fn text_flavour(head: &[u8]) -> FileType {
    if head.is_empty() {
        return FileType::Binary;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    if head.contains(&0) || controls * 100 > head.len() {
        return FileType::Binary;
    }
    let t = head.trim_ascii_start();
    let t = t.strip_prefix(b"\xef\xbb\xbf").unwrap_or(t);
    match t.first() {
        Some(b'{') | Some(b'[') => FileType::Json,
        Some(b'<') => FileType::Xml,
        _ if looks_like_csv(t) => FileType::Csv,
        _ => FileType::Text,
    }
}

/// At least two complete lines with the same, non-zero number of commas.
fn looks_like_csv(t: &[u8]) -> bool {
    let mut lines = t.split(|&b| b == b'\n');
    let commas = |l: &[u8]| l.iter().filter(|&&b| b == b',').count();
    match (lines.next(), lines.next()) {
        (Some(a), Some(b)) => {
            let n = commas(a);
            n > 0 && n == commas(b)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_magic() {
        assert_eq!(sniff(b"%PDF-1.4\n%..."), FileType::Pdf);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), FileType::Gzip);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nIHDR"), FileType::Png);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0JFIF"), FileType::Jpeg);
        assert_eq!(sniff(b"GIF89a...."), FileType::Gif);
        assert_eq!(
            sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"),
            FileType::Ole
        );
        assert_eq!(
            sniff(b"PK\x03\x04\x14\0\0\0\x08\0....[Content_Types].xml"),
            FileType::Zip
        );
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), FileType::Docx);
        assert_eq!(sniff(b"PK\x03\x04....xl/workbook.xml"), FileType::Xlsx);
        assert_eq!(
            sniff(b"PK\x03\x04....ppt/slides/slide1.xml"),
            FileType::Pptx
        );
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"a.txt");
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), FileType::Tar);
    }

    #[test]
    fn types_text_flavours() {
        assert_eq!(sniff(b"  {\"a\":1}"), FileType::Json);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><a/>"), FileType::Xml);
        assert_eq!(sniff(b"name,phone\nli,13800138000\n"), FileType::Csv);
        assert_eq!(sniff("姓名 张三\n".as_bytes()), FileType::Text);
        assert_eq!(sniff(b"\x00\x01\x02\x03"), FileType::Binary);
        assert_eq!(sniff(b""), FileType::Binary);
        assert!(FileType::Docx.needs_extraction() && FileType::Docx.is_zip());
        assert!(!FileType::Csv.needs_extraction() && FileType::Csv.is_text());
    }
}
