//! The subcommands, one module per family: the project's files (`init`, `new`, `build`),
//! migrating (`up`, `down`), the history (`status`, `validate`, `repair`, `baseline`), pins
//! (`lock`), `inspect` and the transforms queued for workers (`transforms`). Each resolves its settings, calls the engine and prints the outcome;
//! loading and connecting, shared by most, are here.

mod adopt;
mod convert;
mod fleet;
mod history;
mod inspect;
pub(crate) mod lint;
mod lock;
mod migrate;
mod new_in_format;
mod project;
mod scaffold;
mod schema;
mod toolchain;
mod trace;
mod transforms;
mod verify;

pub use self::transforms::View;

use crate::cli::{Cli, Command, SchemaCommand, ToolchainCommand};
use crate::config::Settings;
use crate::printer::Printer;
use crate::report::CliReporter;
use godwit::guest_build::BuildMode;
use godwit::plan::{DownTarget, Target};
use godwit::{ConnectOptions, Connection, Migrator, Request, Stream};
use std::process::ExitCode;

pub fn run(cli: &Cli, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    if let Command::Completions { shell } = &cli.command {
        use clap::CommandFactory;
        clap_complete::generate(*shell, &mut Cli::command(), "godwit", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    // Toolchains belong to the machine, not to a project: no settings are read.
    if let Command::Toolchain { command } = &cli.command {
        return match command {
            ToolchainCommand::Install { languages } => toolchain::install(printer, languages),
            ToolchainCommand::List { format } => toolchain::list(printer, *format),
        };
    }
    let settings = Settings::resolve(&cli.global)?;
    match &cli.command {
        Command::Init => project::init(cli, &settings, printer),
        Command::New { name, timestamp, kind, batched, sdk } => {
            project::new(&settings, printer, name, *timestamp, *kind, *batched, sdk.as_deref())
        }
        Command::Build => project::build(&settings, printer),
        Command::Status { format, fleet: args } => match fleet::targets(&settings, args)? {
            Some(targets) => fleet::status(&settings, printer, &targets, args, *format),
            None => history::status(&settings, printer, *format),
        },
        Command::Up {
            to,
            dry_run,
            allow_out_of_order,
            defer_transforms,
            run_transforms,
            no_wait,
            no_lint,
            format,
            check_drift,
            dev_url,
            fleet: args,
            batch,
        } => {
            let target = Target::Up { to: *to, allow_out_of_order: *allow_out_of_order };
            let batching = batch.settings()?;
            let request = match (*defer_transforms, *run_transforms) {
                (true, _) => Request::up().deferring_transforms(),
                (_, true) => Request::up().running_transforms(),
                _ => Request::up(),
            };
            let request = Request {
                target,
                dry_run: *dry_run,
                wait_for_transforms: !*no_wait,
                lint: !*no_lint,
                ..request
            };
            if let Some(targets) = fleet::targets(&settings, args)? {
                if *check_drift || *format == crate::cli::Format::Json {
                    let one = "--check-drift and --format json read one database; not with a fleet";
                    return Err(crate::failure::Failure::config(one).into());
                }
                let (policy, throttle) = batching;
                let migrator =
                    load(&settings, printer)?.with_batch_policy(policy).with_throttle(throttle);
                return fleet::up(&settings, printer, &targets, args, &request, migrator);
            }
            let drift = check_drift.then(|| dev_url.clone());
            migrate::migrate(&settings, printer, request, batching, *format, drift)
        }
        Command::Down { to, steps, pack, dry_run, format, fleet: args } => {
            let down = match (to, steps) {
                (Some(version), _) => DownTarget::To(*version),
                (None, steps) => DownTarget::Steps(steps.unwrap_or(1)),
            };
            let stream = pack.as_deref().map_or(Stream::Project, Stream::pack);
            let target = Target::Down { stream, down };
            let request = Request { target, dry_run: *dry_run, ..Request::down(down) };
            if let Some(targets) = fleet::targets(&settings, args)? {
                let migrator = load(&settings, printer)?;
                return fleet::up(&settings, printer, &targets, args, &request, migrator);
            }
            migrate::migrate(&settings, printer, request, Default::default(), *format, None)
        }
        Command::Validate { fleet: args } => match fleet::targets(&settings, args)? {
            Some(targets) => fleet::validate(&settings, printer, &targets, args),
            None => history::validate(&settings, printer),
        },
        Command::Lint { trace: true, in_transaction, dev_url, format, .. } => {
            trace::trace(&settings, printer, *in_transaction, dev_url.as_deref(), *format)
        }
        Command::Drift { dev_url, format } => {
            schema::drift(&settings, printer, dev_url.as_deref(), *format)
        }
        Command::Squash { to, dev_url } => {
            schema::squash(&settings, printer, *to, dev_url.as_deref())
        }
        Command::Verify { dev_url, format } => {
            verify::verify(&settings, printer, dev_url.as_deref(), *format)
        }
        Command::Schema { command: SchemaCommand::Dump { out } } => {
            schema::dump(&settings, printer, out.as_deref())
        }
        Command::Lint { all: false, format, fleet: args, .. }
            if args.targets.is_some() || args.fleet =>
        {
            let targets = fleet::targets(&settings, args)?.unwrap_or_default();
            fleet::lint(&settings, printer, &targets, args, *format)
        }
        Command::Lint { all, format, .. } => lint::lint(&settings, printer, *all, *format),
        Command::Lock => lock::lock(&settings, printer),
        Command::Repair { yes } => history::repair(&settings, printer, *yes),
        Command::Baseline { version } => history::baseline(&settings, printer, *version),
        Command::Convert { to, out, no_history } => {
            convert::convert(&settings, printer, to, out, *no_history)
        }
        Command::Adopt { from, table, dry_run } => {
            adopt::adopt(&settings, printer, from.as_deref(), table.clone(), *dry_run)
        }
        Command::Inspect { file, format } => inspect::inspect(&settings, printer, file, *format),
        Command::Transforms { command } => transforms::run(&settings, printer, command),
        Command::Completions { .. } | Command::Toolchain { .. } => Ok(ExitCode::SUCCESS),
    }
}

/// The project's migrations and its packs', with its pins.
fn load(settings: &Settings, printer: &mut Printer) -> anyhow::Result<Migrator> {
    load_building(settings, printer, settings.build)
}

fn load_building(
    settings: &Settings,
    printer: &mut Printer,
    build: BuildMode,
) -> anyhow::Result<Migrator> {
    let packs = settings
        .packs
        .iter()
        .map(|entry| godwit::pack::Pack::load(&entry.path, entry.after))
        .collect::<Result<Vec<_>, _>>()
        .map_err(godwit::Error::from)?;
    let mut reporter = CliReporter::new(printer);
    let loader = match settings.format {
        Some(format) => Migrator::loader(&settings.dir).format(format),
        None => Migrator::loader(&settings.dir).detect_format(),
    };
    let loaded = loader
        .packs(packs)
        .lock_file(&settings.lock_file)
        .builder(crate::cli::builder(build))
        .wasm_limits(settings.wasm)
        .load(&mut reporter);
    reporter.finish();
    let mut migrator = loaded?;
    if let Some(tool) = settings.keep {
        migrator = migrator.keeping(godwit::history::Keep::new(tool, None));
    }
    Ok(migrator
        .with_lock_timeout(settings.lock_timeout)
        .with_wasm_limits(settings.wasm)
        .with_lint_levels(settings.lint.clone())
        .with_lock_waits(settings.lock_waits))
}

/// Loads the project (with `load`) and opens the database at the same time when opening has
/// no side effect: a PostgreSQL connection (a server round trip and a backend starting), or a
/// SQLite file that exists (whose schema is read at once). Each takes a few milliseconds, about
/// as long as reading a thousand migrations, and neither needs the other. A SQLite file that
/// does not exist yet is created only once the migrations have loaded, so that a project with
/// a bad file leaves no database behind. An error loading wins over one connecting, as when
/// one came after the other, and is reported at once: the connection is opened on a thread of
/// its own that nobody waits for then (a server that does not answer would otherwise hold the
/// error back until the connect timeout).
fn load_and_connect(
    settings: &Settings,
    load: impl FnOnce() -> anyhow::Result<Migrator>,
) -> anyhow::Result<(Migrator, Connection)> {
    if !godwit::connect_changes_nothing(&settings.database) {
        let migrator = load()?;
        return Ok((migrator, connect(settings)?));
    }
    let (url, options) = (settings.database.clone(), connect_options(settings));
    let connecting = std::thread::spawn(move || godwit::connect(&url, &options));
    let migrator = load()?;
    let db = connecting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok((migrator, db.map_err(godwit::Error::from)?))
}

pub(super) fn connect(settings: &Settings) -> anyhow::Result<Connection> {
    Ok(godwit::connect(&settings.database, &connect_options(settings))
        .map_err(godwit::Error::from)?)
}

fn connect_options(settings: &Settings) -> ConnectOptions {
    ConnectOptions::default().schema(settings.schema.clone()).busy_timeout(settings.lock_timeout)
}

/// `1 migration`, `2 migrations`.
fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}
