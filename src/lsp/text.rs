//! Places in a text as the protocol counts them (lines and UTF-16 columns), and the word at a
//! place.

use crate::span::Span;

/// A place in a text: 0-based line and UTF-16 column, as the protocol counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based line.
    pub line: u32,
    /// 0-based column in UTF-16 code units.
    pub character: u32,
}

/// A range of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Where it starts.
    pub start: Position,
    /// Where it ends (exclusive).
    pub end: Position,
}

/// The position of byte `offset` of `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let offset = floor_char(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = text[start..offset].encode_utf16().count() as u32;
    Position { line, character }
}

/// The byte offset of `at` in `text` (clamped to the text).
pub fn offset(text: &str, at: Position) -> usize {
    let mut start = 0;
    for _ in 0..at.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0;
    for (i, c) in text[start..end].char_indices() {
        if units >= at.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    end
}

/// `offset`, or the start of the character it falls inside.
pub(super) fn floor_char(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The range of `span` in `text`.
pub fn range(text: &str, span: Span) -> Range {
    Range {
        start: position(text, span.start),
        end: position(text, span.end.max(span.start)),
    }
}

/// The word (letters, digits, `_`, `.` of a percentile) around byte `at`, and where it starts.
pub(super) fn word_at(text: &str, at: usize) -> Option<(usize, &str)> {
    let at = floor_char(text, at.min(text.len()));
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '%';
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| at + i);
    (start < end).then(|| (start, &text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_and_round_trip() {
        let text = "# café ☕ 𝄞\npublish\n";
        let at = text.find("publish").unwrap();
        assert_eq!(
            position(text, at),
            Position {
                line: 1,
                character: 0
            }
        );
        let clef = text.find('𝄞').unwrap();
        assert_eq!(position(text, clef).character, 9, "☕ is one unit, 𝄞 two");
        assert_eq!(offset(text, position(text, clef)), clef);
        assert_eq!(
            offset(
                text,
                Position {
                    line: 9,
                    character: 0
                }
            ),
            text.len()
        );
    }
}
