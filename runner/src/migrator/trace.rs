//! `godwit lint --trace`: the pending migrations run on PostgreSQL with their locks read
//! after each statement, in a transaction rolled back on the target itself, or committed on
//! a scratch database created beside it (which also runs what needs to be outside a
//! transaction) and dropped after.

use super::{Migrator, Request};
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection, DbError, Dialect, on_database};
use crate::error::Error;
use crate::lint::{Trace, TraceError, Traced, TracedStatement, Tracer};
use crate::migration::Script;
use crate::plan::{Action, Step, Target};
use crate::report::NoReport;
use crate::stream::Stream;
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
    pub fn trace_on_scratch(&self, url: &str, options: &ConnectOptions) -> Result<Trace, Error> {
        let mut conn = connect(url, options)?;
        postgres(&conn)?;
        let target = conn.target().to_owned();
        let applied = self.history(&mut conn)?;
        let name = format!(
            "godwit_trace_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros())
        );
        let scratch_url = on_database(url, &name).unwrap_or_default();
        let create = format!("CREATE DATABASE {name} TEMPLATE template0");
        conn.driver()?
            .own_batch(&create)
            .map_err(|source| TraceError::Scratch { target: target.clone(), source })?;
        let traced = self.on_scratch(&scratch_url, options, &applied);
        let dropped =
            conn.driver()?.own_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        let traced = traced?;
        dropped.map_err(|source| Error::Database {
            context: format!(
                "cannot drop the scratch database {name} on {target}: drop it by hand"
            ),
            source,
        })?;
        Ok(Trace { scratch_database: Some(name), statements: traced })
    }

    fn on_scratch(
        &self,
        url: &str,
        options: &ConnectOptions,
        applied: &[crate::history::AppliedMigration],
    ) -> Result<Vec<TracedStatement>, Error> {
        let mut scratch = connect(url, options)?;
        let newest =
            applied.iter().filter(|a| a.stream == Stream::Project).filter_map(|a| a.version).max();
        if let Some(newest) = newest {
            let to = Target::Up { to: Some(newest), allow_out_of_order: true };
            let request = Request { target: to, lint: false, ..Request::up() };
            self.run(&mut scratch, &request, &mut NoReport)?;
        }
        let mut observer = connect(url, options)?;
        let target = scratch.target().to_owned();
        let queued = worker::queued(scratch.driver()?)?;
        let applied = self.history(&mut scratch)?;
        let (plan, _) = self.plan_run(&Request::up(), &applied, &queued)?;
        let catalog = |source| TraceError::Catalog { target: target.clone(), source };
        let mut tracer = Tracer::committed(scratch.driver()?, observer.driver()?);
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
