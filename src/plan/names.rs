//! The names AWS accepts for a function, an alias and a region, checked before any of them reaches
//! a request, an alarm name, an SSM parameter or a state machine.
//!
//! From the Lambda API reference: a function's name is 1 to 64 of `[a-zA-Z0-9-_]` (an ARN or a
//! qualified name also reaches the API, but the CloudWatch dimensions, the lease and every name
//! derived from the function need the bare name); an alias is 1 to 128 of `[a-zA-Z0-9-_]`, not only
//! digits (that is a version). A region is a host label of the endpoint: words of lowercase
//! letters and a number, joined by single hyphens (`us-east-1`, `eusc-de-east-1`).

/// Longest function name Lambda accepts.
const FUNCTION_MAX: usize = 64;
/// Longest alias name Lambda accepts.
const ALIAS_MAX: usize = 128;
/// Longer than any region AWS has; what is longer is not a region.
const REGION_MAX: usize = 32;

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Why `name` is not a function name Lambda accepts, or `None` when it is one. With `*` or `?`
/// it is a pattern over function names, held to the same characters.
pub fn function(name: &str) -> Option<String> {
    if name.contains(':') {
        return Some(format!(
            "`{name}` is an ARN or a qualified name: write the function's name alone; the account comes from the credentials, the region from `region`, and the alias from `alias`"
        ));
    }
    let pattern = name.contains(['*', '?']);
    if let Some(bad) = name
        .chars()
        .find(|&c| !word_char(c) && !(pattern && (c == '*' || c == '?')))
    {
        return Some(format!(
            "`{name}` has {bad:?}: a function's name is letters, digits, `-` and `_`"
        ));
    }
    if name.is_empty() {
        return Some("a function's name cannot be empty".into());
    }
    (name.chars().count() > FUNCTION_MAX).then(|| {
        format!("`{name}` is longer than the {FUNCTION_MAX} characters Lambda allows for a function's name")
    })
}

/// Why `name` is not an alias name Lambda accepts, or `None` when it is one.
pub fn alias(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an alias's name cannot be empty".into());
    }
    if let Some(bad) = name.chars().find(|&c| !word_char(c)) {
        return Some(format!(
            "`{name}` has {bad:?}: an alias's name is letters, digits, `-` and `_`"
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!(
            "`{name}` is a version number, not an alias: Lambda refuses an alias named only with digits"
        ));
    }
    (name.len() > ALIAS_MAX).then(|| {
        format!(
            "`{name}` is longer than the {ALIAS_MAX} characters Lambda allows for an alias's name"
        )
    })
}

/// Why `name` is not a region's name, or `None` when it could be one: words of lowercase letters
/// joined by single hyphens, then a hyphen and a number (`eu-west-1`, `us-gov-east-1`,
/// `eusc-de-east-1`).
pub fn region(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('-').collect();
    let (number, words) = parts.split_last().expect("split gives one part at least");
    let shaped = name.len() <= REGION_MAX
        && words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit());
    (!shaped).then(|| format!("{name:?} is not a region's name (such as eu-west-1)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_names_pass_and_what_would_break_a_request_or_a_derived_name_does_not() {
        for good in [
            "checkout-api",
            "a",
            "Svc_2",
            &"f".repeat(64),
            "checkout-*",
            "svc-?",
        ] {
            assert_eq!(function(good), None, "{good}");
        }
        for bad in [
            "",
            "has space",
            "../../etc",
            "a/b",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "f:live",
            "naïve",
            "x\ny",
            &"f".repeat(65),
        ] {
            assert!(function(bad).is_some(), "{bad:?}");
        }
        for good in ["live", "prod_2", "v1", &"a".repeat(128)] {
            assert_eq!(alias(good), None, "{good}");
        }
        for bad in ["", "42", "$LATEST", "li ve", "a*", &"a".repeat(129)] {
            assert!(alias(bad).is_some(), "{bad:?}");
        }
        for good in [
            "us-east-1",
            "eu-central-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "cn-north-1",
        ] {
            assert_eq!(region(good), None, "{good}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "us-east",
            "evil.com/x",
            "us--east-1",
            "-us-east-1",
            "us east 1",
        ] {
            assert!(region(bad).is_some(), "{bad:?}");
        }
    }
}
