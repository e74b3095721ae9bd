//! What the executable says about itself: its manual pages and shell completions.

use crate::exit;

/// `rollout completions SHELL`.
pub(super) fn completions(shell: clap_complete::Shell) -> i32 {
    let mut command = <super::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "rollout", &mut std::io::stdout());
    exit::OK
}

/// `rollout man [COMMAND]`: the page rollout(1), or rollout-COMMAND(1), each of the pages the
/// main one lists.
pub(super) fn page(name: Option<&str>) -> i32 {
    let mut command = <super::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    // Gives each command its page's name, rollout-COMMAND.
    command.build();
    let page = match name {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                eprintln!(
                    "error: rollout has no command `{name}`; its pages are rollout-COMMAND(1) for {}",
                    names.join(", ")
                );
                return exit::INVALID;
            }
        },
    };
    let mut roff = Vec::new();
    match clap_mangen::Man::new(page).render(&mut roff) {
        Ok(()) => {
            super::output::out(&String::from_utf8_lossy(&roff));
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot render the manual page: {e}");
            exit::INFRA
        }
    }
}
