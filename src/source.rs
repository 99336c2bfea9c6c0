//! Source files and positions.
//!
//! Spans are byte ranges into one file; line and column are computed only
//! when a diagnostic is rendered (as ruff does), so the loader stays cheap.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Index of a file in a [`Sources`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            file,
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    /// An empty span at the start of `file`, for whole-file problems.
    pub fn file_start(file: FileId) -> Span {
        Span::new(file, 0, 0)
    }
}

/// One loaded source file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user named it (relative paths stay relative, so
    /// diagnostics and generated files do not depend on the checkout path).
    pub path: PathBuf,
    pub text: String,
    /// Where each line starts, found when a position is first rendered:
    /// most files never have a diagnostic, and scanning every file for
    /// its line breaks cost a few percent of loading it.
    line_starts: OnceLock<Vec<usize>>,
    /// The text was dropped to save memory ([`SourceFile::forget_text`]);
    /// [`Sources::reload`] reads it again.
    forgotten: bool,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        SourceFile {
            path,
            text,
            line_starts: OnceLock::new(),
            forgotten: false,
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            // YAML breaks lines at LF, CRLF and a lone CR.
            let bytes = self.text.as_bytes();
            std::iter::once(0)
                .chain(memchr::memchr2_iter(b'\n', b'\r', bytes).filter_map(|i| {
                    let breaks = bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n');
                    breaks.then_some(i + 1)
                }))
                .collect()
        })
    }

    /// Drops the text (a run over thousands of connectors need not hold
    /// every file once it is checked): only the path stays, until
    /// [`Sources::reload`].
    pub fn forget_text(&mut self) {
        self.text = String::new();
        self.line_starts = OnceLock::new();
        self.forgotten = true;
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = line_starts[line];
        let column = self.text[start..floor_char_boundary(&self.text, offset)]
            .chars()
            .count();
        (line + 1, column + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts();
        let Some(&start) = line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every file read during one run, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(u32::try_from(self.files.len() - 1).expect("fewer than 2^32 files"))
    }

    /// Adds every file of `other`, whose [`FileId`]s become `id + base`;
    /// returns `base`.
    pub fn append(&mut self, other: Sources) -> u32 {
        let base = u32::try_from(self.files.len()).expect("fewer than 2^32 files");
        self.files.extend(other.files);
        base
    }

    /// Drops the text of every file (see [`SourceFile::forget_text`]).
    pub fn forget_texts(&mut self) {
        self.files.iter_mut().for_each(SourceFile::forget_text);
    }

    /// Reads the text of file `id` again if it was forgotten, so that a
    /// diagnostic found later (a duplicate id in another connector) can show
    /// its line. A file that cannot be read again stays empty.
    pub fn reload(&mut self, id: FileId) {
        let Some(file) = self.files.get_mut(id.0 as usize) else {
            return;
        };
        if file.forgotten {
            let text = std::fs::read(&file.path)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            *file = SourceFile::new(file.path.clone(), text);
        }
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("a.yaml".into(), "a: 1\nname: 聚水潭 x\n".into());
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(5), (2, 1));
        let x = file.text.find('x').unwrap();
        assert_eq!(file.line_col(x), (2, 11));
        assert_eq!(file.line_text(2), "name: 聚水潭 x");
        assert_eq!(file.line_col(10_000), (3, 1));
    }

    #[test]
    fn lines_break_at_lf_crlf_and_lone_cr() {
        let file = SourceFile::new("a.yaml".into(), "a\r\nb\rc\nd\r".into());
        assert_eq!(file.line_starts(), [0, 3, 5, 7, 9]);
        assert_eq!(file.line_col(5), (3, 1));
        let empty = SourceFile::new("e.yaml".into(), String::new());
        assert_eq!(empty.line_starts(), [0]);
    }
}
