//! The `segbench` binary: parse, dispatch, map errors to exit codes.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use segbench::cli::{Cli, Command};
use segbench::{commands, BadInput, CheckFailed};

fn main() -> ExitCode {
    // Held to the end: removes a scratch directory this process is left to remove.
    let _watch = segbench::fleet::child::follow_parent();
    // Values are recorded in results and reports as text: refuse what is not UTF-8 up front.
    if let Some((i, arg)) = std::env::args_os()
        .enumerate()
        .skip(1)
        .find(|(_, a)| a.to_str().is_none())
    {
        eprintln!(
            "segbench: argument {i} ({}) is not valid UTF-8; give names, paths and values in UTF-8",
            arg.to_string_lossy()
        );
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(2);
            }
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let first = segbench::parse::clap_error_line(&e);
            eprintln!("segbench: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(a) => commands::run::run(a),
        Command::Write(a) => commands::write::run(a),
        Command::Read(a) => commands::read::run(a),
        Command::Replicate(a) => commands::replicate::run(a),
        Command::Mixed(a) => commands::mixed::run(a),
        Command::Sink(a) => commands::sink::run(a),
        Command::Probe(a) => commands::probe::run(a),
        Command::Clean(a) => commands::clean::run(a),
        Command::Plan(a) => commands::plan::run(a),
        Command::Compare(a) => commands::compare::run(a),
        Command::Fit(a) => commands::fit::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Fleet(a) => commands::fleet::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Some(b) = e.downcast_ref::<BadInput>() {
                eprintln!("segbench: {b}");
                ExitCode::from(2)
            } else if let Some(c) = e.downcast_ref::<CheckFailed>() {
                eprintln!("segbench: {c}");
                ExitCode::from(1)
            } else {
                eprintln!("segbench: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}
