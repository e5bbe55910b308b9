//! The engine: resolve → lock → read history → plan → run each step → unlock. Dry runs,
//! `--to` and `--steps` are properties of the request and the plan, not separate loops.

use crate::driver::{DbError, Driver};
use crate::error::{Error, MigrationFailure, ProblemKind, SourceProblem};
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::{Key, Migration, Script, Statement};
use crate::pack::Pack;
use crate::plan::{Action, DownTarget, PackOrder, Step, Target, plan};
use crate::report::{Event, Reporter};
use crate::source::{DirSource, MigrationSource};
use crate::status::{EntryState, status};
use crate::version::Version;
use crate::wasm::{Limits, Runtime};
mod guests;

use self::guests::{Guests, run_batched, run_guest};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to do: where to migrate to, and whether only to show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub target: Target,
    pub dry_run: bool,
}

impl Request {
    /// Apply every pending migration.
    pub fn up() -> Request {
        Request { target: Target::Up { to: None, allow_out_of_order: false }, dry_run: false }
    }

    /// Revert as `down` describes.
    pub fn down(down: DownTarget) -> Request {
        Request { target: Target::Down { stream: String::new(), down }, dry_run: false }
    }
}

/// What a run did (or, for a dry run, would do).
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: Vec<(Action, String, Duration)>,
    pub dry_run: bool,
}

/// A change `godwit repair` makes to the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepairAction {
    /// Record the file's current checksum for an applied migration that was edited.
    AcceptChecksum { stream: String, key: Key, label: String, from: String, to: String },
    /// Delete the row of a migration that failed part-way, so that `up` runs it again.
    ClearFailed { stream: String, key: Key, label: String },
    /// Delete the row of an applied migration whose file is gone.
    ForgetMissing { stream: String, key: Key, label: String },
}

/// Resolved migrations and how to run them.
#[derive(Debug, Clone)]
pub struct Migrator {
    /// The project's migrations, then each pack's.
    migrations: Vec<Migration>,
    /// The packs, in the order the project lists them.
    packs: Vec<Pack>,
    lock_timeout: Duration,
    /// Present when there are component migrations: they were compiled with its engine.
    runtime: Option<Arc<Runtime>>,
    limits: Limits,
    batch_size: u32,
    batch_pause: Duration,
}

impl Migrator {
    /// Resolves the migrations in `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Migrator, Error> {
        Migrator::from_source(&DirSource::new(dir.as_ref()))
    }

    /// Resolves the source's migrations and compiles its components, checking each against
    /// godwit's world before anything runs.
    pub fn from_source(source: &dyn MigrationSource) -> Result<Migrator, Error> {
        Migrator::with_packs(source, Vec::new(), crate::build::BuildMode::Build)
    }

    /// Resolves the project's migrations and every pack's (each in its own stream), and
    /// compiles their components. Problems of every file are reported together.
    pub fn with_packs(
        source: &dyn MigrationSource,
        packs: Vec<Pack>,
        build: crate::build::BuildMode,
    ) -> Result<Migrator, Error> {
        for (i, pack) in packs.iter().enumerate() {
            if let Some(first) = packs[..i].iter().find(|p| p.name == pack.name) {
                return Err(Error::InvalidPack {
                    path: pack.dir.join(crate::pack::MANIFEST),
                    reason: format!(
                        "the pack name `{}` is also the name of {}",
                        pack.name,
                        first.dir.display()
                    ),
                });
            }
        }
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let sources =
            packs.iter().map(|p| DirSource::new(&p.dir).building(build).in_stream(p.name.clone()));
        let resolved =
            std::iter::once(source.resolve()).chain(sources.map(|source| source.resolve()));
        for result in resolved {
            match result {
                Ok(found) => migrations.extend(found),
                Err(Error::InvalidMigrations { problems: found }) => problems.extend(found),
                Err(error) => return Err(error),
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidMigrations { problems });
        }
        let mut migrator = Migrator::new(migrations);
        migrator.packs = packs;
        migrator.runtime = prepare_components(&mut migrator.migrations, migrator.limits)?;
        Ok(migrator)
    }

    /// Migrations as they are; component migrations among them must have been prepared.
    pub fn new(migrations: Vec<Migration>) -> Migrator {
        Migrator {
            migrations,
            packs: Vec::new(),
            lock_timeout: Duration::from_secs(60),
            runtime: None,
            limits: Limits::default(),
            batch_size: 1000,
            batch_pause: Duration::ZERO,
        }
    }

    /// Rows per `transform` call of batched migrations, and a pause between batches to spare
    /// a busy production database.
    pub fn with_batching(mut self, batch_size: u32, pause: Duration) -> Migrator {
        self.batch_size = batch_size.max(1);
        self.batch_pause = pause;
        self
    }

    /// The sandbox's limits for every call into a component migration.
    pub fn with_wasm_limits(mut self, limits: Limits) -> Migrator {
        self.limits = limits;
        self
    }

    /// How long to wait for another process's migration lock before giving up.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = timeout;
        self
    }

    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// Where each pack's migrations go among the project's.
    fn order(&self) -> Vec<PackOrder> {
        self.packs.iter().map(|p| PackOrder { pack: p.name.clone(), after: p.after }).collect()
    }

    /// The history rows, without locking or creating anything.
    pub fn history(&self, driver: &mut dyn Driver) -> Result<Vec<AppliedMigration>, Error> {
        driver.history().map_err(|source| Error::Database {
            context: format!("cannot read the history of {}", driver.target()),
            source,
        })
    }

    /// Plans the request and runs it (or reports it, for a dry run) under the migration lock.
    pub fn run(
        &self,
        driver: &mut Box<dyn Driver>,
        request: &Request,
        reporter: &mut dyn Reporter,
    ) -> Result<Report, Error> {
        let mut db = self.lock(driver, reporter)?;
        let applied = self.history(&mut **db)?;
        let plan = plan(&self.migrations, &applied, &request.target, &self.order())?;
        // The history table is created (or upgraded) once the plan stands: a refused plan
        // leaves the database exactly as it was, and a run with nothing to do on a database
        // that has a history does not touch it.
        if !request.dry_run && (!plan.is_empty() || applied.is_empty()) {
            ensure_history(&mut **db)?;
        }
        let mut report = Report { steps: Vec::new(), dry_run: request.dry_run };
        let guests = Guests {
            runtime: self.runtime.as_deref(),
            limits: self.limits,
            batch_size: self.batch_size,
            batch_pause: self.batch_pause,
            applied: &applied,
            packs: &self.packs,
        };
        let outcome =
            run_steps(&mut db, &guests, &plan.steps, request.dry_run, reporter, &mut report);
        // Whatever the outcome, the steps that did commit are made durable.
        outcome.and(sync(&mut **db))?;
        Ok(report)
    }

    /// What `repair` would change, given the current history.
    pub fn repair_actions(&self, applied: &[AppliedMigration]) -> Vec<RepairAction> {
        status(&self.migrations, applied)
            .into_iter()
            .filter_map(|entry| {
                let (key, label) = (entry.key.clone(), entry.label.clone());
                let stream = entry.stream.clone();
                match (entry.state, entry.migration, entry.record) {
                    (EntryState::Modified, Some(m), Some(row)) => {
                        Some(RepairAction::AcceptChecksum {
                            stream,
                            key,
                            label,
                            from: row.checksum.to_string(),
                            to: m.checksum.to_string(),
                        })
                    }
                    (EntryState::Failed, _, _) => {
                        Some(RepairAction::ClearFailed { stream, key, label })
                    }
                    (EntryState::Missing, _, _) => {
                        Some(RepairAction::ForgetMissing { stream, key, label })
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Under the lock, computes the repair, asks `confirm` and applies it in one transaction.
    /// Returns the actions taken (none when there was nothing to do or it was declined).
    pub fn repair(
        &self,
        driver: &mut Box<dyn Driver>,
        reporter: &mut dyn Reporter,
        confirm: &mut dyn FnMut(&[RepairAction]) -> bool,
    ) -> Result<Vec<RepairAction>, Error> {
        let mut db = self.lock(driver, reporter)?;
        let applied = self.history(&mut **db)?;
        let actions = self.repair_actions(&applied);
        if actions.is_empty() || !confirm(&actions) {
            return Ok(Vec::new());
        }
        in_transaction(&mut **db, "cannot repair the history", |db| {
            for action in &actions {
                match action {
                    RepairAction::AcceptChecksum { stream, key, to, .. } => {
                        db.update_checksum(stream, key, to)?
                    }
                    RepairAction::ClearFailed { stream, key, .. }
                    | RepairAction::ForgetMissing { stream, key, .. } => {
                        db.delete_record(stream, key)?
                    }
                }
            }
            Ok(())
        })?;
        Ok(actions)
    }

    /// Marks every migration up to `version` as applied without running it, for a database
    /// that already has that schema. Returns the labels it marked.
    pub fn baseline(
        &self,
        driver: &mut Box<dyn Driver>,
        version: Version,
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<String>, Error> {
        // A baseline is of the project's own migrations; packs then run as usual.
        let project = || self.migrations.iter().filter(|m| m.stream.is_empty());
        if !project().any(|m| m.version() == Some(version)) {
            return Err(Error::UnknownVersion { version });
        }
        let mut db = self.lock(driver, reporter)?;
        ensure_history(&mut **db)?;
        let applied = self.history(&mut **db)?;
        let already = applied.iter().filter(|row| row.version.is_some()).count();
        if already > 0 {
            return Err(Error::BaselineOnMigrated { applied: already });
        }
        let marked: Vec<&Migration> =
            project().filter(|m| m.version().is_some_and(|v| v <= version)).collect();
        in_transaction(&mut **db, "cannot record the baseline", |db| {
            for migration in &marked {
                db.insert_record(&NewRecord::of(migration, RecordState::Applied, 0))?;
            }
            Ok(())
        })?;
        Ok(marked.iter().map(|m| m.label.clone()).collect())
    }

    /// Takes the migration lock, polling until the lock timeout.
    fn lock<'d>(
        &self,
        driver: &'d mut Box<dyn Driver>,
        reporter: &mut dyn Reporter,
    ) -> Result<LockGuard<'d>, Error> {
        let started = Instant::now();
        let mut announced = false;
        loop {
            let locked = driver.try_lock().map_err(|source| Error::Database {
                context: format!("cannot take the migration lock on {}", driver.target()),
                source,
            })?;
            if locked {
                return Ok(LockGuard { driver });
            }
            if started.elapsed() >= self.lock_timeout {
                return Err(Error::LockTimeout {
                    target: driver.target().to_owned(),
                    waited: self.lock_timeout,
                });
            }
            if !announced {
                let timeout = self.lock_timeout;
                reporter.report(Event::WaitingForLock { target: driver.target(), timeout });
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(50).min(self.lock_timeout));
        }
    }
}

/// Compiles every component migration and asks it to describe itself; collects every
/// component that is not a godwit migration as a problem naming its file.
fn prepare_components(
    migrations: &mut [Migration],
    limits: Limits,
) -> Result<Option<Arc<Runtime>>, Error> {
    if !migrations.iter().any(|m| matches!(m.script, Script::Wasm(_))) {
        return Ok(None);
    }
    let runtime = Runtime::new().map_err(|reason| Error::WasmRuntime { reason })?;
    let mut problems = Vec::new();
    for migration in migrations.iter_mut() {
        let Script::Wasm(wasm) = &mut migration.script else {
            continue;
        };
        let prepared = runtime.compile(&wasm.bytes).and_then(|component| {
            let info = runtime.describe(&component, limits)?;
            Ok((component, info))
        });
        match prepared {
            Ok(prepared) => wasm.prepared = Some(prepared),
            Err(error) => problems.push(SourceProblem::new(
                &migration.path,
                ProblemKind::Component(error.to_string()),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidMigrations { problems });
    }
    Ok(Some(Arc::new(runtime)))
}

/// Holds the migration lock; releasing it on drop covers every early return and panic.
struct LockGuard<'d> {
    driver: &'d mut Box<dyn Driver>,
}

impl Deref for LockGuard<'_> {
    type Target = Box<dyn Driver>;
    fn deref(&self) -> &Self::Target {
        self.driver
    }
}

impl DerefMut for LockGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.driver
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Nothing better can be done with a failure here: the lock also ends with the
        // connection (PostgreSQL) or the process (SQLite).
        let _ = self.driver.unlock();
    }
}

fn run_steps(
    db: &mut Box<dyn Driver>,
    guests: &Guests<'_>,
    steps: &[Step<'_>],
    dry_run: bool,
    reporter: &mut dyn Reporter,
    report: &mut Report,
) -> Result<(), Error> {
    for step in steps {
        reporter.report(Event::StepStarted { step, dry_run });
        let elapsed = if dry_run {
            for Statement { sql, line } in statements(step)? {
                reporter.report(Event::Statement { sql, line: *line, dry_run });
            }
            Duration::ZERO
        } else {
            let elapsed = execute_step(db, step, guests, reporter)?;
            reporter.report(Event::StepFinished { step, elapsed });
            elapsed
        };
        report.steps.push((step.action, step.migration.label.clone(), elapsed));
    }
    Ok(())
}

fn sync(db: &mut dyn Driver) -> Result<(), Error> {
    db.sync().map_err(|source| Error::Database {
        context: format!("cannot commit the migrations applied to {}", db.target()),
        source,
    })
}

fn ensure_history(db: &mut dyn Driver) -> Result<(), Error> {
    db.ensure_history().map_err(|source| Error::Database {
        context: format!("cannot create the history table in {}", db.target()),
        source,
    })
}

/// Runs `body` in a transaction, rolling back if it fails, and makes it durable.
fn in_transaction(
    db: &mut dyn Driver,
    context: &str,
    body: impl FnOnce(&mut dyn Driver) -> Result<(), DbError>,
) -> Result<(), Error> {
    let result = db.begin().and_then(|()| body(&mut *db)).and_then(|()| db.commit());
    result.and_then(|()| db.sync()).map_err(|source| {
        let _ = db.rollback();
        Error::Database { context: context.to_owned(), source }
    })
}

fn statements<'m>(step: &Step<'m>) -> Result<&'m [Statement], Error> {
    let Script::Sql(script) = &step.migration.script else {
        return Ok(&[]);
    };
    match step.action {
        Action::Apply | Action::Reapply | Action::Resume => Ok(&script.up),
        Action::Revert => script
            .down
            .as_deref()
            .ok_or_else(|| Error::Irreversible { labels: vec![step.migration.label.clone()] }),
    }
}

/// Runs one step and records it. In a transaction, a failure rolls back both; outside one
/// (`no-transaction`), the migration is recorded as failed so that `up` stops until repaired.
fn execute_step(
    db: &mut Box<dyn Driver>,
    step: &Step<'_>,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
    let migration = step.migration;
    if let Script::Wasm(wasm) = &migration.script
        && wasm.prepared.as_ref().is_some_and(|(_, info)| info.batched)
        && step.action != Action::Revert
    {
        return run_batched(db, step, wasm, guests, reporter);
    }
    let transactional = migration.runs_in_transaction();
    let started = Instant::now();
    let record_context =
        format!("cannot record {} ({}) in the history", migration.label, migration.path.display());
    if transactional {
        db.begin().map_err(|source| Error::Database { context: record_context.clone(), source })?;
    } else {
        // Statements that refuse to run in a transaction must not run in one still open.
        sync(db.as_mut())?;
    }
    let outcome = guests.confined(db, migration, |db| match &migration.script {
        Script::Sql(_) => run_statements(db.as_mut(), step, reporter),
        Script::Wasm(wasm) => run_guest(db, step, wasm, guests, reporter),
    });
    if let Err(error) = outcome {
        if transactional {
            let _ = db.rollback();
        } else {
            let ms = elapsed_ms(started);
            in_transaction(db.as_mut(), &record_context, |db| {
                db.delete_record(&migration.stream, &migration.key)?;
                db.insert_record(&NewRecord::of(migration, RecordState::Failed, ms))
            })?;
        }
        return Err(error);
    }
    let elapsed = started.elapsed();
    let ms = elapsed_ms(started);
    let record = |db: &mut dyn Driver| match step.action {
        Action::Apply => db.insert_record(&NewRecord::of(migration, RecordState::Applied, ms)),
        Action::Reapply => db
            .delete_record(&migration.stream, &migration.key)
            .and_then(|()| db.insert_record(&NewRecord::of(migration, RecordState::Applied, ms))),
        Action::Revert | Action::Resume => db.delete_record(&migration.stream, &migration.key),
    };
    if transactional {
        let result = record(db.as_mut()).and_then(|()| db.commit());
        result.map_err(|source| {
            let _ = db.rollback();
            Error::Database { context: record_context, source }
        })?;
    } else {
        in_transaction(db.as_mut(), &record_context, record)?;
    }
    Ok(elapsed)
}

fn run_statements(
    db: &mut dyn Driver,
    step: &Step<'_>,
    reporter: &mut dyn Reporter,
) -> Result<(), Error> {
    let recorded_failed = !step.migration.runs_in_transaction();
    for statement in statements(step)? {
        reporter.report(Event::Statement {
            sql: &statement.sql,
            line: statement.line,
            dry_run: false,
        });
        db.execute(&statement.sql)
            .map_err(|source| failure(step, statement, source, recorded_failed))?;
    }
    Ok(())
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn failure(
    step: &Step<'_>,
    statement: &Statement,
    source: DbError,
    recorded_failed: bool,
) -> Error {
    // PostgreSQL points at a character of the statement; count the lines before it.
    let line = statement.line
        + source.position.map_or(0, |at| {
            statement.sql.chars().take(at.saturating_sub(1)).filter(|c| *c == '\n').count()
        });
    Error::MigrationFailed(Box::new(MigrationFailure {
        label: step.migration.label.clone(),
        path: step.migration.path.clone(),
        line,
        statement: statement.sql.clone(),
        reverting: step.action == Action::Revert,
        recorded_failed,
        source,
    }))
}
