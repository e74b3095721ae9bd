//! One call to the cloud as data: what the simulated world logs, and what every layer
//! ([`super::layer`]) decides about: pacing, retrying, the test's faults. `Display` is the line
//! a person reads in a call log; [`Named`] is how a retry names the call.

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use serde::{Serialize, Serializer};

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
    /// `ListVersionsByFunction`.
    ListVersions {
        /// The function.
        function: String,
        /// The page asked for: `None` for the first.
        marker: Option<String>,
    },
    /// `ListAliases`.
    ListAliases {
        /// The function.
        function: String,
        /// The page asked for: `None` for the first.
        marker: Option<String>,
    },
    /// `ListProvisionedConcurrencyConfigs`.
    ListProvisioned {
        /// The function.
        function: String,
        /// The page asked for: `None` for the first.
        marker: Option<String>,
    },
    /// `ListEventSourceMappings` of a function.
    ListMappings {
        /// The function.
        function: String,
        /// The page asked for: `None` for the first.
        marker: Option<String>,
    },
    /// `DeleteFunction` of one version.
    DeleteVersion {
        /// The function.
        function: String,
        /// The version.
        version: String,
    },
    /// `GetMetricData`.
    GetMetricData {
        /// The statistics asked for.
        queries: Rc<[MetricQuery]>,
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
    /// `DescribeAlarms` of the metric alarms named with a prefix, then `DeleteAlarms` of them.
    DeleteAlarms {
        /// What their names begin with.
        prefix: String,
    },
    /// SSM `GetParameter`.
    GetParameter {
        /// The parameter.
        name: String,
    },
    /// Step Functions `SendTaskSuccess` to the execution waiting at a gate, then SSM
    /// `DeleteParameter` of the parameter that held its task token.
    ReleaseGate {
        /// The parameter.
        name: String,
    },
    /// Step Functions `DescribeExecution`.
    DescribeExecution {
        /// The execution's ARN.
        arn: String,
    },
    /// Step Functions `StopExecution`.
    StopExecution {
        /// The execution's ARN.
        arn: String,
        /// Why.
        cause: String,
    },
    /// Step Functions `CreateStateMachine`, or `UpdateStateMachine` of the one of that name,
    /// publishing a version (and deleting the oldest).
    PutStateMachine {
        /// The state machine's name.
        name: String,
    },
    /// Step Functions `StartExecution`.
    StartExecution {
        /// The state machine or version.
        machine: String,
        /// The execution's name.
        name: String,
    },
    /// Step Functions `GetExecutionHistory`, newest first, down to an event already seen.
    GetExecutionHistory {
        /// The execution's ARN.
        arn: String,
        /// The last event seen.
        after: i64,
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
                | Call::DeleteVersion { .. }
                | Call::DeleteAlarms { .. }
                | Call::ReleaseGate { .. }
                | Call::StopExecution { .. }
                | Call::PutStateMachine { .. }
                | Call::StartExecution { .. }
        )
    }
}

/// ` page MARKER` after the first page.
fn page(marker: &Option<String>) -> String {
    marker
        .as_deref()
        .map(|m| format!(" page {m}"))
        .unwrap_or_default()
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
            Call::ListVersions { function, marker } => {
                write!(f, "ListVersionsByFunction {function}{}", page(marker))
            }
            Call::ListAliases { function, marker } => {
                write!(f, "ListAliases {function}{}", page(marker))
            }
            Call::ListProvisioned { function, marker } => write!(
                f,
                "ListProvisionedConcurrencyConfigs {function}{}",
                page(marker)
            ),
            Call::ListMappings { function, marker } => {
                write!(f, "ListEventSourceMappings {function}{}", page(marker))
            }
            Call::DeleteVersion { function, version } => {
                write!(f, "DeleteFunction {function}:{version}")
            }
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
            Call::DeleteAlarms { prefix } => write!(f, "DeleteAlarms {prefix}*"),
            Call::GetParameter { name } => write!(f, "GetParameter {name}"),
            Call::ReleaseGate { name } => write!(f, "SendTaskSuccess {name}"),
            Call::DescribeExecution { arn } => write!(f, "DescribeExecution {arn}"),
            Call::StopExecution { arn, cause } => write!(f, "StopExecution {arn} cause={cause:?}"),
            Call::PutStateMachine { name } => write!(f, "CreateStateMachine {name}"),
            Call::StartExecution { machine, name } => {
                write!(f, "StartExecution {name} of {machine}")
            }
            Call::GetExecutionHistory { arn, after } => {
                write!(f, "GetExecutionHistory {arn} after {after}")
            }
        }
    }
}

/// A call as a retry names it to a person: the service, the operation and what it is about,
/// such as `Lambda GetAlias f:live`. Serialized as that text.
#[derive(Debug, Clone, PartialEq)]
pub struct Named(pub Call);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Call::GetAlias { function, alias } => write!(f, "Lambda GetAlias {function}:{alias}"),
            Call::UpdateAlias {
                function, alias, ..
            } => write!(f, "Lambda UpdateAlias {function}:{alias}"),
            Call::PublishVersion { function, .. } => write!(f, "Lambda PublishVersion {function}"),
            Call::GetFunction { function, .. } => {
                write!(f, "Lambda GetFunctionConfiguration {function}")
            }
            Call::GetProvisionedConcurrency { function, alias } => write!(
                f,
                "Lambda GetProvisionedConcurrencyConfig {function}:{alias}"
            ),
            Call::GetEventInvokeConfig { function, alias } => {
                write!(f, "Lambda GetFunctionEventInvokeConfig {function}:{alias}")
            }
            Call::UpdateFunctionCode { function } => {
                write!(f, "Lambda UpdateFunctionCode {function}")
            }
            Call::Invoke {
                function,
                qualifier,
            } => write!(f, "Lambda Invoke {function}:{qualifier}"),
            Call::ListFunctions { .. } => f.write_str("Lambda ListFunctions"),
            Call::ListTags { arn } => write!(f, "Lambda ListTags {arn}"),
            Call::ListVersions { function, .. } => {
                write!(f, "Lambda ListVersionsByFunction {function}")
            }
            Call::ListAliases { function, .. } => write!(f, "Lambda ListAliases {function}"),
            Call::ListProvisioned { function, .. } => {
                write!(f, "Lambda ListProvisionedConcurrencyConfigs {function}")
            }
            Call::ListMappings { function, .. } => {
                write!(f, "Lambda ListEventSourceMappings {function}")
            }
            Call::DeleteVersion { function, version } => {
                write!(f, "Lambda DeleteFunction {function}:{version}")
            }
            Call::GetMetricData { queries, .. } => {
                write!(f, "CloudWatch GetMetricData ({} queries)", queries.len())
            }
            Call::DescribeAlarms { names, .. } => match names.as_slice() {
                [one] => write!(f, "CloudWatch DescribeAlarms ({one})"),
                _ => write!(f, "CloudWatch DescribeAlarms ({} alarms)", names.len()),
            },
            Call::DeleteAlarms { prefix } => write!(f, "CloudWatch DeleteAlarms {prefix}*"),
            Call::GetParameter { name } => write!(f, "SSM GetParameter {name}"),
            Call::ReleaseGate { .. } => f.write_str("Step Functions SendTaskSuccess"),
            Call::DescribeExecution { arn } => {
                write!(f, "Step Functions DescribeExecution {arn}")
            }
            Call::StopExecution { arn, .. } => write!(f, "Step Functions StopExecution {arn}"),
            Call::PutStateMachine { name } => {
                write!(f, "Step Functions CreateStateMachine {name}")
            }
            Call::StartExecution { name, .. } => write!(f, "Step Functions StartExecution {name}"),
            Call::GetExecutionHistory { arn, .. } => {
                write!(f, "Step Functions GetExecutionHistory {arn}")
            }
        }
    }
}

impl Serialize for Named {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
