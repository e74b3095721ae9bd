//! AWS as the commands reach it: one runtime, the clients paced then retried, a playbook's or
//! the command line's selections resolved to functions, and a failed call's exit code.

/// The AWS clients as every command uses them: paced, then retried.
pub(super) type Cloud<'a> = crate::cloud::retry::Retrying<
    'a,
    crate::cloud::limit::Limited<'a, crate::cloud::aws::Aws, crate::cloud::aws::WallClock>,
    crate::cloud::aws::WallClock,
>;

/// The aliases of one region that a command acts on.
pub(super) struct Aliases {
    /// The functions, selections resolved.
    pub(super) functions: Vec<String>,
    /// The alias.
    pub(super) alias: String,
    /// The region (`ACCOUNT/REGION` in another account) when the command acts in several.
    pub(super) region: Option<String>,
}

impl Aliases {
    /// ` in REGION` when the command acts in several regions.
    pub(super) fn in_region(&self) -> String {
        self.region
            .as_ref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default()
    }
}

/// What `target` names: the functions and selections, the alias, and the places (regions,
/// accounts) to act in, `None` for the configuration's region; or the exit code after saying
/// why not.
fn resolve(
    target: &super::AliasTarget,
) -> Result<(crate::plan::Targets, Vec<Option<crate::plan::waves::Place>>), i32> {
    use crate::plan::waves::Place;
    let Some(file) = &target.playbook else {
        let places = target
            .region
            .iter()
            .map(|region| {
                Some(Place {
                    region: region.clone(),
                    account: None,
                })
            })
            .collect::<Vec<_>>();
        let places = if places.is_empty() {
            vec![None]
        } else {
            places
        };
        return Ok((target.targets(), places));
    };
    let options = super::PlaybookArgs {
        sets: target.sets.clone(),
        functions: target.functions.clone(),
        alias: target.alias.clone(),
        region: None,
        outputs: Vec::new(),
        reads: Vec::new(),
    };
    let (plan, _) = super::load::plan(file, &options)?;
    if plan.targets.alias.is_none()
        || (plan.targets.functions.is_empty() && plan.targets.select.is_empty())
    {
        eprintln!(
            "error: {} names no function or no alias; name them with --function and --alias instead",
            file.display()
        );
        return Err(crate::exit::INVALID);
    }
    let places: Vec<Option<Place>> = if plan.waves.is_some() {
        // --region picks regions of the waves (each in its wave's account).
        let places: Vec<Option<Place>> = super::waves::places(&plan)
            .into_iter()
            .filter(|p| target.region.is_empty() || target.region.contains(&p.region))
            .map(Some)
            .collect();
        if places.is_empty() {
            eprintln!(
                "error: no wave of {} names {}. Nothing was done",
                file.display(),
                target.region.join(", ")
            );
            return Err(crate::exit::INVALID);
        }
        places
    } else {
        let regions: Vec<String> = match &plan.targets.region {
            _ if !target.region.is_empty() => target.region.clone(),
            Some(region) => vec![region.clone()],
            None => Vec::new(),
        };
        let places: Vec<Option<Place>> = regions
            .into_iter()
            .map(|region| {
                Some(Place {
                    region,
                    account: None,
                })
            })
            .collect();
        if places.is_empty() {
            vec![None]
        } else {
            places
        }
    };
    Ok((plan.targets, places))
}

/// Runs `body` with paced, retrying AWS clients and the aliases `target` names or selects, in
/// each of its regions in turn (a playbook's waves: every region and account); its exit code,
/// the worst of them.
pub(super) fn with_aws(
    target: &super::AliasTarget,
    mut body: impl AsyncFnMut(&Cloud<'_>, &Aliases, &crate::cloud::aws::Aws) -> i32,
) -> i32 {
    let (targets, places) = match resolve(target) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let several = places.len() > 1;
    runtime.block_on(async {
        let mut status = crate::exit::OK;
        for place in &places {
            let options = match place {
                Some(place) => super::waves::options(&target.aws, place),
                None => target.aws.options(None),
            };
            let aws = match crate::cloud::aws::Aws::connect(&options).await {
                Ok(aws) => aws,
                Err(error) => {
                    match place.as_ref().filter(|_| several) {
                        Some(place) => {
                            eprintln!("error: {place}: {error}. Nothing was done there")
                        }
                        None => eprintln!("error: {error}. Nothing was done"),
                    }
                    status = status.max(crate::exit::INVALID);
                    continue;
                }
            };
            let clock = crate::cloud::aws::WallClock::new();
            let paced =
                crate::cloud::limit::Limited::new(&aws, &clock, target.aws.calls_per_second);
            let cloud = crate::cloud::retry::Retrying::new(&paced, &clock);
            let code = match select(&cloud, &targets).await {
                Ok(functions) => {
                    let aliases = Aliases {
                        functions,
                        alias: targets.alias.clone().unwrap_or_default(),
                        region: place.as_ref().filter(|_| several).map(|p| p.label()),
                    };
                    body(&cloud, &aliases, &aws).await
                }
                Err(code) => code,
            };
            status = status.max(code);
        }
        status
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
