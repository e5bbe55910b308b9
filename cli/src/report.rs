//! Turns engine events into the lines a user sees: finished steps on stderr, dry-run plans
//! and SQL on stdout, statements with `--verbose`.

use crate::printer::{CYAN, GREEN, Printer, RED, Verbosity, YELLOW};
use crate::progress::{Backfill, BatchDone, above, thousands};
use godwit::plan::{Action, Step};
use godwit::{Event, Reporter};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct CliReporter<'p> {
    pub printer: &'p mut Printer,
    /// A failed write to stdout (a closed pipe), reported once the engine returns.
    pub stdout_error: Option<std::io::Error>,
    /// Whether a dry run's plan and SQL go to stdout (not when stdout holds JSON).
    pub plan_on_stdout: bool,
    /// The batched migration that is running.
    backfill: Option<Backfill>,
    /// A batched migration whose transform was just queued for a worker.
    queued: Option<String>,
    /// Progress bars on a terminal; lines when several reporters share it.
    bars: bool,
    /// A spinner while a Python, JavaScript or C migration builds, on a terminal.
    spinner: Option<ProgressBar>,
}

impl<'p> CliReporter<'p> {
    pub fn new(printer: &'p mut Printer) -> CliReporter<'p> {
        let (backfill, queued, spinner) = (None, None, None);
        CliReporter {
            printer,
            stdout_error: None,
            plan_on_stdout: true,
            backfill,
            queued,
            bars: true,
            spinner,
        }
    }

    /// A reporter that prints progress as lines, for one of several running at once.
    pub fn lines(printer: &'p mut Printer) -> CliReporter<'p> {
        CliReporter { bars: false, ..CliReporter::new(printer) }
    }

    /// Clears what is still on the terminal (a build's spinner).
    pub fn finish(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn data(&mut self, line: String) {
        if self.plan_on_stdout
            && self.stdout_error.is_none()
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
        Action::Resume => "Resuming",
        Action::Revert => "Reverting",
        _ => "Running",
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
        if !matches!(event, Event::BuildOutput { .. })
            && let Some(spinner) = self.spinner.take()
        {
            spinner.finish_and_clear();
        }
        match event {
            Event::Building { dir, language } => {
                let name = dir.file_name().unwrap_or(dir.as_os_str()).to_string_lossy();
                self.printer.status("Building", CYAN, format!("{name} ({language})"));
                if self.printer.verbosity >= Verbosity::Normal && std::io::stderr().is_terminal() {
                    let spinner = ProgressBar::new_spinner();
                    if let Ok(style) = ProgressStyle::with_template("{spinner:>12.cyan} {elapsed}")
                    {
                        spinner.set_style(style);
                    }
                    spinner.enable_steady_tick(Duration::from_millis(120));
                    self.spinner = Some(spinner);
                }
            }
            Event::BuildOutput { line, .. } if self.spinner.is_some() => {
                let printer = &mut *self.printer;
                if let Some(spinner) = &self.spinner {
                    spinner.suspend(|| printer.progress(line));
                }
            }
            Event::TextOrder { format, path, before } => self.printer.status(
                "Warning",
                YELLOW,
                format!(
                    "{format} orders versions as text: {} runs after {} although its version is smaller; godwit runs them in {format}'s order",
                    path.display(),
                    before.display()
                ),
            ),
            // A finding that refuses the run is told by the refusal (or, in a dry run, by the
            // summary after the plan).
            Event::Linted { refuses: true, .. } => {}
            Event::Linted { finding, .. } => {
                self.printer.status("Warning", YELLOW, crate::commands::lint::one_line(finding));
            }
            Event::LockRetry { label, retry, retries, timeout, pause, blockers } => {
                let waited = humantime::format_duration(timeout);
                let mut line = format!(
                    "{label} ({retry} of {retries}) in {}: a statement waited {waited} for a lock and gave up; rolled back",
                    duration(pause)
                );
                for blocker in blockers {
                    line.push_str(&format!("\n             held by {blocker}"));
                }
                self.printer.status("Retrying", YELLOW, line);
            }
            Event::WaitingForLock { target, timeout } => self.printer.status(
                "Waiting",
                YELLOW,
                format!(
                    "for another godwit to release the migration lock on {target} (up to {})",
                    humantime::format_duration(timeout)
                ),
            ),
            Event::StepStarted { step, dry_run: true } => {
                let Step { action, migration } = step;
                let line = format!(
                    "-- {} {} ({})",
                    verb(*action).to_lowercase(),
                    migration.label,
                    migration.path.display()
                );
                self.data(line);
                if matches!(migration.script, godwit::migration::Script::Wasm(_)) {
                    self.data(
                        "-- a WebAssembly component: its statements are known when it runs \
                         (each with the run's lock timeout)"
                            .to_owned(),
                    );
                }
            }
            Event::StepStarted { step, dry_run: false } => {
                self.printer.detail(format!("{:>12} {}", "Running", step.migration.label));
            }
            Event::Statement { sql, dry_run: true, locks, .. } => {
                let mut text = String::new();
                for lock in locks {
                    text.push_str(&format!("-- {}\n", crate::locks::line(lock)));
                }
                self.data(format!("{text}{sql};\n"))
            }
            Event::Statement { sql, line, dry_run: false, .. } => {
                self.printer.detail(format!("{:>12} {sql}", format!("line {line}")));
            }
            Event::BatchCommitted {
                label,
                rows_done,
                estimated_total,
                processed,
                batch_size,
                elapsed,
                ..
            } => {
                let done = BatchDone { rows_done, processed, estimated_total, batch_size, elapsed };
                let bar = self.bars && std::io::stderr().is_terminal();
                let backfill = self.backfill.get_or_insert_with(|| Backfill::new(&done));
                backfill.batch(self.printer, label, &done, bar);
            }
            Event::TransformQueued { label } => self.queued = Some(label.to_owned()),
            Event::WaitingForTransform { label } => self.printer.status(
                "Waiting",
                YELLOW,
                format!(
                    "for the worker running {label} to let go; a migration requires it finished"
                ),
            ),
            Event::TransformStopped { label, state, .. } => {
                if let Some(backfill) = self.backfill.take() {
                    backfill.finish();
                }
                self.printer.status("Stopped", YELLOW, format!("{label}: {state} from elsewhere"));
            }
            Event::TransformDropped { label, state } => self.printer.status(
                "Dropped",
                YELLOW,
                format!("{label}'s {state} transform: its down undid what its batches did"),
            ),
            Event::TransformFailed { label, reason, .. } => {
                if let Some(backfill) = self.backfill.take() {
                    backfill.finish();
                }
                self.printer.status("Failed", RED, format!("{label}: {reason}"));
            }
            Event::Throttled { label, reason, .. } => {
                let line = format!("{label}: {reason}; holding off");
                let bar = self.backfill.as_ref().and_then(Backfill::bar);
                above(bar, self.printer, "Throttled", line);
                if let Some(backfill) = &mut self.backfill {
                    backfill.held(reason.to_string());
                }
            }
            Event::BatchRetried { label, error, attempt, batch_size, wait, .. } => {
                let line = format!(
                    "{label}: the batch was rolled back ({error}); attempt {} in {} with {} rows",
                    attempt + 1,
                    duration(wait),
                    thousands(u64::from(batch_size))
                );
                let bar = self.backfill.as_ref().and_then(Backfill::bar);
                above(bar, self.printer, "Retrying", line);
            }
            Event::GuestOutput { label, line } => {
                self.printer.detail(format!("{:>12} {line}", label));
            }
            Event::BuildOutput { line, .. } => self.printer.progress(line),
            Event::StepFinished { step, elapsed }
                if self.queued.as_deref() == Some(step.migration.label.as_str()) =>
            {
                self.queued = None;
                let message = format!(
                    "{} (up in {}; its transform waits for `godwit transforms run`)",
                    step.migration.label,
                    duration(elapsed)
                );
                self.printer.status("Queued", CYAN, message);
            }
            Event::StepFinished { step, elapsed } => {
                let style = if step.action == Action::Revert { CYAN } else { GREEN };
                let rows = match self.backfill.take() {
                    Some(backfill) => format!(", {} rows", thousands(backfill.finish())),
                    None => String::new(),
                };
                let message = format!("{} ({}{rows})", step.migration.label, duration(elapsed));
                self.printer.status(verb(step.action), style, message);
            }
            _ => {}
        }
    }
}
