//! Streaming `.jsonl` and `.jsonl.gz` files, one record per line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::decode::decode_line;
use crate::error::{Error, Result};
use crate::issue::{Issue, IssueKind};
use crate::record::Example;

/// Read buffer size: large enough that a record rarely straddles two reads.
const BUF_BYTES: usize = 1 << 18;

/// A streaming reader of JSONL records.
///
/// Yields `(line, Ok(example))` for each decodable record and
/// `(line, Err(issue))` for each line that is not one; an I/O failure ends
/// the stream with [`Error::Read`]. Blank lines are skipped and counted.
/// Gzip input is recognised by its magic bytes, whatever the file is called.
pub struct JsonlReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    line: usize,
    blank_lines: usize,
    bytes: u64,
    buf: Vec<u8>,
    failed: bool,
}

impl std::fmt::Debug for JsonlReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// Opens `path` for streaming (plain or gzip).
pub fn open(path: &Path) -> Result<JsonlReader> {
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    JsonlReader::from_reader(path, file).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

impl JsonlReader {
    /// Reads records from any byte source; `path` only labels issues.
    pub fn from_reader(
        path: impl Into<PathBuf>,
        input: impl Read + Send + 'static,
    ) -> io::Result<Self> {
        let mut raw = BufReader::with_capacity(BUF_BYTES, input);
        let is_gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn BufRead + Send> = if is_gzip {
            Box::new(BufReader::with_capacity(
                BUF_BYTES,
                MultiGzDecoder::new(raw),
            ))
        } else {
            Box::new(raw)
        };
        Ok(Self {
            path: path.into(),
            input,
            line: 0,
            blank_lines: 0,
            bytes: 0,
            buf: Vec::with_capacity(4096),
            failed: false,
        })
    }

    /// The file the records come from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines read so far, blank ones included.
    pub fn lines_read(&self) -> usize {
        self.line
    }

    /// Blank lines skipped so far.
    pub fn blank_lines(&self) -> usize {
        self.blank_lines
    }

    /// Bytes of (decompressed) JSONL read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

impl Iterator for JsonlReader {
    type Item = Result<(usize, Result<Example, Issue>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(n) => self.bytes += n as u64,
                Err(source) => {
                    self.failed = true;
                    return Some(Err(Error::Read {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            self.line += 1;
            let line = self.line;
            let mut bytes = trim_ascii_end(&self.buf);
            if line == 1 {
                // A UTF-8 byte order mark (Windows editors write one) is
                // not part of the first record.
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                self.blank_lines += 1;
                continue;
            }
            let record = match std::str::from_utf8(bytes) {
                Ok(text) => decode_line(text).map_err(|d| d.at(&self.path, line)),
                Err(e) => Err(Issue::new(
                    &self.path,
                    line,
                    None,
                    IssueKind::NotUtf8,
                    format!(
                        "not UTF-8 text (invalid byte at column {})",
                        e.valid_up_to() + 1
                    ),
                )),
            };
            return Some(Ok((line, record)));
        }
    }
}

fn trim_ascii_end(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn read_all(bytes: Vec<u8>) -> Vec<(usize, std::result::Result<Example, Issue>)> {
        JsonlReader::from_reader("mem.jsonl", io::Cursor::new(bytes))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn reads_lines_with_numbers_and_skips_blanks() {
        let text =
            "{\"prompt\":\"a\",\"answer\":\"\"}\r\n\n  \n{\"prompt\":\"b\",\"answer\":\"f()\"}";
        let records = read_all(text.as_bytes().to_vec());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].0, 1);
        assert_eq!(records[1].0, 4);
        assert_eq!(records[1].1.as_ref().unwrap().prompt, "b");
    }

    #[test]
    fn reads_gzip_by_magic_bytes() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"prompt\":\"a\",\"answer\":\"\"}\n")
            .unwrap();
        let records = read_all(gz.finish().unwrap());
        assert_eq!(records.len(), 1);
        assert!(records[0].1.is_ok());
    }

    #[test]
    fn a_byte_order_mark_before_the_first_record_is_skipped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(b"{\"prompt\":\"a\",\"answer\":\"\"}\n");
        bytes.extend_from_slice(b"{\"prompt\":\"b\",\"answer\":\"\"}\n");
        let records = read_all(bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1.as_ref().unwrap().prompt, "a");
        // Only at the very start: later it is a character of a broken line.
        let records = read_all(
            b"{\"prompt\":\"a\",\"answer\":\"\"}\n\xEF\xBB\xBF{\"prompt\":\"b\",\"answer\":\"\"}\n"
                .to_vec(),
        );
        assert!(records[1].1.is_err());
    }

    #[test]
    fn bad_utf8_is_an_issue_with_its_line() {
        let records =
            read_all(b"{\"prompt\":\"a\",\"answer\":\"\"}\n{\"prompt\":\"\xff\"}\n".to_vec());
        let issue = records[1].1.as_ref().unwrap_err();
        assert_eq!((issue.line, issue.kind), (2, IssueKind::NotUtf8));
    }
}
