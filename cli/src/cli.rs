//! The command line, declared with clap. Every environment variable godwit reads is declared
//! here, once.

use clap::{Args, Parser, Subcommand, ValueEnum};
use godwit::guest_build::Language;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "godwit",
    version,
    about = "Database migrations for SQLite and PostgreSQL, in one ordered, checksummed history",
    propagate_version = false,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Database URL: sqlite:PATH, sqlite::memory: or postgres://user:pass@host:port/db
    /// [default: DATABASE_URL, then godwit.toml, then sqlite:godwit.db]
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database: Option<String>,
    /// Directory of migration files [default: from godwit.toml, then migrations]
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Layout of the migrations directory: godwit, diesel, sqlx, golang-migrate, goose, dbmate,
    /// flyway, refinery, or auto to tell it from the files [default: from godwit.toml, then godwit]
    #[arg(long = "dir-format", global = true, env = "GODWIT_DIR_FORMAT", value_name = "FORMAT")]
    pub dir_format: Option<String>,
    /// Keep this tool's history table up to date as migrations of its folder are applied and
    /// reverted, so that the team can go back to it [default: from godwit.toml]
    #[arg(long, global = true, value_name = "TOOL")]
    pub keep: Option<String>,
    /// Configuration file [default: godwit.toml, if present]
    #[arg(long, global = true, env = "GODWIT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// PostgreSQL schema of the godwit_history table [default: the current schema]
    #[arg(long, global = true, value_name = "SCHEMA")]
    pub schema: Option<String>,
    /// How long to wait for another godwit's migration lock, like 30s or 2m [default: 60s]
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DURATION")]
    pub lock_timeout: Option<Duration>,
    /// How long each statement of a migration waits for a table lock on PostgreSQL before
    /// the migration gives up and is tried again, like 2s; 0 waits as long as the server
    /// lets it [default: 5s]
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DURATION")]
    pub statement_lock_timeout: Option<Duration>,
    /// How often a migration that gave up waiting for a lock is tried again [default: 3]
    #[arg(long, global = true, value_name = "N")]
    pub lock_retries: Option<u32>,
    /// Time limit for one call into a WebAssembly migration, like 30s or 5m [default: 60s]
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DURATION")]
    pub wasm_timeout: Option<Duration>,
    /// Memory limit for a WebAssembly migration, like 256MiB or 1GiB [default: 256MiB]
    #[arg(long, global = true, value_parser = parse_size, value_name = "SIZE")]
    pub wasm_memory: Option<usize>,
    /// Use the last build of Rust crate migrations instead of building them
    #[arg(long, global = true)]
    pub no_build: bool,
    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Show each statement as it runs
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewKind {
    Sql,
    Rust,
    Python,
    Js,
    C,
}

impl NewKind {
    /// The language of a migration directory; `None` for a SQL file.
    pub fn language(self) -> Option<Language> {
        match self {
            NewKind::Sql => None,
            NewKind::Rust => Some(Language::Rust),
            NewKind::Python => Some(Language::Python),
            NewKind::Js => Some(Language::JavaScript),
            NewKind::C => Some(Language::C),
        }
    }
}

/// A language whose migrations godwit builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
}

impl From<Lang> for Language {
    fn from(lang: Lang) -> Language {
        match lang {
            Lang::Rust => Language::Rust,
            Lang::Python => Language::Python,
            Lang::Js => Language::JavaScript,
            Lang::C => Language::C,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ToolchainCommand {
    /// Install the pinned toolchains that build these languages' migrations
    Install {
        #[arg(value_enum, required = true)]
        languages: Vec<Lang>,
    },
    /// Show which toolchains are installed, and where
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// How `godwit lint` prints its findings: SARIF 2.1.0 is what code-scanning services read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the migrations directory and a commented godwit.toml
    Init,
    /// Create a new migration file with the next version
    New {
        /// What the migration does, like add_email_to_users
        name: String,
        /// Number it with a UTC timestamp instead of the next sequential version
        #[arg(long)]
        timestamp: bool,
        /// A SQL file, or a directory in a language godwit builds into a WebAssembly component
        #[arg(long, value_enum, default_value_t = NewKind::Sql)]
        kind: NewKind,
        /// A batched data transform: `up`, then `transform` batch after batch
        #[arg(long)]
        batched: bool,
        /// With --kind rust: depend on this godwit-sdk checkout by path [default: the
        /// registry's version line, built against the SDK this godwit carries]
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Build the Rust, Python, JavaScript and C migrations into WebAssembly components
    Build,
    /// Install or list the toolchains that build migrations in each language
    Toolchain {
        #[command(subcommand)]
        command: ToolchainCommand,
    },
    /// Show every migration: applied, pending, modified, missing or failed
    Status {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Apply pending migrations in order
    Up {
        /// Apply up to and including this version
        #[arg(long, value_name = "VERSION")]
        to: Option<godwit::Version>,
        /// Print the plan and its SQL on stdout; change nothing
        #[arg(long)]
        dry_run: bool,
        /// Apply pending migrations older than the newest applied one
        #[arg(long)]
        allow_out_of_order: bool,
        /// Apply batched migrations' `up` and queue their transforms for
        /// `godwit transforms run` instead of running them now
        #[arg(long, conflicts_with = "run_transforms")]
        defer_transforms: bool,
        /// Run every batched migration's transform now, also those that ask to be deferred
        #[arg(long)]
        run_transforms: bool,
        /// Refuse, instead of finishing it first, when a migration requires a transform that
        /// a worker has not finished (`-- godwit:requires`)
        #[arg(long)]
        no_wait: bool,
        /// Apply the migrations without linting them first (`godwit lint` runs the same rules)
        #[arg(long)]
        no_lint: bool,
        /// `json`: what was applied (or with --dry-run, the plan with each statement's
        /// locks) as one JSON document on stdout
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Refuse to run when the database's schema differs from what its applied migrations
        /// produce (`godwit drift`)
        #[arg(long)]
        check_drift: bool,
        /// With --check-drift: build the migrations' schema in this empty database instead
        /// of a scratch one created beside the target
        #[arg(long, value_name = "URL", requires = "check_drift")]
        dev_url: Option<String>,
        #[command(flatten)]
        fleet: FleetArgs,
        #[command(flatten)]
        batch: crate::batching::BatchArgs,
    },
    /// Revert applied migrations, newest first (one by default)
    Down {
        /// Revert every migration newer than this version (0 reverts all)
        #[arg(long, value_name = "VERSION", conflicts_with = "steps")]
        to: Option<godwit::Version>,
        /// Revert this many migrations
        #[arg(long, value_name = "N")]
        steps: Option<usize>,
        /// Revert the migrations of this pack instead of the project's
        #[arg(long, value_name = "NAME")]
        pack: Option<String>,
        /// Print the plan and its SQL on stdout; change nothing
        #[arg(long)]
        dry_run: bool,
        /// `json`: what was reverted (or with --dry-run, the plan) as JSON on stdout
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Check applied migrations against the files; exit 1 on any problem
    Validate {
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Report what pending migrations would do to a live database (locks, scans, lost data);
    /// exit 1 on an error-level finding
    Lint {
        /// Lint every migration, applied or not (and connect to no database)
        #[arg(long, conflicts_with = "trace")]
        all: bool,
        /// Run the pending migrations on a scratch PostgreSQL database created beside the
        /// target (and dropped after), reporting the locks each statement took beside the plan's
        #[arg(long)]
        trace: bool,
        /// With --trace: run them on the target in a transaction that is rolled back instead
        /// (the locks are real, each waiting at most the lock timeout)
        #[arg(long, requires = "trace", conflicts_with = "dev_url")]
        in_transaction: bool,
        /// With --trace: run them in this empty database instead of one created beside the
        /// target
        #[arg(long, value_name = "URL", requires = "trace")]
        dev_url: Option<String>,
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Compare the database's schema with what its applied migrations produce (built on a
    /// scratch database); exit 1 on any difference
    Drift {
        /// Build the migrations' schema in this empty database instead of a scratch one
        /// created beside the target
        #[arg(long, value_name = "URL")]
        dev_url: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Prove every down undoes its up: on a scratch database, each migration in order is
    /// applied, reverted and applied again, and the schema after its down compared with the
    /// one before its up; exit 1 when a down leaves something behind or fails
    Verify {
        /// Verify in this empty database instead of a scratch one created beside the target
        #[arg(long, value_name = "URL")]
        dev_url: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Replace the migrations up to VERSION by one baseline file of the schema they build
    /// (built on a scratch database); databases that applied them are validated against
    /// their checksums, new ones run the baseline
    Squash {
        /// The newest migration to replace
        #[arg(long, value_name = "VERSION")]
        to: godwit::Version,
        /// Build the schema in this empty database instead of a scratch one created beside
        /// the target
        #[arg(long, value_name = "URL")]
        dev_url: Option<String>,
    },
    /// The database's schema as SQL
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Pin every pack's and WebAssembly migration's SHA-256 in godwit.lock; show what changed
    Lock,
    /// Accept edited files' checksums and forget failed or missing migrations in the history
    Repair {
        /// Do it without asking
        #[arg(long, short)]
        yes: bool,
    },
    /// Mark every migration up to VERSION as applied without running it
    Baseline {
        /// The last version the existing database already has
        #[arg(long, value_name = "VERSION")]
        version: godwit::Version,
    },
    /// Take over another tool's history: record what it applied in godwit's history, after
    /// checking the applied files against the checksums it kept. Nothing runs; the tool's
    /// table is left as it is
    Adopt {
        /// The tool whose history to read: diesel, sqlx, golang-migrate, goose, dbmate,
        /// flyway, refinery [default: the migrations directory's format]
        #[arg(long, value_name = "TOOL")]
        from: Option<String>,
        /// The tool's history table, when it is not the tool's default
        #[arg(long, value_name = "TABLE")]
        table: Option<String>,
        /// Show what would be recorded without recording it
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the migrations directory (read in its format) in godwit's own layout, and make
    /// the configured database's history follow the new files' checksums
    Convert {
        /// The layout to write (godwit is the one there is)
        #[arg(long, value_name = "FORMAT", default_value = "godwit")]
        to: String,
        /// The new migrations directory: created, or one this conversion already wrote
        out: PathBuf,
        /// Only write the files; leave the database's history as it is
        #[arg(long)]
        no_history: bool,
    },
    /// Describe a WebAssembly migration (size, sha256, imports, exports) or a pack (grant,
    /// migrations, sha256)
    Inspect {
        /// A `.wasm` component, a migration directory (built first), or a pack directory
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run, watch and control the transforms of batched migrations queued by
    /// `godwit up --defer-transforms`
    Transforms {
        #[command(subcommand)]
        command: TransformsCommand,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Many databases at once (`up` and `status`).
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Every database listed in FILE (one URL per line, `#` comments) instead of --database
    #[arg(long, value_name = "FILE", conflicts_with = "fleet")]
    pub targets: Option<PathBuf>,
    /// The databases `[fleet]` in godwit.toml names instead of --database
    #[arg(long)]
    pub fleet: bool,
    /// With a fleet: at most N databases at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub parallel: usize,
    /// With a fleet: only the stable share I of N of its databases (for N runners)
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// With a fleet: start no more databases after the first that fails
    #[arg(long)]
    pub fail_fast: bool,
    /// With a fleet: start no more databases once N have failed
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
    /// With `up` on a fleet: migrate the first N databases first, and the rest only if they
    /// all succeed
    #[arg(long, value_name = "N")]
    pub canary: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the schema (tables, columns, constraints, indexes, views, functions, triggers,
    /// types, sequences, extensions, comments, grants, policies) as deterministic SQL
    Dump {
        /// Write it to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TransformsCommand {
    /// Run queued transforms until none is left (a worker: start it from cron, a Job or a
    /// systemd unit; two never run the same transform)
    Run {
        /// Run up to N transforms at once, each on a connection of its own (PostgreSQL;
        /// SQLite runs one at a time)
        #[arg(long, value_name = "N", default_value_t = 1)]
        parallel: usize,
        #[command(flatten)]
        batch: crate::batching::BatchArgs,
    },
    /// Each queued transform's state, rows done, rate, batch size, ETA and last error
    Status {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Stop a transform at its next batch boundary, wherever its worker runs
    Pause {
        /// The batched migration: its version or file name
        migration: String,
    },
    /// Queue a paused transform again
    Resume { migration: String },
    /// Stop a transform at its next batch boundary and leave it unfinished
    Cancel { migration: String },
    /// Queue a failed or cancelled transform again; it goes on from its cursor
    Retry { migration: String },
}

/// `30s`, `2m`, `1h 30m`, `500ms`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (try 30s, 2m or 500ms)"))
}

/// `256MiB`, `1GiB`, `512KiB` (or KB, MB, GB, as powers of 1024), or a number of bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: usize =
        number.parse().map_err(|_| format!("`{text}` is not a size (try 256MiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit `{other}` (try 256MiB)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

/// godwit's cache directory (the carried SDK, built and compiled components, toolchains):
/// `$XDG_CACHE_HOME/godwit`, else `$HOME/.cache/godwit`.
pub fn cache_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("godwit"))
}

/// Where the toolchains are: `$GODWIT_TOOLCHAINS`, else `toolchains/` in the cache directory.
pub fn toolchains() -> godwit::guest_build::toolchain::Toolchains {
    let dir = std::env::var_os("GODWIT_TOOLCHAINS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| cache_root().map(|root| root.join("toolchains")));
    dir.map(godwit::guest_build::toolchain::Toolchains::at).unwrap_or_default()
}

/// How migration directories are built: in `mode`, with the cache and toolchains above.
pub fn builder(mode: godwit::guest_build::BuildMode) -> godwit::guest_build::Builder {
    let builder = godwit::guest_build::Builder::new(mode).toolchains(toolchains());
    match cache_root() {
        Some(cache) => builder.cache_dir(cache),
        None => builder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
    }
}
