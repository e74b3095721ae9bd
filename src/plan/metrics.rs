//! CloudWatch metrics a function publishes per version, named by `metric` headers, and the
//! ones Lambda Insights publishes (cold starts, init duration).

use serde::Serialize;

pub use crate::syntax::ast::Statistic;

/// `metric NAME { namespace …; name …; statistic …; version dimension …; dimension … = … }`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomMetric {
    /// The name health checks use.
    pub name: String,
    /// Its CloudWatch namespace.
    pub namespace: String,
    /// Its CloudWatch metric name.
    pub metric: String,
    /// The statistic of one period.
    pub statistic: Statistic,
    /// The dimension whose value is the version.
    pub version_dimension: String,
    /// Dimensions of fixed value, in the order written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<(String, String)>,
}

impl CustomMetric {
    /// The dimensions of one version's datapoints: the fixed ones, then the version's.
    pub fn dimensions_of(&self, version: &str) -> Vec<(String, String)> {
        let mut all = self.dimensions.clone();
        all.push((self.version_dimension.clone(), version.to_string()));
        all
    }
}

impl std::fmt::Display for CustomMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "metric {} {{ namespace {:?}; name {:?}; statistic {}; version dimension {:?}",
            self.name, self.namespace, self.metric, self.statistic, self.version_dimension
        )?;
        for (k, v) in &self.dimensions {
            write!(f, "; dimension {k:?} = {v:?}")?;
        }
        f.write_str(" }")
    }
}

/// Lambda Insights' namespace: its metrics of a version carry the dimensions `function_name`
/// and `version`.
pub const INSIGHTS_NAMESPACE: &str = "LambdaInsights";

/// Lambda Insights' metric of an execution environment's initialisation, published once per
/// cold start: its sample count counts cold starts.
pub const INIT_DURATION: &str = "init_duration";
