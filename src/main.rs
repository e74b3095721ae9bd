//! The `rollout` executable: everything happens in the library.

fn main() {
    std::process::exit(rollout::cli::main(std::env::args_os()));
}
