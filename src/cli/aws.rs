//! AWS as the commands reach it: one runtime, the clients paced then retried, a playbook's or
//! the command line's selections resolved to functions, and a failed call's exit code.

/// The AWS clients as every command uses them: paced, then retried.
pub(super) type Cloud<'a> = crate::cloud::retry::Retrying<
    'a,
    crate::cloud::limit::Limited<'a, crate::cloud::aws::Aws, crate::cloud::aws::WallClock>,
    crate::cloud::aws::WallClock,
>;

/// Runs `body` with paced, retrying AWS clients and the functions `target` names or selects,
/// returning its exit code.
pub(super) fn with_aws(
    target: &super::AliasTarget,
    body: impl AsyncFnOnce(&Cloud<'_>, &[String], &crate::cloud::aws::Aws) -> i32,
) -> i32 {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let aws = match crate::cloud::aws::Aws::connect(&target.aws.options(target.region.clone()))
            .await
        {
            Ok(aws) => aws,
            Err(error) => {
                eprintln!("error: {error}. Nothing was done");
                return crate::exit::INVALID;
            }
        };
        let clock = crate::cloud::aws::WallClock::new();
        let paced = crate::cloud::limit::Limited::new(&aws, &clock, target.aws.calls_per_second);
        let cloud = crate::cloud::retry::Retrying::new(&paced, &clock);
        match select(&cloud, &target.targets()).await {
            Ok(functions) => body(&cloud, &functions, &aws).await,
            Err(code) => code,
        }
    })
}

/// The functions `targets` names, and those its selections find in the region (read-only),
/// each selection said with its count; or the exit code after saying why not.
pub(super) async fn select<L: crate::cloud::LambdaApi>(
    lambda: &L,
    targets: &crate::plan::Targets,
) -> Result<Vec<String>, i32> {
    use crate::cloud::select::{fleet, resolve, SelectError};
    match resolve(lambda, &targets.select).await {
        Ok(found) => {
            for f in &found {
                eprintln!("{} selects {} functions", f.selection, f.functions.len());
            }
            Ok(fleet(&targets.functions, &found))
        }
        Err(SelectError::Cloud(error)) => {
            eprintln!("error: listing the region's functions: {error}. Nothing was done");
            Err(failed(&error))
        }
        Err(none) => {
            eprintln!(
                "error: {none}: check the pattern or tag, and the region (`region` or --region). Nothing was done"
            );
            Err(crate::exit::INVALID)
        }
    }
}

/// A runtime for the commands that talk to AWS, or the exit code after saying why not.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start: {e}");
            crate::exit::INFRA
        })
}

/// The exit code of a failed AWS call: 2 when only a change of set-up can fix it, else 5.
pub(super) fn failed(error: &crate::cloud::CloudError) -> i32 {
    if error.is_setup() {
        crate::exit::INVALID
    } else {
        crate::exit::INFRA
    }
}
