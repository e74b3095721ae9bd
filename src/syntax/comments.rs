//! Finding comments in source text, for the formatter (the grammar drops them).

/// A `#` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Comment {
    /// Byte offset of `#`.
    pub(super) start: usize,
    /// From `#` to the end of the line, trailing spaces removed.
    pub(super) text: String,
    /// Whether only whitespace stands before it on its line.
    pub(super) own_line: bool,
    /// Whether a blank line follows it before the next code or comment.
    pub(super) blank_after: bool,
}

/// Every comment in `text`. `#` inside a string is not a comment.
pub(super) fn scan(text: &str) -> Vec<Comment> {
    let mut comments = Vec::new();
    let mut line_start = 0;
    for (i, c) in super::lex::outside(text) {
        match c {
            '\n' => line_start = i + 1,
            '#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let after = &text[end..];
                let next_code = after
                    .find(|c: char| !c.is_whitespace())
                    .unwrap_or(after.len());
                comments.push(Comment {
                    start: i,
                    text: text[i..end].trim_end().to_string(),
                    own_line: text[line_start..i].trim().is_empty(),
                    blank_after: after[..next_code].matches('\n').count() >= 2,
                });
            }
            _ => {}
        }
    }
    comments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let found = scan("publish \"a # b\" # real\n# own\n\npromote");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "# real");
        assert!(!found[0].own_line);
        assert_eq!(found[1].text, "# own");
        assert!(found[1].own_line);
        assert!(found[1].blank_after);
    }

    #[test]
    fn escaped_quote_does_not_end_a_string() {
        let found = scan("publish \"say \\\"#\\\"\" # c");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "# c");
    }
}
