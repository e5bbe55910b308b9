//! Turns engine events into the lines a user sees: finished steps on stderr, dry-run plans
//! and SQL on stdout, statements with `--verbose`.

use crate::printer::{CYAN, GREEN, Printer, YELLOW};
use godwit::{Action, Event, Reporter, Step};
use std::time::Duration;

pub struct CliReporter<'p> {
    pub printer: &'p mut Printer,
    /// A failed write to stdout (a closed pipe), reported once the engine returns.
    pub stdout_error: Option<std::io::Error>,
}

impl<'p> CliReporter<'p> {
    pub fn new(printer: &'p mut Printer) -> CliReporter<'p> {
        CliReporter {
            printer,
            stdout_error: None,
        }
    }

    fn data(&mut self, line: String) {
        if self.stdout_error.is_none()
            && let Err(e) = self.printer.data(line)
        {
            self.stdout_error = Some(e);
        }
    }
}

pub fn verb(action: Action) -> &'static str {
    match action {
        Action::Apply => "Applying",
        Action::Reapply => "Reapplying",
        Action::Revert => "Reverting",
    }
}

/// `12 ms` below a second, `1.52 s` above.
pub fn duration(elapsed: Duration) -> String {
    match elapsed.as_millis() {
        ms if ms < 1000 => format!("{ms} ms"),
        _ => format!("{:.2} s", elapsed.as_secs_f64()),
    }
}

impl Reporter for CliReporter<'_> {
    fn report(&mut self, event: Event<'_>) {
        match event {
            Event::WaitingForLock { target, timeout } => self.printer.status(
                "Waiting",
                YELLOW,
                format!(
                    "for another godwit to release the migration lock on {target} (up to {})",
                    humantime::format_duration(timeout)
                ),
            ),
            Event::StepStarted {
                step,
                dry_run: true,
            } => {
                let Step { action, migration } = step;
                let line = format!(
                    "-- {} {} ({})",
                    verb(*action).to_lowercase(),
                    migration.label,
                    migration.path.display()
                );
                self.data(line);
            }
            Event::StepStarted {
                step,
                dry_run: false,
            } => {
                self.printer
                    .detail(format!("{:>12} {}", "Running", step.migration.label));
            }
            Event::Statement {
                sql, dry_run: true, ..
            } => self.data(format!("{sql};\n")),
            Event::Statement {
                sql,
                line,
                dry_run: false,
            } => {
                self.printer
                    .detail(format!("{:>12} {sql}", format!("line {line}")));
            }
            Event::GuestOutput { label, line } => {
                self.printer.detail(format!("{:>12} {line}", label));
            }
            Event::StepFinished { step, elapsed } => {
                let style = if step.action == Action::Revert {
                    CYAN
                } else {
                    GREEN
                };
                let message = format!("{} ({})", step.migration.label, duration(elapsed));
                self.printer.status(verb(step.action), style, message);
            }
        }
    }
}
