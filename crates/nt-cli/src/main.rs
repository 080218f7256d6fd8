//! The `nt` binary: a thin `main` that runs a command and maps its error to an exit code
//! (0 success, 2 bad input with a message on stderr, 1 internal error).

mod cli;
mod commands;
mod exit;
mod neural_flags;
mod output;
mod plot;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version print to stdout and succeed; usage errors are bad input.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::BAD_INPUT)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit::code_for(&err);
            if code == exit::BAD_INPUT {
                eprintln!("error: {}", exit::describe(&err));
            } else {
                eprintln!("internal error: {}", exit::describe(&err));
            }
            ExitCode::from(code)
        }
    }
}
