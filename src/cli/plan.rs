//! `rollout plan FILE`

use super::output::out;
use super::{load, Format, PlanArgs};
use crate::plan::view::PlanView;

pub(super) fn run(args: &PlanArgs) -> i32 {
    let (plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let view = PlanView::new(&plan, &source);
    match args.format {
        Format::Text => out(&view.to_string()),
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&view).expect("the plan serialises")
        )),
    }
    super::exit::OK
}
