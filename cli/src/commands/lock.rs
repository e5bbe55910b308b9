//! `godwit lock`: pins every pack and component as they are now in godwit.lock, and shows
//! what changed.

use super::{count, load};
use crate::config::Settings;
use crate::printer::{GREEN, Printer, YELLOW};
use godwit::lock_file::{Change, PinChange};
use std::process::ExitCode;

/// The verb and colour of one change: what is new was locked, what differs changed.
fn verb(change: &PinChange) -> (&'static str, anstyle::Style) {
    let (added, removed) = match change {
        PinChange::Pack(c) => (matches!(c, Change::Added(_)), matches!(c, Change::Removed(_))),
        PinChange::Component(c) => (matches!(c, Change::Added(_)), matches!(c, Change::Removed(_))),
        _ => (false, false),
    };
    match (added, removed) {
        (true, _) => ("Locked", GREEN),
        (_, true) => ("Removed", YELLOW),
        _ => ("Changed", YELLOW),
    }
}

pub fn lock(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let relock = migrator.relock()?;
    for change in &relock.changes {
        let (verb, color) = verb(change);
        printer.status(verb, color, change);
    }
    let path = relock.path.display();
    if !relock.written {
        printer.status("Finished", GREEN, format!("{path} is up to date"));
        return Ok(ExitCode::SUCCESS);
    }
    let components = count(relock.lock.components.len(), "component", "components");
    let packs = match relock.lock.packs.len() {
        0 => String::new(),
        n => format!("{} and ", count(n, "pack", "packs")),
    };
    printer.status("Finished", GREEN, format!("{path} pins {packs}{components}"));
    Ok(ExitCode::SUCCESS)
}
