//! The engine: resolve → check pins → lock → read history → plan → run each step → unlock.
//! Dry runs, `--to` and `--steps` are properties of the request and the plan, not separate
//! loops. [`Migrator::run`] reads as that algorithm; what it settles before the first step is
//! in `prepare`, the step loop in `steps`, and one run's context in `crate::run`.

mod adopt;
mod drift;
mod lint;
mod load;
mod prepare;
mod repair;
mod runnable;
mod scratch;
mod squash;
mod steps;
mod trace;
mod transforms;
mod verify;

pub use self::adopt::{AdoptRequest, Adoption};
pub use self::drift::{Drift, Drifted};
pub use self::load::Loader;
pub use self::repair::RepairAction;
pub use self::squash::Squash;
pub use self::verify::{Verification, Verified};
pub use crate::transforms::worker::Worked;

use crate::driver::{Connection, DbError};
use crate::error::Error;
use crate::history::Keep;
use crate::history::{self, AppliedMigration};
use crate::lint::{Finding, Levels};
use crate::lock_file::{LockFile, PinChange, Pins};
use crate::locks::LockWaits;
use crate::migration::Migration;
use crate::pack::Pack;
use crate::plan::{Action, DownTarget, PackOrder, Target};
use crate::report::{Event, NoReport, Reporter};
use crate::run::{LockGuard, Run};
use crate::source::{Format, MigrationSource};
use crate::status::{Problem, problems, status};
use crate::stream::Stream;
use crate::transforms::{BatchPolicy, Throttle, worker};
use crate::wasm::Limits;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to do: where to migrate to, and whether only to show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub target: Target,
    pub dry_run: bool,
    /// Who runs the batches of the batched migrations this run applies.
    pub transforms: TransformMode,
    /// When a migration needs (`-- godwit:requires`) a transform a worker owns finished:
    /// finish it first (`true`), or refuse before anything runs.
    pub wait_for_transforms: bool,
    /// Lint the migrations the run applies first (`godwit lint`'s rules at the migrator's
    /// levels): errors their files do not allow stop the run before anything is applied.
    pub lint: bool,
}

impl Request {
    /// Apply every pending migration.
    pub fn up() -> Request {
        let target = Target::Up { to: None, allow_out_of_order: false };
        Request::new(target)
    }

    fn new(target: Target) -> Request {
        let transforms = TransformMode::AsDeclared;
        Request { target, dry_run: false, transforms, wait_for_transforms: true, lint: true }
    }

    /// This request with batched migrations' transforms queued for a worker.
    pub fn deferring_transforms(self) -> Request {
        Request { transforms: TransformMode::Defer, ..self }
    }

    /// This request with every batched migration's transform run to the end, also those that
    /// asked to be deferred.
    pub fn running_transforms(self) -> Request {
        Request { transforms: TransformMode::Run, ..self }
    }

    /// Revert the project's migrations as `down` describes.
    pub fn down(down: DownTarget) -> Request {
        Request::new(Target::Down { stream: Stream::Project, down })
    }
}

/// Who runs the batches of a batched migration that a run applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformMode {
    /// The run, to the end, unless the migration asked to be deferred to a worker.
    #[default]
    AsDeclared,
    /// The run, to the end, whatever the migration asked.
    Run,
    /// A worker ([`Migrator::work`]): the run applies `up` and queues the transform.
    Defer,
}

/// One step of a run: what it did to which migration, and how long it took (zero in a dry
/// run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    pub action: Action,
    pub label: String,
    pub elapsed: Duration,
    /// In a dry run, the step's statements with the locks they would take.
    pub statements: Vec<PlannedStatement>,
}

/// A statement a dry run would send: its line in the file, and on PostgreSQL the locks it
/// would take, with the sizes of their relations in the connected database.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlannedStatement {
    pub line: usize,
    pub sql: String,
    pub locks: Vec<crate::lint::Lock>,
}

/// What a run did (or, for a dry run, would do).
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: Vec<StepReport>,
    pub dry_run: bool,
    /// In a dry run, the lint findings that would stop the run (a run that is not dry
    /// refuses with [`Error::Lint`] instead).
    pub refused: Vec<Finding>,
}

/// What `godwit lock` did: the lock file now, what changed from the one before, and whether
/// the file was written (it is not when nothing changed).
#[derive(Clone, Debug)]
pub struct Relock {
    pub path: PathBuf,
    pub lock: LockFile,
    pub changes: Vec<PinChange>,
    pub written: bool,
}

/// Resolved migrations and how to run them.
#[derive(Debug, Clone)]
pub struct Migrator {
    /// The project's migrations, then each pack's; components compiled.
    migrations: Vec<Migration>,
    /// The packs, in the order the project lists them.
    packs: Vec<Pack>,
    /// What `godwit.lock` pins; checked before anything is applied, reverted or validated.
    pins: Pins,
    lock_timeout: Duration,
    limits: Limits,
    batch: BatchPolicy,
    throttle: Throttle,
    /// Another tool's history table kept up to date beside godwit's.
    keep: Option<Keep>,
    /// The levels of the linter's rules for the migrations a run applies.
    lint: Levels,
    /// How long statements wait for locks, and how often a migration that gave up is tried
    /// again.
    lock_waits: LockWaits,
    /// The project folder's format: another tool's folder is linted, never refused.
    format: Format,
}

impl Migrator {
    /// Resolves the migrations in `dir` (building crate migrations), with the pins of the
    /// project it belongs to: the `godwit.lock` of the nearest directory from `dir` up that
    /// holds one or a `godwit.toml`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Migrator, Error> {
        Loader::new(dir.as_ref()).load(&mut NoReport)
    }

    /// How to load a project with packs, an explicit lock file or other settings.
    pub fn loader(dir: impl AsRef<Path>) -> Loader {
        Loader::new(dir.as_ref())
    }

    /// The source's migrations, without pins (see [`Migrator::with_pins`]).
    pub fn from_source(source: &dyn MigrationSource) -> Result<Migrator, Error> {
        Migrator::new(source.resolve(&mut |_| {})?)
    }

    /// Migrations as they are, without pins; component migrations are compiled and checked
    /// against godwit's world here, so a migrator never meets an uncompiled one.
    pub fn new(migrations: Vec<Migration>) -> Result<Migrator, Error> {
        load::compile(migrations, Limits::default(), None)
    }

    /// How batches of batched migrations are sized, timed out and retried (the default
    /// steers them towards 200 ms each).
    pub fn with_batch_policy(mut self, policy: BatchPolicy) -> Migrator {
        self.batch = policy;
        self
    }

    /// When batched migrations hold off between batches (replica lag, vacuum, lock waits,
    /// a probe).
    pub fn with_throttle(mut self, throttle: Throttle) -> Migrator {
        self.throttle = throttle;
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

    /// How long each statement of a migration waits for a lock on PostgreSQL before the
    /// migration gives up (and is rolled back and tried again); the default waits five
    /// seconds and tries three more times.
    pub fn with_lock_waits(mut self, waits: LockWaits) -> Migrator {
        self.lock_waits = waits;
        self
    }

    /// The levels of the linter's rules when a run lints the migrations it applies.
    pub fn with_lint_levels(mut self, levels: Levels) -> Migrator {
        self.lint = levels;
        self
    }

    /// Keeps another tool's history table up to date as migrations of its folder are applied
    /// and reverted, in the same transactions as godwit's own rows; a run checks first that
    /// the table is there and as the tool writes it.
    pub fn keeping(mut self, keep: Keep) -> Migrator {
        self.keep = Some(keep);
        self
    }

    /// Pins to check before anything is applied, reverted or validated.
    pub fn with_pins(mut self, pins: Pins) -> Migrator {
        self.pins = pins;
        self
    }

    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    pub fn pins(&self) -> &Pins {
        &self.pins
    }

    /// Where each pack's migrations go among the project's.
    fn order(&self) -> Vec<PackOrder> {
        self.packs.iter().map(|p| PackOrder { pack: p.name.clone(), after: p.after }).collect()
    }

    /// Refuses packs and components that `godwit.lock` does not pin as they are.
    pub fn check_pins(&self) -> Result<(), Error> {
        Ok(self.pins.check(&self.migrations, &self.packs)?)
    }

    /// Pins every pack and component as they are now in the lock file, and says what changed.
    pub fn relock(&self) -> Result<Relock, Error> {
        let path = self.pins.path().to_owned();
        let old = self.pins.locked().cloned().unwrap_or_default();
        let lock = self.pins.current(&self.migrations, &self.packs);
        let mut changes: Vec<PinChange> =
            old.pack_diff(&lock).into_iter().map(PinChange::Pack).collect();
        changes.extend(old.diff(&lock).into_iter().map(PinChange::Component));
        let written = !changes.is_empty() || !path.is_file();
        if written {
            lock.write(&path).map_err(Error::from)?;
        }
        Ok(Relock { path, lock, changes, written })
    }

    /// The history rows, without locking or creating anything.
    pub fn history(&self, conn: &mut Connection) -> Result<Vec<AppliedMigration>, Error> {
        Ok(history::read(conn.driver()?)?)
    }

    /// Every problem with the applied migrations (modified, missing, failed, out of order),
    /// after refusing packs and components that the pins do not allow.
    pub fn validate(&self, conn: &mut Connection) -> Result<Vec<Problem>, Error> {
        self.check_pins()?;
        let applied = self.history(conn)?;
        runnable::check_pending(&self.migrations, &applied)?;
        Ok(problems(&status(&self.migrations, &applied)))
    }

    /// Plans the request and runs it (or reports it, for a dry run) under the migration lock.
    pub fn run(
        &self,
        conn: &mut Connection,
        request: &Request,
        reporter: &mut dyn Reporter,
    ) -> Result<Report, Error> {
        self.check_pins()?;
        let mut locked = self.lock(conn, reporter)?;
        let queued = worker::queued(locked.driver()?)?;
        let applied = self.history_for(&mut locked, &request.target, &queued)?;
        let (plan, needed) = self.plan_run(request, &applied, &queued)?;
        let refused = self.lint_steps(&plan.steps, request, locked.dialect(), reporter)?;
        let mode = request.transforms.mode();
        let keep = self.prepare(&mut locked, request, &plan.steps, &applied, mode)?;
        let knows = self.knows(mode, &needed, &queued, &applied, keep.as_ref(), request.lint);
        let mut report = Report { steps: Vec::new(), dry_run: request.dry_run, refused };
        let mut run = Run { conn: &mut locked, reporter, knows };
        let outcome = steps::run(&mut run, &plan.steps, request.dry_run, &mut report);
        // Whatever the outcome, the steps that did commit are made durable.
        let synced = sync(&mut locked);
        locked.release();
        outcome.and(synced)?;
        Ok(report)
    }

    /// Takes the migration lock, polling until the lock timeout.
    fn lock<'c>(
        &self,
        conn: &'c mut Connection,
        reporter: &mut dyn Reporter,
    ) -> Result<LockGuard<'c>, Error> {
        let started = Instant::now();
        let mut announced = false;
        loop {
            let target = conn.target().to_owned();
            let locked = conn.driver()?.try_lock().map_err(|source| Error::Database {
                context: format!("cannot take the migration lock on {target}"),
                source,
            })?;
            if locked {
                return Ok(LockGuard::new(conn));
            }
            if started.elapsed() >= self.lock_timeout {
                return Err(Error::LockTimeout { target, waited: self.lock_timeout });
            }
            if !announced {
                let timeout = self.lock_timeout;
                reporter.report(Event::WaitingForLock { target: &target, timeout });
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(50).min(self.lock_timeout));
        }
    }
}

/// Makes the run's committed steps durable.
fn sync(conn: &mut Connection) -> Result<(), Error> {
    let target = conn.target().to_owned();
    conn.driver()?.sync().map_err(|source| {
        database(format!("cannot commit the migrations applied to {target}"), source)
    })
}

fn database(context: String, source: DbError) -> Error {
    Error::Database { context, source }
}
