//! Steps a driver may run as a batch: each a migration's SQL statements and godwit's history
//! writes, in a transaction of its own. A driver whose database answers over a network can
//! send several steps before it reads an answer, as long as no step runs after one that
//! failed; one that cannot runs them one by one, with [`one_by_one`].

use super::{DbError, Driver};
use crate::driver::Write;
use std::time::{Duration, Instant};

/// One step of [`Driver::run_steps`].
#[derive(Clone, Debug)]
pub struct StepWork<'a> {
    /// The migration's statements, in order.
    pub statements: Vec<&'a str>,
    /// godwit's writes to the history once the statements succeeded; an insert may leave its
    /// execution time to be measured ([`Write::with_elapsed`]).
    pub writes: Vec<Write>,
}

/// Where a batch of steps stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    /// Which step, from 0; the steps before it committed, none after it ran.
    pub step: usize,
    /// Which of its statements failed; `None` when godwit's part did (beginning the step,
    /// the history check, the writes or the commit).
    pub statement: Option<usize>,
    pub error: DbError,
}

/// What a batch of steps did: how long each committed step took, and where it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepsRun {
    pub took: Vec<Duration>,
    pub failure: Option<StepFailure>,
}

/// Runs the steps one after another, each begun, run, checked, recorded and committed before
/// the next; a failed step is rolled back.
pub fn one_by_one<D: Driver + ?Sized>(db: &mut D, steps: &[StepWork<'_>]) -> StepsRun {
    let mut run = StepsRun::default();
    for (step, work) in steps.iter().enumerate() {
        let failed = |statement, error| Some(StepFailure { step, statement, error });
        let started = Instant::now();
        if let Err(error) = db.begin() {
            run.failure = failed(None, error);
            return run;
        }
        for (at, sql) in work.statements.iter().enumerate() {
            if let Err(error) = db.execute(sql) {
                let _ = db.rollback();
                run.failure = failed(Some(at), error);
                return run;
            }
        }
        let elapsed = started.elapsed();
        let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let writes: Vec<Write> = work.writes.iter().map(|w| w.with_elapsed(ms)).collect();
        if let Err(error) = db.finish(&writes) {
            let _ = db.rollback();
            run.failure = failed(None, error);
            return run;
        }
        run.took.push(elapsed);
    }
    run
}
