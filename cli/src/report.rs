//! Turns engine events into the lines a user sees: finished steps on stderr, dry-run plans
//! and SQL on stdout, statements with `--verbose`.

use crate::printer::{CYAN, GREEN, Printer, Verbosity, YELLOW};
use godwit::{Action, Event, Reporter, Step};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct CliReporter<'p> {
    pub printer: &'p mut Printer,
    /// A failed write to stdout (a closed pipe), reported once the engine returns.
    pub stdout_error: Option<std::io::Error>,
    /// Batched migrations: a bar on a terminal, otherwise a line every few seconds.
    bar: Option<ProgressBar>,
    /// A spinner while a Python, JavaScript or C migration builds, on a terminal.
    spinner: Option<ProgressBar>,
    last_line: Option<Instant>,
    rows: Option<u64>,
}

/// How often progress is printed when stderr is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

impl<'p> CliReporter<'p> {
    pub fn new(printer: &'p mut Printer) -> CliReporter<'p> {
        CliReporter {
            printer,
            stdout_error: None,
            bar: None,
            spinner: None,
            last_line: None,
            rows: None,
        }
    }

    fn progress(&mut self, label: &str, rows_done: u64, estimated_total: Option<u64>) {
        self.rows = Some(rows_done);
        if self.printer.verbosity == Verbosity::Quiet {
            return;
        }
        if std::io::stderr().is_terminal() {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::new(0);
                let style = ProgressStyle::with_template(
                    "{prefix:>12.cyan.bold} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, ETA {eta}",
                )
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.set_prefix("Backfilling");
                bar
            });
            bar.set_length(estimated_total.unwrap_or(rows_done).max(rows_done));
            bar.set_position(rows_done);
            return;
        }
        if self.last_line.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            self.last_line = Some(Instant::now());
            let of = estimated_total.map(|t| format!(" of about {t}")).unwrap_or_default();
            self.printer.status("Progress", CYAN, format!("{label}: {rows_done} rows{of}"));
        }
    }

    /// Clears what is still on the terminal (a build's spinner).
    pub fn finish(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
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
            }
            Event::StepStarted { step, dry_run: false } => {
                self.printer.detail(format!("{:>12} {}", "Running", step.migration.label));
            }
            Event::Statement { sql, dry_run: true, .. } => self.data(format!("{sql};\n")),
            Event::Statement { sql, line, dry_run: false } => {
                self.printer.detail(format!("{:>12} {sql}", format!("line {line}")));
            }
            Event::BatchCommitted { label, rows_done, estimated_total } => {
                self.progress(label, rows_done, estimated_total);
            }
            Event::GuestOutput { label, line } => {
                self.printer.detail(format!("{:>12} {line}", label));
            }
            Event::BuildOutput { line, .. } => self.printer.progress(line),
            Event::StepFinished { step, elapsed } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.last_line = None;
                let style = if step.action == Action::Revert { CYAN } else { GREEN };
                let rows = match self.rows.take() {
                    Some(rows) => format!(", {rows} rows"),
                    None => String::new(),
                };
                let message = format!("{} ({}{rows})", step.migration.label, duration(elapsed));
                self.printer.status(verb(step.action), style, message);
            }
            _ => {}
        }
    }
}
