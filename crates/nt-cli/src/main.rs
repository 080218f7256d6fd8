//! The `nt` binary: a thin `main` that runs a command and maps its error to an exit code
//! (0 success, 2 bad input with a message on stderr, 1 internal error).

mod cli;
mod commands;
mod ensemble_flags;
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
    // `nt … | head` closes stdout early: println! then panics with EPIPE. That is the reader's
    // choice, not an error: stop quietly, as Unix tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    let outcome = std::panic::catch_unwind(|| commands::run(cli.command));
    let result = match outcome {
        Ok(result) => result,
        Err(payload) if is_broken_pipe(payload.as_ref()) => return ExitCode::SUCCESS,
        Err(payload) => std::panic::resume_unwind(payload),
    };
    match result {
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

/// Whether a panic's payload is the one `println!` raises when stdout is a closed pipe.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    text.contains("failed printing to stdout") && text.contains("Broken pipe")
}
