//! One call to Lambda or CloudWatch as data: what the simulated world logs, and what the test
//! fault wrapper decides about. `Display` is the line a person reads in a call log.

use std::collections::BTreeMap;
use std::fmt;

use super::lease::Marker;
use super::{AlarmKind, AliasUpdate, Latest, MetricQuery};

/// A call to the cloud with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `GetAlias`.
    GetAlias {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
    },
    /// `UpdateAlias`.
    UpdateAlias {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// What was written, with the RevisionId passed.
        update: AliasUpdate,
    },
    /// `PublishVersion`.
    PublishVersion {
        /// The function.
        function: String,
        /// The `$LATEST` it must find.
        latest: Latest,
        /// The version's description.
        description: Option<String>,
    },
    /// `GetFunctionConfiguration` of `$LATEST` (no qualifier) or a version.
    GetFunction {
        /// The function.
        function: String,
        /// The version asked about.
        qualifier: Option<String>,
    },
    /// `GetProvisionedConcurrencyConfig` of an alias.
    GetProvisionedConcurrency {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
    },
    /// `GetFunctionEventInvokeConfig` of an alias.
    GetEventInvokeConfig {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
    },
    /// `UpdateFunctionCode` of `$LATEST`.
    UpdateFunctionCode {
        /// The function.
        function: String,
    },
    /// `Invoke` of an alias or a version.
    Invoke {
        /// The function.
        function: String,
        /// The alias or version invoked.
        qualifier: String,
    },
    /// `ListFunctions`.
    ListFunctions {
        /// The page asked for: `None` for the first.
        marker: Option<String>,
    },
    /// `ListTags` of a function.
    ListTags {
        /// The function's ARN.
        arn: String,
    },
    /// `GetMetricData`.
    GetMetricData {
        /// The statistics asked for.
        queries: Vec<MetricQuery>,
        /// The page asked for: `None` for the first.
        next_token: Option<String>,
    },
    /// `DescribeAlarms`.
    DescribeAlarms {
        /// The alarms.
        names: Vec<String>,
        /// Of these kinds.
        kinds: Vec<AlarmKind>,
    },
}

impl Call {
    /// Whether the call changes something in the account.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Call::UpdateAlias { .. }
                | Call::PublishVersion { .. }
                | Call::UpdateFunctionCode { .. }
        )
    }
}

fn routing_text(routing: &BTreeMap<String, f64>) -> String {
    let parts: Vec<String> = routing.iter().map(|(v, w)| format!("{v}: {w}")).collect();
    format!("{{{}}}", parts.join(", "))
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::GetAlias { function, alias } => write!(f, "GetAlias {function}:{alias}"),
            Call::UpdateAlias {
                function,
                alias,
                update,
            } => {
                write!(
                    f,
                    "UpdateAlias {function}:{alias} version={} routing={} revision={}",
                    update.version,
                    routing_text(&update.routing),
                    update.revision_id
                )?;
                match update.description.as_deref().map(Marker::parse) {
                    Some((_, Some(marker))) => {
                        write!(f, " lease=step{}/{}", marker.step, marker.steps)
                    }
                    Some((_, None)) => f.write_str(" lease=released"),
                    None => Ok(()),
                }
            }
            Call::PublishVersion {
                function,
                latest,
                description,
            } => {
                write!(
                    f,
                    "PublishVersion {function} code={} revision={}",
                    latest.code_sha256, latest.revision_id
                )?;
                match description {
                    Some(d) => write!(f, " description={d:?}"),
                    None => Ok(()),
                }
            }
            Call::GetFunction {
                function,
                qualifier: Some(q),
            } => write!(f, "GetFunction {function}:{q}"),
            Call::GetFunction {
                function,
                qualifier: None,
            } => write!(f, "GetFunction {function}"),
            Call::GetProvisionedConcurrency { function, alias } => {
                write!(f, "GetProvisionedConcurrencyConfig {function}:{alias}")
            }
            Call::GetEventInvokeConfig { function, alias } => {
                write!(f, "GetFunctionEventInvokeConfig {function}:{alias}")
            }
            Call::UpdateFunctionCode { function } => write!(f, "UpdateFunctionCode {function}"),
            Call::Invoke {
                function,
                qualifier,
            } => write!(f, "Invoke {function}:{qualifier}"),
            Call::ListFunctions { marker: None } => f.write_str("ListFunctions"),
            Call::ListFunctions {
                marker: Some(marker),
            } => write!(f, "ListFunctions page {marker}"),
            Call::ListTags { arn } => write!(f, "ListTags {arn}"),
            Call::GetMetricData {
                queries,
                next_token: None,
            } => write!(f, "GetMetricData ×{}", queries.len()),
            Call::GetMetricData {
                queries,
                next_token: Some(token),
            } => write!(f, "GetMetricData ×{} page {token}", queries.len()),
            Call::DescribeAlarms { names, kinds } => {
                write!(f, "DescribeAlarms {} {kinds:?}", names.join(","))
            }
        }
    }
}
