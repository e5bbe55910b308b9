//! `godwit adopt`: take over another tool's history.

use super::{connect, count, load};
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer, YELLOW};
use crate::report::CliReporter;
use godwit::AdoptRequest;
use godwit::source::Format;
use std::process::ExitCode;

pub fn adopt(
    settings: &Settings,
    printer: &mut Printer,
    from: Option<&str>,
    table: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let tool = match from {
        Some(name) => name.parse::<Format>().map_err(|e| {
            Failure::config(format!("--from: {e}"))
                .hint("name the tool whose history table the database holds")
        })?,
        None => settings.format()?,
    };
    let migrator = load(settings, printer)?;
    let mut db = connect(settings)?;
    let mut reporter = CliReporter::new(printer);
    let mut request = AdoptRequest::new(tool);
    request.table = table;
    request.dry_run = dry_run;
    let adoption = migrator.adopt(&mut db, &request, &mut reporter)?;
    let verb = if dry_run { "Would adopt" } else { "Adopted" };
    for label in &adoption.recorded {
        printer.status(verb, GREEN, label);
    }
    for label in &adoption.rerun {
        printer.status(
            verb,
            YELLOW,
            format!("{label} (changed since {tool} ran it: `up` runs it again)"),
        );
    }
    for label in &adoption.missing {
        printer.status(
            verb,
            YELLOW,
            format!("{label} (applied by {tool}, no file: shown as missing)"),
        );
    }
    let recorded = adoption.recorded.len() + adoption.rerun.len() + adoption.missing.len();
    let summary = format!(
        "{} {} from {} in {}{}",
        if dry_run { "would record" } else { "recorded" },
        count(recorded, "applied migration", "applied migrations"),
        adoption.table,
        db.target(),
        match adoption.already {
            0 => String::new(),
            n => format!("; {n} already in godwit's history"),
        }
    );
    printer.status(
        if dry_run { "Dry run" } else { "Finished" },
        if dry_run { CYAN } else { GREEN },
        summary,
    );
    Ok(ExitCode::SUCCESS)
}
