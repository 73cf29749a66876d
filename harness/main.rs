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
            // One line: clap's first line names the value; the rest is usage noise.
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // "the following required arguments were not provided:" lists them on the next
            // lines: keep them on this one.
            let first = if first.ends_with(':') {
                let listed: Vec<&str> = text
                    .lines()
                    .skip_while(|l| !l.ends_with(':'))
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect();
                format!("{first} {}", listed.join(", "))
            } else {
                first.to_string()
            };
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
