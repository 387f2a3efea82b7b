//! `truce`: the command line. Glue only: every decision lives in the library crates.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Usage or input error (FORMATS section 7).
            ExitCode::from(2)
        }
    }
}
