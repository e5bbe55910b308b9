//! Many databases at once: a fleet of targets (tenants, regions, shards), each migrated as a
//! single run would migrate it (its own lock, history and transactions), a bounded number at
//! a time, a failure in one never stopping or touching the others unless asked (`fail_fast`,
//! a failure budget). A stable share of the targets (`shard`) lets several runners split a
//! fleet without talking to each other; two that overlap by mistake are kept apart by each
//! target's migration lock.

use crate::checksum::Checksum;
use crate::driver::{dialect_of, redact};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One database of a fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
}

impl Target {
    /// The URL without its password, for messages.
    pub fn name(&self) -> String {
        redact(&self.url)
    }
}

/// Why a list of targets cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    #[error("{list}: line {line}: `{text}` is no database URL (sqlite:PATH or postgres://...)")]
    Malformed { list: String, line: usize, text: String },
    #[error("{list}: line {line}: {target} is listed twice (first on line {first})")]
    Duplicate { list: String, line: usize, first: usize, target: String },
    #[error("{list} names no database")]
    Empty { list: String },
    #[error("--shard {shard}: give I/N with 1 <= I <= N, like 2/4")]
    BadShard { shard: String },
    #[error("cannot read {list}: {reason}")]
    Unreadable { list: String, reason: String },
    #[error("{list}: `{schema}` is no schema name (letters, digits and `_`)")]
    BadSchema { list: String, schema: String },
}

/// The targets of a list: one URL per line; blank lines and `#` comments are skipped. A line
/// that is no URL godwit can open, or a URL listed twice, is refused with its line.
pub fn parse(text: &str, list: &str) -> Result<Vec<Target>, FleetError> {
    let mut targets: Vec<(usize, Target)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let url = line.trim();
        if url.is_empty() || url.starts_with('#') {
            continue;
        }
        let line = index + 1;
        if dialect_of(url).is_none() || url.contains(char::is_whitespace) {
            let text = redact(url);
            return Err(FleetError::Malformed { list: list.to_owned(), line, text });
        }
        if let Some((first, _)) = targets.iter().find(|(_, t)| t.url == url) {
            let (list, first, target) = (list.to_owned(), *first, redact(url));
            return Err(FleetError::Duplicate { list, line, first, target });
        }
        targets.push((line, Target { url: url.to_owned() }));
    }
    match targets.is_empty() {
        true => Err(FleetError::Empty { list: list.to_owned() }),
        false => Ok(targets.into_iter().map(|(_, t)| t).collect()),
    }
}

/// One PostgreSQL database's schemas as targets: `url` with each schema as its search path,
/// so each tenant's tables and its history live in its own schema (which must exist).
pub fn schemas(url: &str, names: &[String], list: &str) -> Result<Vec<Target>, FleetError> {
    let mut targets = Vec::new();
    for name in names {
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(FleetError::BadSchema { list: list.to_owned(), schema: name.clone() });
        }
        let joint = if url.contains('?') { '&' } else { '?' };
        targets.push(Target { url: format!("{url}{joint}options=-csearch_path%3D{name}") });
    }
    let lines: Vec<&str> = targets.iter().map(|t| t.url.as_str()).collect();
    parse(&lines.join("\n"), list)
}

/// Every SQLite file of a directory (`*.db`, `*.sqlite`, `*.sqlite3`), in name order.
pub fn sqlite_files(dir: &Path) -> Result<Vec<Target>, FleetError> {
    let list = dir.display().to_string();
    let unreadable =
        |e: std::io::Error| FleetError::Unreadable { list: list.clone(), reason: e.to_string() };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "db" || e == "sqlite" || e == "sqlite3")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FleetError::Empty { list });
    }
    Ok(files.into_iter().map(|path| Target { url: format!("sqlite:{}", path.display()) }).collect())
}

/// `I/N` of `--shard`.
pub fn parse_shard(text: &str) -> Result<(usize, usize), FleetError> {
    let bad = || FleetError::BadShard { shard: text.to_owned() };
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let (index, count) =
        (index.trim().parse().map_err(|_| bad())?, count.trim().parse().map_err(|_| bad())?);
    match (1..=count).contains(&index) {
        true => Ok((index, count)),
        false => Err(bad()),
    }
}

/// Shard `index` of `count` (from 1): the targets whose URL's hash falls to it. The same URL
/// always falls to the same shard, whatever else the list holds or its order, so N runners
/// given the same list split it without talking, each target to exactly one of them.
pub fn shard(targets: Vec<Target>, index: usize, count: usize) -> Vec<Target> {
    targets.into_iter().filter(|t| shard_of(&t.url, count) + 1 == index).collect()
}

fn shard_of(url: &str, count: usize) -> usize {
    let digest = Checksum::of_text(url);
    let head = u64::from_str_radix(&digest.as_str()[..16], 16).unwrap_or(0);
    usize::try_from(head % count.max(1) as u64).unwrap_or(0)
}

/// How a fleet run goes: how many targets at once, and when it stops starting new ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub parallel: usize,
    /// Stop starting targets after the first failure.
    pub fail_fast: bool,
    /// Stop starting targets once this many have failed.
    pub max_failures: Option<usize>,
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout { parallel: 4, fail_fast: false, max_failures: None }
    }
}

/// What became of one target: `None` when it was never started (the rollout stopped first).
#[derive(Debug)]
pub struct Outcome<T, E> {
    pub target: Target,
    pub result: Option<Result<T, E>>,
}

/// Runs `work` on every target, `rollout.parallel` at a time, each on a thread of its own
/// with nothing shared but what `work` shares; `done` is told of each as it ends. Outcomes
/// come back in the targets' order.
pub fn each<T: Send, E: Send>(
    targets: &[Target],
    rollout: Rollout,
    work: impl Fn(&Target) -> Result<T, E> + Sync,
    done: impl Fn(&Target, &Result<T, E>) + Sync,
) -> Vec<Outcome<T, E>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<T, E>>>> =
        targets.iter().map(|_| Mutex::new(None)).collect();
    let workers = rollout.parallel.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !stopped.load(Ordering::SeqCst) {
                    let at = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(at) else { break };
                    let result = work(target);
                    done(target, &result);
                    if result.is_err() {
                        let failures = failed.fetch_add(1, Ordering::SeqCst) + 1;
                        let budget = rollout.max_failures.is_some_and(|max| failures >= max);
                        if rollout.fail_fast || budget {
                            stopped.store(true, Ordering::SeqCst);
                        }
                    }
                    if let Ok(mut slot) = results[at].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    targets
        .iter()
        .zip(results)
        .map(|(target, slot)| Outcome {
            target: target.clone(),
            result: slot.into_inner().ok().flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(n: usize) -> Vec<Target> {
        (0..n).map(|i| Target { url: format!("sqlite:tenant_{i}.db") }).collect()
    }

    #[test]
    fn shards_cover_every_target_exactly_once() {
        let all = targets(200);
        for count in 1..=5 {
            let mut seen: Vec<String> = Vec::new();
            for index in 1..=count {
                let share = shard(all.clone(), index, count);
                assert!(count == 1 || share.len() < all.len(), "{count}: one shard took all");
                seen.extend(share.into_iter().map(|t| t.url));
            }
            seen.sort();
            let mut expected: Vec<String> = all.iter().map(|t| t.url.clone()).collect();
            expected.sort();
            assert_eq!(seen, expected, "{count} shards");
        }
        // A target's shard does not depend on the rest of the list.
        let alone = shard(vec![all[7].clone()], shard_of(&all[7].url, 3) + 1, 3);
        assert_eq!(alone.len(), 1);
    }

    #[test]
    fn lists_refuse_what_is_no_target() {
        let parsed = parse("# tenants\nsqlite:a.db\n\npostgres://u@h/b\n", "tenants.txt").unwrap();
        assert_eq!(parsed.len(), 2);
        let bad = parse("sqlite:a.db\nmysql://x/y\n", "t.txt").unwrap_err().to_string();
        assert_eq!(
            bad,
            "t.txt: line 2: `mysql://x/y` is no database URL (sqlite:PATH or postgres://...)"
        );
        let twice = parse("sqlite:a.db\nsqlite:b.db\nsqlite:a.db\n", "t.txt").unwrap_err();
        assert_eq!(
            twice.to_string(),
            "t.txt: line 3: sqlite:a.db is listed twice (first on line 1)"
        );
        assert!(matches!(parse("# nothing\n", "t.txt"), Err(FleetError::Empty { .. })));
        assert_eq!(parse_shard("2/4").unwrap(), (2, 4));
        assert!(
            parse_shard("5/4").is_err() && parse_shard("0/4").is_err() && parse_shard("x").is_err()
        );
    }

    #[test]
    fn a_failure_stops_the_rollout_only_when_asked() {
        let all = targets(20);
        let work = |t: &Target| if t.url.contains("_3.") { Err("broken") } else { Ok(()) };
        let outcomes = each(&all, Rollout { parallel: 1, ..Rollout::default() }, work, |_, _| {});
        assert_eq!(outcomes.iter().filter(|o| matches!(o.result, Some(Ok(())))).count(), 19);
        let rollout = Rollout { parallel: 1, fail_fast: true, max_failures: None };
        let outcomes = each(&all, rollout, work, |_, _| {});
        assert_eq!(outcomes.iter().filter(|o| o.result.is_none()).count(), 16);
    }
}
