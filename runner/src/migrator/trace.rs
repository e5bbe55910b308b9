//! `godwit lint --trace`: the pending migrations run on PostgreSQL with their locks read
//! after each statement, in a transaction rolled back on the target itself, or committed on
//! a scratch database created beside it (which also runs what needs to be outside a
//! transaction) and dropped after.

use super::scratch::Scratch;
use super::{Migrator, Request};
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection, DbError, Dialect};
use crate::error::Error;
use crate::lint::{Trace, TraceError, Traced, TracedStatement, Tracer};
use crate::migration::Script;
use crate::plan::{Action, Step};
use crate::transforms::worker;

impl Migrator {
    /// Runs the pending migrations on `conn` in one transaction that is rolled back, reading
    /// the locks each statement takes. The locks are real: each statement waits at most the
    /// run's lock timeout, and one that rewrites a big table holds its lock while it does.
    /// Statements that run only outside a transaction are not traced
    /// ([`Migrator::trace_on_scratch`] traces them).
    pub fn trace(&self, conn: &mut Connection) -> Result<Trace, Error> {
        postgres(conn)?;
        let target = conn.target().to_owned();
        let queued = worker::queued(conn.driver()?)?;
        let applied = self.history(conn)?;
        let (plan, _) = self.plan_run(&Request::up(), &applied, &queued)?;
        let catalog = |source| TraceError::Catalog { target: target.clone(), source };
        let mut tracer = Tracer::rolled_back(conn.driver()?).map_err(catalog)?;
        self.trace_steps(&mut tracer, &plan.steps).map_err(catalog)?;
        let statements = tracer.finish().map_err(catalog)?;
        Ok(Trace { scratch_database: None, statements })
    }

    /// Creates a scratch database on the server of `url`, applies there what the target has
    /// applied, then runs the target's pending migrations on it, committed as a run commits
    /// them, reading the locks each statement takes (those that run only outside a
    /// transaction, such as `CREATE INDEX CONCURRENTLY`, read by a second session while
    /// they run). The scratch database is dropped at the end; the target is only read.
    /// `dev` names an empty database to use instead of creating one.
    pub fn trace_on_scratch(
        &self,
        url: &str,
        options: &ConnectOptions,
        dev: Option<&str>,
    ) -> Result<Trace, Error> {
        let mut conn = connect(url, options)?;
        postgres(&conn)?;
        let applied = self.history(&mut conn)?;
        let scratch = Scratch::new(&mut conn, url, dev, options)?;
        let traced = self.on_scratch(&scratch, options, &applied);
        let name = scratch.created().map(str::to_owned);
        let dropped = scratch.discard(&mut conn);
        let statements = traced?;
        dropped?;
        Ok(Trace { scratch_database: name, statements })
    }

    fn on_scratch(
        &self,
        scratch: &Scratch,
        options: &ConnectOptions,
        applied: &[crate::history::AppliedMigration],
    ) -> Result<Vec<TracedStatement>, Error> {
        let mut db = scratch.build(self, applied, options)?;
        let mut observer = connect(&scratch.url, options)?;
        let target = db.target().to_owned();
        let queued = worker::queued(db.driver()?)?;
        let applied = self.history(&mut db)?;
        let (plan, _) = self.plan_run(&Request::up(), &applied, &queued)?;
        let catalog = |source| TraceError::Catalog { target: target.clone(), source };
        let mut tracer = Tracer::committed(db.driver()?, observer.driver()?);
        self.trace_steps(&mut tracer, &plan.steps).map_err(catalog)?;
        Ok(tracer.finish().map_err(catalog)?)
    }

    fn trace_steps(&self, tracer: &mut Tracer<'_>, steps: &[Step<'_>]) -> Result<(), DbError> {
        let applied = steps.iter().filter(|s| matches!(s.action, Action::Apply | Action::Reapply));
        for step in applied {
            let migration = step.migration;
            match &migration.script {
                Script::Sql(sql) => tracer.migration(&Traced {
                    label: &migration.label,
                    path: &migration.path,
                    statements: &sql.up,
                    transaction: sql.in_transaction(false),
                    timeout: self.lock_waits.of_file(sql.lock_timeout),
                })?,
                Script::Wasm(_) => tracer.not_traced(
                    &migration.label,
                    &migration.path,
                    "a WebAssembly component: its statements are known only when it runs",
                ),
            }
        }
        Ok(())
    }
}

fn postgres(conn: &Connection) -> Result<(), TraceError> {
    match conn.dialect() {
        Dialect::Postgres => Ok(()),
        _ => Err(TraceError::NotPostgres { target: conn.target().to_owned() }),
    }
}
