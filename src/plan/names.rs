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

/// Why `id` is not an AWS account id, or `None` when it is one: exactly 12 digits.
pub fn account(id: &str) -> Option<String> {
    (id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{id:?} is not an AWS account id: an account id is 12 digits"))
}

/// Longest IAM role name.
const ROLE_NAME_MAX: usize = 64;
/// Longest IAM path, its slashes included.
const ROLE_PATH_MAX: usize = 512;

/// Why `arn` is not the ARN of an IAM role, or `None` when it is one:
/// `arn:PARTITION:iam::ACCOUNT:role/NAME` or `…:role/PATH/NAME`, where the partition is `aws` or
/// `aws-…` (`aws-cn`, `aws-us-gov`), the account 12 digits, the name 1 to 64 of letters, digits and
/// `+=,.@_-`, and a path's parts printable ASCII.
pub fn role(arn: &str) -> Option<String> {
    let wrong = |why: &str| {
        Some(format!(
            "{arn:?} is not an IAM role's ARN: {why} (the ARN reads `arn:aws:iam::123456789012:role/NAME`)"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account_id, resource] = parts.as_slice() else {
        return wrong("it has fewer than six `:`-separated parts");
    };
    if *prefix != "arn" {
        return wrong("it does not start with `arn:`");
    }
    let partition_ok = partition.split('-').enumerate().all(|(i, word)| match i {
        0 => word == "aws",
        _ => !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()),
    });
    if !partition_ok {
        return wrong(&format!(
            "`{partition}` is not a partition (`aws`, `aws-cn`, `aws-us-gov`, …)"
        ));
    }
    if *service != "iam" {
        return wrong(&format!("its service is `{service}`, not `iam`"));
    }
    if !region.is_empty() {
        return wrong("IAM is global: the region part, between `iam:` and the account, is empty");
    }
    if account(account_id).is_some() {
        return wrong(&format!("`{account_id}` is not a 12-digit account id"));
    }
    let Some(path_name) = resource.strip_prefix("role/") else {
        return wrong(&format!("`{resource}` is not `role/NAME`"));
    };
    let (path, name) = match path_name.rsplit_once('/') {
        Some((path, name)) => (Some(path), name),
        None => (None, path_name),
    };
    let name_ok = !name.is_empty()
        && name.chars().count() <= ROLE_NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !name_ok {
        return wrong(&format!(
            "`{name}` is not a role's name (1 to {ROLE_NAME_MAX} letters, digits and `+=,.@_-`)"
        ));
    }
    let path_ok = |path: &str| {
        path.len() < ROLE_PATH_MAX
            && path
                .split('/')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_graphic()))
    };
    match path {
        Some(path) if !path_ok(path) => wrong(&format!("`{path}/` is not a role's path")),
        _ => None,
    }
}

/// The account of a role's ARN that [`role`] accepts.
pub fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// Longest external id STS accepts.
const EXTERNAL_ID_MAX: usize = 1224;

/// Why `id` is not an external id STS accepts, or `None` when it is one: 2 to 1224 of letters,
/// digits and `+=,.@:/_-`.
pub fn external_id(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the external id is empty".into());
    }
    if let Some(bad) = id
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(c)))
    {
        return Some(format!(
            "{id:?} has {bad:?}: an external id is letters, digits and `+=,.@:/_-`"
        ));
    }
    let count = id.chars().count();
    (!(2..=EXTERNAL_ID_MAX).contains(&count)).then(|| {
        format!("{id:?} is not an external id STS accepts: it is 2 to {EXTERNAL_ID_MAX} characters long")
    })
}

/// Shortest and longest SSM document name.
const DOCUMENT_NAME: std::ops::RangeInclusive<usize> = 3..=128;

/// Why `calendar` is not an SSM Change Calendar that `GetCalendarState` takes, or `None` when it
/// is one: a document's name, 3 to 128 of letters, digits, `_`, `-` and `.`, or its ARN,
/// `arn:PARTITION:ssm:REGION:ACCOUNT:document/NAME`.
pub fn calendar(calendar: &str) -> Option<String> {
    let name = match calendar.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region_name, account_id, resource] = parts[..] else {
                return Some(format!(
                    "{calendar:?} is not a calendar's ARN: it is `arn:aws:ssm:REGION:ACCOUNT:document/NAME`"
                ));
            };
            let why = if !(partition == "aws" || partition.starts_with("aws-")) {
                Some(format!("{partition:?} is not an AWS partition"))
            } else if service != "ssm" {
                Some(format!("a calendar is an SSM document, not {service:?}"))
            } else if let Some(problem) = region(region_name).or_else(|| account(account_id)) {
                Some(problem)
            } else if !resource.starts_with("document/") {
                Some("the resource is `document/NAME`".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                return Some(format!("{calendar:?} is not a calendar's ARN: {why}"));
            }
            &resource["document/".len()..]
        }
        None => calendar,
    };
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
    {
        return Some(format!(
            "{name:?} has {bad:?}: a calendar's name is letters, digits, `_`, `-` and `.`"
        ));
    }
    (!DOCUMENT_NAME.contains(&name.len())).then(|| {
        format!(
            "{name:?} is not a calendar's name: SSM takes 3 to {} characters",
            DOCUMENT_NAME.end()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendars_are_ssm_document_names_or_their_arns() {
        for good in [
            "ChangeFreeze",
            "a.b",
            "x_y-z.1",
            &"c".repeat(128),
            "arn:aws:ssm:eu-west-1:123456789012:document/ChangeFreeze",
            "arn:aws-cn:ssm:cn-north-1:123456789012:document/freeze",
        ] {
            assert_eq!(calendar(good), None, "{good}");
        }
        for bad in [
            "ab",
            &"c".repeat(129),
            "change freeze",
            "freeze/2026",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
            "arn:aws:s3:eu-west-1:123456789012:document/x",
            "arn:aws:ssm:eu-west-1:1234:document/ChangeFreeze",
            "arn:aws:ssm:Europe:123456789012:document/ChangeFreeze",
            "arn:aws:ssm:eu-west-1:123456789012:document/a",
            "arn:aws:ssm:eu-west-1",
        ] {
            assert!(calendar(bad).is_some(), "{bad}");
        }
    }

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

    #[test]
    fn accounts_roles_and_external_ids_are_what_sts_accepts() {
        assert_eq!(account("222222222222"), None);
        for bad in [
            "",
            "22222222222",
            "2222222222223",
            "22222222222a",
            "２２２２２２２２２２２２",
        ] {
            assert!(account(bad).is_some(), "{bad:?}");
        }
        for good in [
            "arn:aws:iam::222222222222:role/rollout",
            "arn:aws-cn:iam::222222222222:role/rollout",
            "arn:aws-us-gov:iam::222222222222:role/deploy/rollout",
            "arn:aws:iam::222222222222:role/a/b/R+=,.@_-",
        ] {
            assert_eq!(role(good), None, "{good}");
        }
        assert_eq!(
            role_account("arn:aws:iam::222222222222:role/rollout"),
            Some("222222222222")
        );
        for bad in [
            "",
            "rollout",
            "arn:aws:iam::222222222222:user/rollout",
            "arn:aws:sts::222222222222:role/rollout",
            "arn:aws:iam:us-east-1:222222222222:role/rollout",
            "arn:aws:iam::2222:role/rollout",
            "arn:azure:iam::222222222222:role/rollout",
            "arn:aws-:iam::222222222222:role/rollout",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:iam::222222222222:role//rollout",
            "arn:aws:iam::222222222222:role/has space",
            &format!("arn:aws:iam::222222222222:role/{}", "r".repeat(65)),
        ] {
            assert!(role(bad).is_some(), "{bad:?}");
        }
        for good in ["x-7", "ab", "a+=,.@:/_-b", &"e".repeat(1224)] {
            assert_eq!(external_id(good), None, "{good}");
        }
        for bad in ["", "x", "has space", "naïve", &"e".repeat(1225)] {
            assert!(external_id(bad).is_some(), "{bad:?}");
        }
    }
}
