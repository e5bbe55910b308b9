//! Everything godwit prints. Data (status tables, JSON, dry-run SQL) goes to stdout; status
//! lines, warnings and errors go to stderr, with cargo's right-aligned verbs. Colour follows
//! `--color`, and in `auto` mode only a terminal without `NO_COLOR` gets it.

use crate::cli::ColorChoice;
use anstream::AutoStream;
use anstyle::{AnsiColor, Style};
use std::fmt::Display;
use std::io::{self, Write};

pub const GREEN: Style = AnsiColor::Green.on_default().bold();
pub const CYAN: Style = AnsiColor::Cyan.on_default().bold();
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
pub const RED: Style = AnsiColor::Red.on_default().bold();
pub const DIM: Style = Style::new().dimmed();

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

pub struct Printer {
    out: AutoStream<io::Stdout>,
    err: AutoStream<io::Stderr>,
    color: ColorChoice,
    pub verbosity: Verbosity,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").field("verbosity", &self.verbosity).finish_non_exhaustive()
    }
}

impl Printer {
    pub fn new(color: ColorChoice, verbosity: Verbosity) -> Printer {
        let choice = match color {
            ColorChoice::Auto => anstream::ColorChoice::Auto,
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
        };
        Printer {
            out: AutoStream::new(io::stdout(), choice),
            err: AutoStream::new(io::stderr(), choice),
            color,
            verbosity,
        }
    }

    /// A second printer on the same streams, for a callback that runs while this one is lent.
    pub fn duplicate(&self) -> Printer {
        Printer::new(self.color, self.verbosity)
    }

    /// A line of data on stdout.
    pub fn data(&mut self, line: impl Display) -> io::Result<()> {
        writeln!(self.out, "{line}")
    }

    /// A status line on stderr: `    Applying 0003_add_email (12 ms)`.
    pub fn status(&mut self, verb: &str, style: Style, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(self.err, "{style}{verb:>12}{style:#} {message}");
        }
    }

    /// A line another program printed (cargo's progress while a crate migration builds), as
    /// it printed it; not with `--quiet`.
    pub fn progress(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(self.err, "{line}");
        }
    }

    /// A line on stderr shown only with `--verbose`.
    pub fn detail(&mut self, message: impl Display) {
        if self.verbosity >= Verbosity::Verbose {
            let _ = writeln!(self.err, "{DIM}{message}{DIM:#}");
        }
    }

    /// `error:`, then `Caused by:` with each cause, then `hint:`; shown even with `--quiet`.
    pub fn error(&mut self, message: &str, causes: &[String], hint: Option<&str>) {
        let bold = Style::new().bold();
        let _ = writeln!(self.err, "{RED}error{RED:#}: {bold}{message}{bold:#}");
        if !causes.is_empty() {
            let _ = writeln!(self.err, "\nCaused by:");
            for cause in causes {
                for (i, line) in cause.lines().enumerate() {
                    let lead = if i == 0 { "  " } else { "    " };
                    let _ = writeln!(self.err, "{lead}{line}");
                }
            }
        }
        if let Some(hint) = hint {
            let _ = writeln!(self.err);
            for line in hint.lines() {
                let _ = writeln!(self.err, "{CYAN}hint{CYAN:#}: {line}");
            }
        }
    }

    /// Asks a yes/no question on the terminal; anything but y or yes is no.
    pub fn confirm(&mut self, question: &str) -> io::Result<bool> {
        write!(self.err, "{question} [y/N] ")?;
        self.err.flush()?;
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
