//! The one lexical rule every scan of raw text shares: what is inside a string or a comment.
//! A string runs from `"` to the next unescaped `"`, a comment from `#` to the end of its line,
//! and a newline ends both (a string cannot span lines).

/// Each character of `text` outside strings and comments, with its byte offset: the `#` that
/// begins a comment and every newline are included, a string's characters and quotes and a
/// comment's text are not.
pub(super) fn outside(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        if c == '\n' {
            in_string = false;
            in_comment = false;
            escaped = false;
            return true;
        }
        if in_comment {
            return false;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            return false;
        }
        match c {
            '"' => {
                in_string = true;
                false
            }
            '#' => {
                in_comment = true;
                true
            }
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_comments_are_left_out_newlines_and_comment_starts_kept() {
        let text = "a \"b # \\\" ;\" ; # c ; \"\nd";
        let kept: String = outside(text).map(|(_, c)| c).collect();
        assert_eq!(kept, "a  ; #\nd");
        let hash = outside(text).find(|&(_, c)| c == '#').unwrap().0;
        assert_eq!(&text[hash..hash + 3], "# c");
    }
}
