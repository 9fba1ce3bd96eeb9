//! An open document: its text, kept current by incremental edits, and LSP positions ⇄ bytes.
//!
//! LSP positions count UTF-16 code units within a line (the encoding every client supports);
//! spans are byte offsets. [`Document::position`] and [`Document::offset`] convert, clamping
//! out-of-range positions the way the specification asks (to the end of the line or file).

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The text of an open file and where its lines start.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
    line_starts: Vec<usize>,
}

impl Document {
    pub fn new(text: String, version: i32) -> Document {
        let line_starts = line_starts(&text);
        Document {
            text,
            version,
            line_starts,
        }
    }

    /// Applies one change from `textDocument/didChange` (a ranged edit or the whole text).
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent) {
        match change.range {
            Some(range) => {
                let start = self.offset(range.start);
                let end = self.offset(range.end).max(start);
                self.text.replace_range(start..end, &change.text);
            }
            None => self.text = change.text.clone(),
        }
        self.line_starts = line_starts(&self.text);
    }

    /// The byte offset of an LSP position.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.line_starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(position.line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        let line = &self.text[start..end];
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            if units >= position.character || c == '\n' || c == '\r' {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end
    }

    /// The LSP position of a byte offset (clamped to the text, moved back to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let character = self.text[start..offset].encode_utf16().count() as u32;
        Position::new(line as u32, character)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let doc = Document::new("a: é😀x\nb\n".into(), 0);
        // `x` is after `a: ` (3), `é` (1 unit) and `😀` (2 units).
        let x = doc.text.find('x').unwrap();
        assert_eq!(doc.position(x), Position::new(0, 6));
        assert_eq!(doc.offset(Position::new(0, 6)), x);
        assert_eq!(doc.offset(Position::new(1, 0)), doc.text.find('b').unwrap());
        // Past the end of a line: the line's end; past the last line: the end of the text.
        assert_eq!(doc.offset(Position::new(0, 99)), x + 1);
        assert_eq!(doc.offset(Position::new(9, 0)), doc.text.len());
    }

    #[test]
    fn edits_apply_in_order() {
        let mut doc = Document::new("steps:\n  - sleep: 1s\n".into(), 0);
        let edit = |line, from, to, text: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(line, from),
                Position::new(line, to),
            )),
            range_length: None,
            text: text.into(),
        };
        doc.apply(&edit(1, 11, 13, "5m"));
        doc.apply(&edit(2, 0, 0, "  - sleep: 2s\n"));
        assert_eq!(doc.text, "steps:\n  - sleep: 5m\n  - sleep: 2s\n");
        assert_eq!(doc.position(doc.text.len()), Position::new(3, 0));
    }
}
