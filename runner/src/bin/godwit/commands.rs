//! One function per subcommand: resolve settings, call the engine, print the outcome.

use crate::cli::{Cli, Command, Format, NewKind};
use crate::config::{self, Settings, Versioning};
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer, YELLOW};
use crate::report::{CliReporter, duration};
use anyhow::Context;
use godwit::{
    ConnectOptions, DownTarget, Driver, Migrator, RepairAction, Request, Target, Version,
    lock::{Change, LockFile},
};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

pub fn run(cli: &Cli, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    if let Command::Completions { shell } = &cli.command {
        use clap::CommandFactory;
        clap_complete::generate(*shell, &mut Cli::command(), "godwit", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::resolve(&cli.global)?;
    match &cli.command {
        Command::Init => init(cli, &settings, printer),
        Command::New { name, timestamp, kind, sdk } => {
            new(&settings, printer, name, *timestamp, *kind, sdk.as_deref())
        }
        Command::Build => build(&settings, printer),
        Command::Status { format } => status(&settings, printer, *format),
        Command::Up { to, dry_run, allow_out_of_order, batch_size, batch_pause } => {
            let target = Target::Up { to: *to, allow_out_of_order: *allow_out_of_order };
            let batching = (*batch_size, batch_pause.unwrap_or_default());
            migrate(&settings, printer, Request { target, dry_run: *dry_run }, batching)
        }
        Command::Down { to, steps, pack, dry_run } => {
            let down = match (to, steps) {
                (Some(version), _) => DownTarget::To(*version),
                (None, steps) => DownTarget::Steps(steps.unwrap_or(1)),
            };
            let stream = pack.clone().unwrap_or_default();
            let request = Request { target: Target::Down { stream, down }, dry_run: *dry_run };
            migrate(&settings, printer, request, (1000, std::time::Duration::ZERO))
        }
        Command::Validate => validate(&settings, printer),
        Command::Lock => lock(&settings, printer),
        Command::Repair { yes } => repair(&settings, printer, *yes),
        Command::Baseline { version } => baseline(&settings, printer, *version),
        Command::Inspect { file, format } => inspect(&settings, printer, file, *format),
        Command::Completions { .. } => Ok(ExitCode::SUCCESS),
    }
}

fn load(settings: &Settings) -> anyhow::Result<Migrator> {
    load_building(settings, settings.build)
}

/// The project's migrations and its packs'.
fn load_building(settings: &Settings, build: godwit::build::BuildMode) -> anyhow::Result<Migrator> {
    let source = godwit::DirSource::new(&settings.dir).building(build);
    let packs = settings
        .packs
        .iter()
        .map(|entry| godwit::Pack::load(&entry.path, entry.after))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Migrator::with_packs(&source, packs, build)?
        .with_lock_timeout(settings.lock_timeout)
        .with_wasm_limits(settings.wasm))
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
) -> anyhow::Result<(Migrator, Box<dyn Driver>)> {
    if !godwit::connect_changes_nothing(&settings.database) {
        let migrator = load()?;
        return Ok((migrator, connect(settings)?));
    }
    let (url, options) = (settings.database.clone(), connect_options(settings));
    let connecting = std::thread::spawn(move || godwit::connect(&url, &options));
    let migrator = load()?;
    let db = connecting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok((migrator, db))
}

fn connect(settings: &Settings) -> anyhow::Result<Box<dyn Driver>> {
    Ok(godwit::connect(&settings.database, &connect_options(settings))?)
}

fn connect_options(settings: &Settings) -> ConnectOptions {
    ConnectOptions {
        schema: settings.schema.clone(),
        busy_timeout: settings.lock_timeout,
        ..ConnectOptions::default()
    }
}

fn init(cli: &Cli, settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let config_path = cli.global.config.as_deref().unwrap_or(Path::new(config::CONFIG_FILE));
    if config_path.exists() {
        return Err(Failure::config(format!("{} already exists", config_path.display()))
            .hint("edit it, or remove it to start over")
            .into());
    }
    if settings.dir.is_dir() {
        printer.status("Found", CYAN, format!("{}/", settings.dir.display()));
    } else {
        std::fs::create_dir_all(&settings.dir)
            .with_context(|| format!("cannot create {}", settings.dir.display()))?;
        printer.status("Created", GREEN, format!("{}/", settings.dir.display()));
    }
    let dir_line = format!("dir = {}", toml_string(&settings.dir.display().to_string()));
    let text = config::TEMPLATE.replacen("dir = \"migrations\"", &dir_line, 1);
    std::fs::write(config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    printer.status("Created", GREEN, config_path.display());
    printer.status("Next", CYAN, "`godwit new <name>` creates your first migration");
    Ok(ExitCode::SUCCESS)
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Lowercase words joined by `_`: `Add Email to Users!` becomes `add_email_to_users`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').to_owned()
}

fn new(
    settings: &Settings,
    printer: &mut Printer,
    name: &str,
    timestamp: bool,
    kind: NewKind,
    sdk: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let slug = slug(name);
    if slug.is_empty() {
        return Err(Failure::config(format!(
            "`{name}` has no letters or digits to name a migration"
        ))
        .hint("describe the change, like `godwit new add_email_to_users`")
        .into());
    }
    let newest = godwit::DirSource::new(&settings.dir).newest_version()?;
    let file_name = match timestamp || settings.versioning == Versioning::Timestamp {
        true => {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let mut version: i64 = now
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .context("cannot read the clock")?;
            if let Some((newest, _)) = newest.filter(|(n, _)| n.get() >= version) {
                version = newest.get() + 1;
            }
            format!("{version}_{slug}")
        }
        false => {
            let (next, width) = newest.map_or((1, 4), |(n, width)| (n.get() + 1, width));
            format!("{next:0width$}_{slug}")
        }
    };
    if kind == NewKind::Rust {
        let dir = settings.dir.join(&file_name);
        scaffold_crate(&dir, &file_name, name, sdk)?;
        printer.status("Created", GREEN, format!("{}/", dir.display()));
        printer.data(dir.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = settings.dir.join(format!("{file_name}.sql"));
    let template = format!(
        "-- {name}\n\n-- godwit:up\n\n\n-- godwit:down\n-- Undo the up section here. Delete this section if the change cannot be undone;\n-- an empty one reverts as a no-op.\n"
    );
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, template.as_bytes()))
        .with_context(|| format!("cannot create {}", path.display()))?;
    printer.status("Created", GREEN, path.display());
    printer.data(path.display())?;
    Ok(ExitCode::SUCCESS)
}

/// A Rust guest crate migration: its own workspace (so it builds inside another one), the
/// SDK from this checkout when there is one, and an `up` that fails until it is written.
fn scaffold_crate(
    dir: &Path,
    stem: &str,
    description: &str,
    sdk: Option<&Path>,
) -> anyhow::Result<()> {
    let sdk = match sdk {
        Some(path) => Some(path.to_owned()),
        None => std::env::current_dir().ok().and_then(|cwd| {
            cwd.ancestors().map(|a| a.join("sdk")).find(|s| s.join("Cargo.toml").is_file())
        }),
    }
    .and_then(|sdk| std::fs::canonicalize(sdk).ok());
    let dependency = match sdk {
        Some(path) => format!("{{ path = {} }}", toml_string(&path.display().to_string())),
        None => "\"0.1\"".to_owned(),
    };
    let manifest = format!(
        "[package]\nname = \"migration-{}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ngodwit-sdk = {dependency}\n\n\
         # A migration crate builds on its own, even inside another Cargo workspace.\n[workspace]\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ndebug = false\n",
        stem.replace('_', "-")
    );
    let description = description.replace('\\', "\\\\").replace('"', "\\\"");
    let source = format!(
        "//! {description}\n\nuse godwit_sdk::{{Migration, Result}};\n\nstruct Change;\n\n\
         impl Migration for Change {{\n    fn description() -> String {{\n        \"{description}\".into()\n    }}\n\n\
         \x20   fn reversible() -> bool {{\n        true\n    }}\n\n\
         \x20   fn up() -> Result<()> {{\n\
         \x20       // godwit_sdk::sql::execute(\"CREATE TABLE ...\", godwit_sdk::params![])?;\n\
         \x20       Err(\"write this migration's up in src/lib.rs\".into())\n    }}\n\n\
         \x20   fn down() -> Result<()> {{\n        Err(\"write this migration's down in src/lib.rs\".into())\n    }}\n}}\n\n\
         godwit_sdk::migration!(Change);\n"
    );
    if dir.exists() {
        return Err(Failure::config(format!("{} already exists", dir.display())).into());
    }
    std::fs::create_dir_all(dir.join("src"))
        .and_then(|()| std::fs::write(dir.join("Cargo.toml"), manifest))
        .and_then(|()| std::fs::write(dir.join("src/lib.rs"), source))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(())
}

fn build(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let migrator = load_building(settings, godwit::build::BuildMode::Build)?;
    let crates: Vec<_> = migrator.migrations().iter().filter(|m| m.path.is_dir()).collect();
    for migration in &crates {
        printer.status(
            "Built",
            GREEN,
            format!("{} ({})", migration.label, migration.path.display()),
        );
    }
    let n = crates.len();
    let noun = if n == 1 { "crate migration" } else { "crate migrations" };
    printer.status(
        "Finished",
        GREEN,
        format!("{n} {noun} built and checked against godwit's world"),
    );
    Ok(ExitCode::SUCCESS)
}

fn status(settings: &Settings, printer: &mut Printer, format: Format) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || load(settings))?;
    let applied = migrator.history(db.as_mut())?;
    let entries = godwit::status(migrator.migrations(), &applied);
    match format {
        Format::Json => crate::status::json(printer, db.target(), &entries, &migrator)?,
        Format::Text => {
            crate::status::table(printer, &entries)?;
            crate::status::packs(printer, &migrator)?;
            printer.status(
                "Status",
                CYAN,
                format!("{}: {}", db.target(), crate::status::summary(&entries)),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses components that differ from `godwit.lock`, when the project has one.
fn check_lock(settings: &Settings, migrator: &Migrator) -> anyhow::Result<()> {
    let path = &settings.lock_file;
    let Some(locked) = LockFile::read(path).map_err(Failure::config)? else {
        if let Some(pack) = migrator.packs().first() {
            return Err(Failure::config(format!(
                "pack `{}` ({}) is not locked: a project that uses packs needs {}",
                pack.name,
                pack.dir.display(),
                path.display()
            ))
            .hint("nothing ran; review the pack, then run `godwit lock` to pin it")
            .into());
        }
        return Ok(());
    };
    let current = LockFile::of(migrator.migrations(), migrator.packs(), &settings.project);
    let mut problems: Vec<String> =
        locked.pack_diff(&current).iter().filter_map(|change| lock_problem(change, path)).collect();
    problems.extend(locked.diff(&current).iter().filter_map(|change| lock_problem(change, path)));
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure::config(problems.join("\n"))
        .hint("nothing ran; if the change is intended, review it and run `godwit lock`")
        .into())
}

/// How the lock check and `godwit lock` name one thing `godwit.lock` pins.
trait Pin {
    /// Where it is, in a problem: "pack `billing` (packs/billing)".
    fn subject(&self) -> String;
    /// What it is, in `godwit lock`'s lines: "pack billing", "0005_observers".
    fn name(&self) -> String;
    /// The version a pack declares; components have none.
    fn version(&self) -> Option<&str>;
    fn sha256(&self) -> &str;

    /// "1.0.0 sha256 <hash>" for a pack, "sha256 <hash>" for a component.
    fn pinned_as(&self, separator: &str, hash: &str) -> String {
        match self.version() {
            Some(version) => format!("{version} sha256{separator}{hash}"),
            None => format!("sha256{separator}{hash}"),
        }
    }
}

impl Pin for godwit::lock::LockedPack {
    fn subject(&self) -> String {
        format!("pack `{}` ({})", self.name, self.dir)
    }
    fn name(&self) -> String {
        format!("pack {}", self.name)
    }
    fn version(&self) -> Option<&str> {
        Some(&self.version)
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl Pin for godwit::lock::Locked {
    fn subject(&self) -> String {
        format!("{} ({})", self.file, self.migration)
    }
    fn name(&self) -> String {
        self.migration.clone()
    }
    fn version(&self) -> Option<&str> {
        None
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// What a difference from `godwit.lock` stops a run for. A pinned thing that is gone runs
/// nothing (a removed component shows as missing in the plan), so it is not a problem here.
fn lock_problem<T: Pin>(change: &Change<T>, lock_file: &Path) -> Option<String> {
    let lock_file = lock_file.display();
    match change {
        Change::Added(new) => {
            Some(format!("{} is not in {lock_file}: its sha256 is {}", new.subject(), new.sha256()))
        }
        Change::Changed { old, new } => Some(format!(
            "{} does not match {lock_file}: locked {}, found {}",
            new.subject(),
            old.pinned_as(" ", old.sha256()),
            new.pinned_as(" ", new.sha256())
        )),
        Change::Removed(_) => None,
    }
}

/// The status line `godwit lock` prints for one change, hashes cut to 12 digits.
fn lock_line<T: Pin>(change: &Change<T>) -> (&'static str, anstyle::Style, String) {
    let short = |pin: &T| {
        let sha = pin.sha256();
        pin.pinned_as(":", sha.get(..12).unwrap_or(sha))
    };
    match change {
        Change::Added(pin) => ("Locked", GREEN, format!("{} {}", pin.name(), short(pin))),
        Change::Changed { old, new } => {
            ("Changed", YELLOW, format!("{} {} -> {}", new.name(), short(old), short(new)))
        }
        Change::Removed(pin) => ("Removed", YELLOW, format!("{} {}", pin.name(), short(pin))),
    }
}

fn lock(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let migrator = load(settings)?;
    let path = &settings.lock_file;
    let old = LockFile::read(path).map_err(Failure::config)?.unwrap_or_default();
    let new = LockFile::of(migrator.migrations(), migrator.packs(), &settings.project);
    let changes = old.diff(&new);
    let pack_changes = old.pack_diff(&new);
    for change in &pack_changes {
        let (verb, color, text) = lock_line(change);
        printer.status(verb, color, text);
    }
    for change in &changes {
        let (verb, color, text) = lock_line(change);
        printer.status(verb, color, text);
    }
    if changes.is_empty() && pack_changes.is_empty() && path.is_file() {
        printer.status("Finished", GREEN, format!("{} is up to date", path.display()));
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(path, new.to_text())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let n = new.components.len();
    let noun = if n == 1 { "component" } else { "components" };
    let packs = match new.packs.len() {
        0 => String::new(),
        1 => "1 pack and ".to_owned(),
        n => format!("{n} packs and "),
    };
    printer.status("Finished", GREEN, format!("{} pins {packs}{n} {noun}", path.display()));
    Ok(ExitCode::SUCCESS)
}

fn migrate(
    settings: &Settings,
    printer: &mut Printer,
    request: Request,
    (batch_size, batch_pause): (u32, std::time::Duration),
) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || {
        let migrator = load(settings)?.with_batching(batch_size, batch_pause);
        check_lock(settings, &migrator)?;
        Ok(migrator)
    })?;
    let target = db.target().to_owned();
    let started = std::time::Instant::now();
    let mut reporter = CliReporter::new(printer);
    let report = migrator.run(&mut db, &request, &mut reporter)?;
    if let Some(e) = reporter.stdout_error.take() {
        return Err(e.into());
    }
    let reverting = matches!(request.target, Target::Down { .. });
    let n = report.steps.len();
    let noun = if n == 1 { "migration" } else { "migrations" };
    match (n, report.dry_run) {
        (0, _) if reverting => {
            printer.status("Finished", GREEN, format!("nothing to revert in {target}"))
        }
        (0, _) => printer.status("Finished", GREEN, format!("{target} is up to date")),
        (_, true) => {
            let what = if reverting { "reverted" } else { "applied" };
            printer.status(
                "Dry run",
                CYAN,
                format!("{n} {noun} would be {what}; nothing was changed"),
            )
        }
        (_, false) => {
            let what = if reverting { "reverted" } else { "applied" };
            let elapsed = duration(started.elapsed());
            printer.status("Finished", GREEN, format!("{what} {n} {noun} in {elapsed}"))
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || {
        let migrator = load(settings)?;
        check_lock(settings, &migrator)?;
        Ok(migrator)
    })?;
    let applied = migrator.history(db.as_mut())?;
    let entries = godwit::status(migrator.migrations(), &applied);
    let problems = godwit::problems(&entries);
    if problems.is_empty() {
        let n = migrator.migrations().len();
        printer.status("Validated", GREEN, format!("{n} migration files against {}", db.target()));
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        printer.data(problem)?;
    }
    let n = problems.len();
    let noun = if n == 1 { "problem" } else { "problems" };
    Err(Failure::check(format!("validation found {n} {noun} in {}", db.target()))
        .hint("restore edited or missing files, or run `godwit repair` to accept them; out-of-order migrations need `godwit up --allow-out-of-order`")
        .into())
}

fn describe(action: &RepairAction) -> (&'static str, String) {
    match action {
        RepairAction::AcceptChecksum { label, from, to, .. } => (
            "Accept",
            format!(
                "edited {label} (checksum {} becomes {})",
                &from[..12.min(from.len())],
                &to[..12.min(to.len())]
            ),
        ),
        RepairAction::ClearFailed { label, .. } => {
            ("Clear", format!("failed {label} (`godwit up` runs it again)"))
        }
        RepairAction::ForgetMissing { label, .. } => ("Forget", format!("missing {label}")),
    }
}

fn repair(settings: &Settings, printer: &mut Printer, yes: bool) -> anyhow::Result<ExitCode> {
    let migrator = load(settings)?;
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
    let n = actions.len();
    if n == 0 {
        let applied = migrator.history(db.as_mut())?;
        if migrator.repair_actions(&applied).is_empty() {
            printer.status("Finished", GREEN, format!("nothing to repair in {target}"));
        } else {
            printer.status("Cancelled", CYAN, "the history is unchanged");
        }
    } else {
        let noun = if n == 1 { "entry" } else { "entries" };
        printer.status("Repaired", GREEN, format!("{n} history {noun} in {target}"));
    }
    Ok(ExitCode::SUCCESS)
}

fn baseline(
    settings: &Settings,
    printer: &mut Printer,
    version: Version,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings)?;
    let mut db = connect(settings)?;
    let mut reporter = CliReporter::new(printer);
    let marked = migrator.baseline(&mut db, version, &mut reporter)?;
    for label in &marked {
        printer.status("Baselined", GREEN, label);
    }
    let n = marked.len();
    let noun = if n == 1 { "migration" } else { "migrations" };
    printer.status(
        "Finished",
        GREEN,
        format!("marked {n} {noun} up to {version} as applied in {}; nothing was run", db.target()),
    );
    Ok(ExitCode::SUCCESS)
}

fn inspect(
    settings: &Settings,
    printer: &mut Printer,
    file: &Path,
    format: Format,
) -> anyhow::Result<ExitCode> {
    if file.join(godwit::pack::MANIFEST).is_file() {
        return inspect_pack(settings, printer, file, format);
    }
    let artifact = match file.is_dir() {
        true => godwit::build::component(file, settings.build)
            .map_err(|e| Failure::check(format!("{}: {e}", file.display())).hint(e.hint()))?,
        false => file.to_owned(),
    };
    let bytes = std::fs::read(&artifact)
        .map_err(|e| Failure::config(format!("cannot read {}: {e}", file.display())))?;
    let runtime = godwit::wasm::Runtime::new().map_err(anyhow::Error::msg)?;
    let inspection = runtime.inspect(&bytes, settings.wasm).map_err(|e| {
        Failure::check(format!("{}: {e}", file.display()))
            .hint("a godwit migration is a WebAssembly component built against wit/migration.wit")
    })?;
    let world = "godwit:migration/migration-component@0.2.0";
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "schema_version": 1,
                "file": file.display().to_string(),
                "size": inspection.size,
                "sha256": inspection.sha256,
                "imports": inspection.imports,
                "exports": inspection.exports,
                "world": world,
                "matches_world": inspection.world.is_ok(),
                "descriptor": inspection.world.as_ref().ok(),
                "problem": inspection.world.as_ref().err(),
            });
            printer.data(serde_json::to_string_pretty(&value)?)?;
        }
        Format::Text => {
            printer.data(format!("file         {}", file.display()))?;
            printer.data(format!("size         {} bytes", inspection.size))?;
            printer.data(format!("sha256       {}", inspection.sha256))?;
            printer.data(format!("imports      {}", inspection.imports.join(", ")))?;
            printer.data(format!("exports      {}", inspection.exports.join(", ")))?;
            match &inspection.world {
                Ok(info) => {
                    printer.data(format!("world        {world}: yes"))?;
                    printer.data(format!("description  {}", info.description))?;
                    printer.data(format!("reversible   {}", yes_no(info.reversible)))?;
                    printer.data(format!("batched      {}", yes_no(info.batched)))?;
                }
                Err(problem) => printer.data(format!("world        {world}: no, {problem}"))?,
            }
        }
    }
    match inspection.world {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(_) => Ok(ExitCode::from(1)),
    }
}

/// `godwit inspect <pack dir>`: the manifest, the grant, the migrations and the SHA-256 that
/// `godwit lock` pins.
fn inspect_pack(
    settings: &Settings,
    printer: &mut Printer,
    dir: &Path,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let pack = godwit::Pack::load(dir, None)?;
    let source = godwit::DirSource::new(dir).building(settings.build).in_stream(pack.name.clone());
    let migrator = Migrator::from_source(&source)?;
    let migrations = migrator.migrations();
    let sha256 = pack.checksum(migrations);
    match format {
        Format::Json => {
            let list: Vec<_> = migrations
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "label": m.label,
                        "kind": m.kind,
                        "path": m.path.display().to_string(),
                        "checksum": m.checksum,
                        "reversible": m.is_reversible(),
                    })
                })
                .collect();
            let value = serde_json::json!({
                "schema_version": 1,
                "pack": pack.name,
                "version": pack.version,
                "description": pack.description,
                "dir": dir.display().to_string(),
                "sha256": sha256,
                "grant": pack.grant,
                "migrations": list,
            });
            printer.data(serde_json::to_string_pretty(&value)?)?;
        }
        Format::Text => {
            printer.data(format!("pack         {}", pack.name))?;
            printer.data(format!("version      {}", pack.version))?;
            if let Some(description) = &pack.description {
                printer.data(format!("description  {description}"))?;
            }
            printer.data(format!("dir          {}", dir.display()))?;
            printer.data(format!("sha256       {sha256}"))?;
            printer.data(format!("grant        {}", pack.grant.summary()))?;
            for m in migrations {
                let reversible = if m.is_reversible() { "" } else { "  irreversible" };
                printer.data(format!(
                    "migration    {} ({}, {}){reversible}",
                    m.label,
                    m.kind.as_str(),
                    m.checksum.short()
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs() {
        assert_eq!(slug("Add Email to Users!"), "add_email_to_users");
        assert_eq!(slug("  --backfill--names "), "backfill_names");
        assert_eq!(slug("!!!"), "");
    }
}
