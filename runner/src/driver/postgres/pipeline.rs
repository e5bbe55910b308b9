//! Steps sent together: every message of several steps (each step's `BEGIN`, its statements,
//! the history check, godwit's writes, its `COMMIT`) goes out before any answer is read, so a
//! run of many small migrations is not a run of round trips. Each message keeps its own
//! answer, so a failure is still told by step and statement. The end of a step whose
//! transaction is already open (a component's, a repair's) is sent the same way, as a step
//! without statements.
//!
//! No step may run after one that failed. Each step's history check, when it passes, names
//! the step in a session setting, in the step's transaction; each step after the first
//! begins by checking that setting names the step before it. A step that failed (a
//! statement, the check, a write, or its `COMMIT`) ends rolled back, and its setting with it,
//! so every step after it fails at its beginning and runs nothing.
//!
//! Steps sent together end with the quick history check (see `guard`). One it suspects is
//! rolled back like any failed step and run again on its own, with the full check; so is the
//! first step after statements that ran outside a transaction. The steps after it are then
//! sent together again.

use super::PostgresDriver;
use super::client::Request;
use super::history_check::{Check, HistoryShape, LAST_STEP, SUSPECT, finding};
use super::types::{Param, as_sql, db_error};
use crate::driver::WriteKind;
use crate::driver::{DbError, StepFailure, StepWork, StepsRun, one_by_one};
use std::cell::RefCell;
use std::time::Instant;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

/// What one request of the pipeline is, within its step.
#[derive(Clone, Copy, Debug)]
enum Part {
    Begin,
    Statement(usize),
    Check,
    Write,
    Commit,
}

/// A parameter list as tokio-postgres takes it.
type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// The rows a step's writes add to the history, if they do what they are for.
fn added(work: &StepWork<'_>) -> i64 {
    let row = |kind| match kind {
        WriteKind::Insert => 1,
        WriteKind::Delete => -1,
        _ => 0,
    };
    work.writes.iter().map(|w| row(w.kind())).sum()
}

impl PostgresDriver {
    /// Steps sent together; one by one when a pack's grant confines them (its statements each
    /// need their own round trips) or a step is already open.
    pub(super) fn pipeline_steps(&mut self, steps: &[StepWork<'_>]) -> StepsRun {
        if self.confinement.is_some() || self.in_step || steps.is_empty() {
            return one_by_one(self, steps);
        }
        let mut run = StepsRun::default();
        let mut at = 0;
        while at < steps.len() {
            // A step run on its own: the first after statements outside a transaction (which
            // the quick check cannot see), or one the quick check suspected.
            let alone = self.untracked || run.failure.take().is_some();
            let part = match alone {
                true => one_by_one(self, &steps[at..=at]),
                false => self.send_steps(&steps[at..], Check::Quick),
            };
            let committed = part.took.len();
            run.took.extend(part.took);
            match part.failure {
                None if !alone => return run,
                None => at += 1,
                Some(failure) if !alone && failure.error.message == SUSPECT => {
                    at += committed;
                    run.failure = Some(failure);
                }
                Some(failure) => {
                    run.failure = Some(StepFailure { step: at + failure.step, ..failure });
                    return run;
                }
            }
        }
        run
    }

    /// Ends the step whose transaction is open: its full check, writes and commit in one
    /// round trip.
    pub(super) fn finish_open_step(&mut self, work: StepWork<'_>) -> Result<(), DbError> {
        match self.send_steps(&[work], Check::Full).failure {
            None => Ok(()),
            Some(failure) => Err(failure.error),
        }
    }

    /// Sends `steps`, each ending with `check`. With the full check, the one step's
    /// transaction is already open and its statements ran.
    fn send_steps(&mut self, steps: &[StepWork<'_>], check: Check) -> StepsRun {
        let open = check == Check::Full;
        let (known, check, statements) = match self.prepare_steps(steps, check) {
            Ok(prepared) => prepared,
            Err(error) => {
                let failure = Some(StepFailure { step: 0, statement: None, error });
                return StepsRun { took: Vec::new(), failure };
            }
        };
        let Beginnings { ids, begins } = self.beginnings(steps, open);
        // The rows godwit will have left before each step if the steps before it commit.
        let mut expected = Vec::with_capacity(steps.len());
        let mut rows = known.rows;
        for work in steps {
            expected.push(rows);
            rows += added(work);
        }
        let full = [std::mem::take(&mut self.untracked), false];
        let write_params: Vec<Vec<Vec<Param<'_>>>> = steps
            .iter()
            .map(|s| s.writes.iter().map(|w| w.params().iter().map(Param).collect()).collect())
            .collect();
        let write_params: Vec<Vec<Params<'_>>> = write_params
            .iter()
            .map(|step| step.iter().map(|params| as_sql(params)).collect())
            .collect();
        let check_params: Vec<Params<'_>> = (0..steps.len())
            .map(|at| {
                let mut params: Params<'_> =
                    vec![&ids[at], &self.table, &known.storage, &known.depends];
                if open {
                    params.extend([
                        &known.structure as &(dyn ToSql + Sync),
                        &expected[at],
                        &full[usize::from(at > 0)],
                    ]);
                }
                params
            })
            .collect();

        let client = self.client.requests();
        let answered = Answered {
            finished: RefCell::new(vec![None; steps.len()]),
            catalog: RefCell::new(vec![None; steps.len()]),
        };
        let mut layout: Vec<(usize, Part)> = Vec::new();
        let mut requests: Vec<Request<'_>> = Vec::new();
        for (at, work) in steps.iter().enumerate() {
            // A step's beginning is a message of its own, never sent with its first
            // statement: PostgreSQL parses a message whole before running any of it, so a
            // statement it cannot parse would take the BEGIN with it, and what follows would
            // run, and commit, outside a transaction.
            let begin = begins[at].as_deref().map(|begin| (Part::Begin, begin));
            let sqls = work.statements.iter().enumerate();
            for (part, sql) in begin.into_iter().chain(sqls.map(|(n, s)| (Part::Statement(n), *s)))
            {
                layout.push((at, part));
                requests.push(Box::pin(async move { client.batch_execute(sql).await.map(|()| 0) }));
            }
            let (check, params, catalog) = (&check, &check_params[at], &answered.catalog);
            layout.push((at, Part::Check));
            requests.push(Box::pin(async move {
                let row = client.query_one(check, params).await?;
                catalog.borrow_mut()[at] = Some(row.try_get(2)?);
                Ok(0)
            }));
            for (statement, params) in statements[at].iter().zip(&write_params[at]) {
                layout.push((at, Part::Write));
                requests.push(Box::pin(async move { client.execute(statement, params).await }));
            }
            let finished = &answered.finished;
            layout.push((at, Part::Commit));
            requests.push(Box::pin(async move {
                let answer = client.batch_execute("COMMIT").await.map(|()| 0);
                finished.borrow_mut()[at] = Some(Instant::now());
                answer
            }));
        }
        let sent = Instant::now();
        let answers = self.client.pipeline(requests);
        self.in_step = false;
        self.step_serial += steps.len() as u64;
        let sent = Sent { steps, layout: &layout, expected: &expected, at: sent };
        self.settle(&answers, sent, answered)
    }

    /// What every step sent together needs first: the history table's shape, the check, and
    /// each step's writes, prepared (preparing the check fails when the table is gone).
    fn prepare_steps(
        &mut self,
        steps: &[StepWork<'_>],
        check: Check,
    ) -> Result<(HistoryShape, Statement, Vec<Vec<Statement>>), DbError> {
        if self.history_known.is_none() {
            self.remember_history()?;
        }
        let Some(known) = self.history_known.clone() else {
            return Err(DbError::new("godwit's history table does not exist"));
        };
        let sql = match check {
            Check::Quick => self.quick_check.clone(),
            Check::Full => self.full_check.clone(),
        };
        let check = self.prepare_cached(&sql).map_err(|error| finding(error, known.rows))?;
        let statements = steps
            .iter()
            .map(|step| step.writes.iter().map(|w| self.prepare_cached(w.sql())).collect())
            .collect::<Result<Vec<Vec<Statement>>, _>>()?;
        Ok((known, check, statements))
    }

    /// Each step's id and what it begins with (none for an open step's).
    fn beginnings(&mut self, steps: &[StepWork<'_>], open: bool) -> Beginnings {
        let n = steps.len();
        let ids: Vec<String> = (1..=n as u64).map(|k| (self.step_serial + k).to_string()).collect();
        let opening = match open && !self.begin_pending {
            true => None,
            false => Some(self.opening()),
        };
        let begins: Vec<Option<String>> = (0..n)
            .map(|at| match at {
                0 => opening.clone(),
                // The failing branch is not a constant, which the planner would evaluate
                // whatever the condition.
                at => Some(format!(
                    "{}, CASE WHEN current_setting('{LAST_STEP}', true) = '{}' THEN 0 \
                     ELSE ('godwit-previous-step-failed:' || \
                     coalesce(current_setting('{LAST_STEP}', true), ''))::int END",
                    self.begin,
                    ids[at - 1]
                )),
            })
            .collect();
        self.begin_pending = false;
        Beginnings { ids, begins }
    }

    /// What the answers say: how long each committed step took, the history's rows and
    /// dependent catalog rows now, and the first failure (its transaction rolled back).
    fn settle(
        &mut self,
        answers: &[Result<u64, tokio_postgres::Error>],
        sent: Sent<'_, '_>,
        answered: Answered,
    ) -> StepsRun {
        let Sent { steps, layout, expected, at: since, .. } = sent;
        let failed = answers.iter().zip(layout).find_map(|(answer, (at, part))| {
            answer.as_ref().err().map(|error| (*at, *part, db_error(error)))
        });
        let committed = failed.as_ref().map_or(steps.len(), |(at, _, _)| *at);
        let mut took = Vec::with_capacity(committed);
        let mut since = since;
        for done in answered.finished.into_inner().into_iter().take(committed).flatten() {
            took.push(done.saturating_duration_since(since));
            since = done;
        }
        let written: i64 = answers
            .iter()
            .zip(layout)
            .filter(|(_, (at, part))| *at < committed && matches!(part, Part::Write))
            .zip(steps.iter().flat_map(|s| &s.writes))
            .map(|((answer, _), write)| {
                let changed = answer.as_ref().map_or(0, |n| i64::try_from(*n).unwrap_or(0));
                match write.kind() {
                    WriteKind::Insert => changed,
                    WriteKind::Delete => -changed,
                    _ => 0,
                }
            })
            .sum();
        if let Some(shape) = &mut self.history_known {
            shape.rows += written;
            let counted = answered.catalog.into_inner();
            if let Some(depends) = committed.checked_sub(1).and_then(|last| counted[last]) {
                shape.depends = depends;
            }
        }
        if committed > 0 {
            self.unsynced = true;
        }
        let failure = failed.map(|(at, part, error)| {
            // The failed step's transaction is aborted, or ended by its failed COMMIT (then
            // this is only a warning).
            let _ = self.client.batch_execute("ROLLBACK");
            let (statement, error) = match part {
                Part::Statement(n) => (Some(n), error),
                Part::Check => (None, finding(error, expected[at])),
                _ => (None, error),
            };
            StepFailure { step: at, statement, error }
        });
        StepsRun { took, failure }
    }
}

/// Each step's id and what it begins with.
struct Beginnings {
    ids: Vec<String>,
    begins: Vec<Option<String>>,
}

/// What the requests record as their answers arrive: when each step's `COMMIT` was answered,
/// and how many catalog rows depend on the history table, as each step's check counted.
struct Answered {
    finished: RefCell<Vec<Option<Instant>>>,
    catalog: RefCell<Vec<Option<i64>>>,
}

/// What was sent: the steps, which step and part each request is, the
/// history rows expected before each, and when it went.
struct Sent<'s, 'w> {
    steps: &'s [StepWork<'w>],
    layout: &'s [(usize, Part)],
    expected: &'s [i64],
    at: Instant,
}
