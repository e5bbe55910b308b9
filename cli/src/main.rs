//! The `godwit` command: parses the command line, runs one subcommand through the engine,
//! and turns the outcome into output and an exit code (0 success, 1 a migration or a check
//! failed, 2 usage or configuration).

mod batching;
mod cli;
mod commands;
mod config;
mod failure;
mod hints;
mod locks;
mod printer;
mod progress;
mod report;
mod status;

use clap::Parser;
use printer::{Printer, Verbosity};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let mut printer = Printer::new(cli.global.color, verbosity);
    let result = commands::run(&cli, &mut printer);
    let _ = printer.flush();
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let (code, hint) = failure::classify(&error);
            let mut chain = error.chain().map(ToString::to_string);
            let message = chain.next().unwrap_or_default();
            let causes: Vec<String> = chain.collect();
            printer.error(&message, &causes, hint.as_deref());
            ExitCode::from(code)
        }
    }
}

/// Output piped into `head` and closed early is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
