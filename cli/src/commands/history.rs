//! The history: `godwit status` shows it beside the files, `validate` checks it, `repair`
//! settles what blocks `up`, and `baseline` marks an existing schema as migrated.

use super::{connect, count, load, load_and_connect};
use crate::cli::Format;
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer};
use crate::report::CliReporter;
use godwit::{RepairAction, Version};
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn status(
    settings: &Settings,
    printer: &mut Printer,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || load(settings, printer))?;
    let applied = migrator.history(&mut db)?;
    let entries = godwit::status::status(migrator.migrations(), &applied);
    match format {
        Format::Json => {
            let rows = migrator.transforms(&mut db)?;
            let views = super::transforms::views(&rows, &applied);
            crate::status::json(printer, db.target(), &entries, &migrator, &views)?
        }
        Format::Text => {
            crate::status::table(printer, &entries)?;
            crate::status::packs(printer, &migrator)?;
            let rows = migrator.transforms(&mut db)?;
            let views = super::transforms::views(&rows, &applied);
            if !views.is_empty() {
                super::transforms::table(printer, &views)?;
            }
            printer.status(
                "Status",
                CYAN,
                format!("{}: {}", db.target(), crate::status::summary(&entries)),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn validate(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || {
        let migrator = load(settings, printer)?;
        migrator.check_pins()?;
        Ok(migrator)
    })?;
    let problems = migrator.validate(&mut db)?;
    if problems.is_empty() {
        let n = migrator.migrations().len();
        printer.status("Validated", GREEN, format!("{n} migration files against {}", db.target()));
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        printer.data(problem)?;
    }
    let found = count(problems.len(), "problem", "problems");
    Err(Failure::check(format!("validation found {found} in {}", db.target()))
        .hint("restore edited or missing files, or run `godwit repair` to accept them; out-of-order migrations need `godwit up --allow-out-of-order`")
        .into())
}

fn describe(action: &RepairAction) -> (&'static str, String) {
    match action {
        RepairAction::AcceptChecksum { label, from, to, .. } => {
            ("Accept", format!("edited {label} (checksum {} becomes {})", from.short(), to.short()))
        }
        RepairAction::ClearFailed { label, .. } => {
            ("Clear", format!("failed {label} (`godwit up` runs it again)"))
        }
        RepairAction::ForgetMissing { label, .. } => ("Forget", format!("missing {label}")),
        other => ("Change", format!("{other:?}")),
    }
}

pub fn repair(settings: &Settings, printer: &mut Printer, yes: bool) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let mut db = connect(settings)?;
    let target = db.target().to_owned();
    let mut prompt_printer = printer.duplicate();
    let mut needs_yes = false;
    let mut confirm = |actions: &[RepairAction]| {
        for action in actions {
            let (verb, message) = describe(action);
            prompt_printer.status(verb, CYAN, message);
        }
        if yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            needs_yes = true;
            return false;
        }
        prompt_printer.confirm("Change the history as shown?").unwrap_or(false)
    };
    let mut reporter = CliReporter::new(printer);
    let actions = migrator.repair(&mut db, &mut reporter, &mut confirm)?;
    if needs_yes {
        return Err(Failure::config("repair changes the history and needs confirmation")
            .hint("review the changes above, then run `godwit repair --yes`")
            .into());
    }
    if actions.is_empty() {
        let applied = migrator.history(&mut db)?;
        if migrator.repair_actions(&applied).is_empty() {
            printer.status("Finished", GREEN, format!("nothing to repair in {target}"));
        } else {
            printer.status("Cancelled", CYAN, "the history is unchanged");
        }
    } else {
        let entries = count(actions.len(), "history entry", "history entries");
        printer.status("Repaired", GREEN, format!("{entries} in {target}"));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn baseline(
    settings: &Settings,
    printer: &mut Printer,
    version: Version,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let mut db = connect(settings)?;
    let mut reporter = CliReporter::new(printer);
    let marked = migrator.baseline(&mut db, version, &mut reporter)?;
    for label in &marked {
        printer.status("Baselined", GREEN, label);
    }
    let migrations = count(marked.len(), "migration", "migrations");
    printer.status(
        "Finished",
        GREEN,
        format!(
            "marked {migrations} up to {version} as applied in {}; nothing was run",
            db.target()
        ),
    );
    Ok(ExitCode::SUCCESS)
}
