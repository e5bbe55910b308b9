//! The plan's cases, without a database: migrations and history rows are built in memory.

use super::*;
use crate::checksum::Checksum;
use crate::history::RecordState;
use crate::migration::{Key, Kind, Script, SqlScript, Statement};

fn migration(key: Key, body: &str, reversible: bool) -> Migration {
    let name = match &key {
        Key::Versioned(v) => format!("m{v}"),
        Key::Repeatable(n) => n.clone(),
    };
    let label = match &key {
        Key::Versioned(v) => format!("{v:04}_{name}", v = v.number().unwrap()),
        Key::Repeatable(n) => format!("R_{n}"),
    };
    let statement = Statement { sql: body.to_owned(), line: 2 };
    Migration {
        stream: Stream::Project,
        path: format!("migrations/{label}.sql").into(),
        key,
        name,
        label,
        kind: Kind::Sql,
        checksum: Checksum::of_text(body),
        script: Script::Sql(SqlScript {
            up: vec![statement],
            down: reversible.then(Vec::new),
            transaction: true,
            requires: Vec::new(),
            down_file: None,
            refused: None,
            allows: Vec::new(),
            lock_timeout: None,
            squashes: Vec::new(),
        }),
        text_order: None,
    }
}

fn v(n: i64) -> Version {
    Version::new(n).unwrap()
}

fn versioned(n: i64) -> Migration {
    migration(Key::Versioned(v(n)), &format!("select {n}"), true)
}

fn row(m: &Migration, state: RecordState) -> AppliedMigration {
    AppliedMigration {
        stream: m.stream.clone(),
        version: m.version(),
        name: m.name.clone(),
        kind: "sql".into(),
        checksum: m.checksum.clone(),
        applied_at: "2026-11-23T00:00:00Z".into(),
        execution_ms: 1,
        state,
        godwit_version: "0.1.0".into(),
        cursor: None,
        rows_done: 0,
    }
}

/// The plan of the project's migrations alone.
fn plan<'a>(
    migrations: &'a [Migration],
    applied: &'a [AppliedMigration],
    target: &Target,
) -> Result<Plan<'a>, PlanError> {
    super::plan(migrations, applied, target, &[])
}

fn down(down: DownTarget) -> Target {
    Target::Down { stream: Stream::Project, down }
}

/// A migration of pack `pack`.
fn in_pack(pack: &str, n: i64) -> Migration {
    let mut m = versioned(n);
    m.stream = Stream::pack(pack);
    m.label = format!("{pack}:{}", m.label);
    m
}

fn order(pack: &str, after: Option<i64>) -> PackOrder {
    PackOrder { pack: pack.to_owned(), after: after.map(v) }
}

fn up() -> Target {
    Target::Up { to: None, allow_out_of_order: false }
}

fn labels(plan: &Plan<'_>) -> Vec<(Action, String)> {
    plan.steps.iter().map(|s| (s.action, s.migration.label.clone())).collect()
}

#[test]
fn applies_pending_in_version_order_then_repeatables() {
    let ms = vec![
        versioned(1),
        versioned(2),
        versioned(10),
        migration(Key::Repeatable("views".into()), "create view v as select 1", true),
    ];
    let applied = vec![row(&ms[0], RecordState::Applied)];
    let plan = plan(&ms, &applied, &up()).unwrap();
    assert_eq!(
        labels(&plan),
        vec![
            (Action::Apply, "0002_m2".into()),
            (Action::Apply, "0010_m10".into()),
            (Action::Apply, "R_views".into())
        ]
    );
}

#[test]
fn up_to_stops_at_the_target_and_holds_repeatables_back() {
    let ms = vec![
        versioned(1),
        versioned(2),
        versioned(3),
        migration(Key::Repeatable("views".into()), "x", true),
    ];
    let two = plan(&ms, &[], &Target::Up { to: Some(v(2)), allow_out_of_order: false }).unwrap();
    assert_eq!(
        labels(&two),
        vec![(Action::Apply, "0001_m1".into()), (Action::Apply, "0002_m2".into())]
    );
    let unknown = plan(&ms, &[], &Target::Up { to: Some(v(7)), allow_out_of_order: false });
    assert!(matches!(unknown, Err(PlanError::UnknownVersion { .. })));
}

#[test]
fn changed_repeatables_are_reapplied_and_unchanged_ones_skipped() {
    let old = migration(Key::Repeatable("views".into()), "old", true);
    let same = migration(Key::Repeatable("funcs".into()), "same", true);
    let ms = vec![migration(Key::Repeatable("views".into()), "new", true), same.clone()];
    let applied = vec![row(&old, RecordState::Applied), row(&same, RecordState::Applied)];
    let plan = plan(&ms, &applied, &up()).unwrap();
    assert_eq!(labels(&plan), vec![(Action::Reapply, "R_views".into())]);
}

#[test]
fn modified_missing_and_failed_block_up_and_down() {
    let ms = vec![versioned(1), versioned(2), versioned(3)];
    let edited = migration(Key::Versioned(v(1)), "edited", true);
    let gone = versioned(9);
    let applied = vec![
        row(&edited, RecordState::Applied),
        row(&ms[1], RecordState::Failed),
        row(&gone, RecordState::Applied),
    ];
    for target in [up(), down(DownTarget::Steps(1))] {
        match plan(&ms, &applied, &target) {
            Err(PlanError::Inconsistent { problems }) => {
                assert_eq!(problems.len(), 3, "{problems:?}");
                assert!(matches!(problems[0], Problem::Modified { .. }));
                assert!(matches!(problems[1], Problem::Failed { .. }));
                assert!(matches!(problems[2], Problem::Missing { .. }));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn out_of_order_pending_needs_permission() {
    let ms = vec![versioned(1), versioned(2), versioned(3)];
    let applied = vec![row(&ms[0], RecordState::Applied), row(&ms[2], RecordState::Applied)];
    match plan(&ms, &applied, &up()) {
        Err(PlanError::OutOfOrder { pending, newest }) => {
            assert_eq!(pending, vec!["0002_m2".to_owned()]);
            assert_eq!(newest, "0003_m3");
        }
        other => panic!("{other:?}"),
    }
    let allowed = plan(&ms, &applied, &Target::Up { to: None, allow_out_of_order: true }).unwrap();
    assert_eq!(labels(&allowed), vec![(Action::Apply, "0002_m2".into())]);
}

#[test]
fn down_reverts_newest_first_by_steps_or_target() {
    let ms = vec![versioned(1), versioned(2), versioned(3), versioned(4)];
    let applied: Vec<_> = ms[..3].iter().map(|m| row(m, RecordState::Applied)).collect();
    let one = plan(&ms, &applied, &down(DownTarget::Steps(1))).unwrap();
    assert_eq!(labels(&one), vec![(Action::Revert, "0003_m3".into())]);
    let to = plan(&ms, &applied, &down(DownTarget::To(v(1)))).unwrap();
    assert_eq!(
        labels(&to),
        vec![(Action::Revert, "0003_m3".into()), (Action::Revert, "0002_m2".into())]
    );
    let all = plan(&ms, &applied, &down(DownTarget::To(v(0)))).unwrap();
    assert_eq!(all.steps.len(), 3);
    let many = plan(&ms, &applied, &down(DownTarget::Steps(99))).unwrap();
    assert_eq!(many.steps.len(), 3);
}

#[test]
fn down_refuses_before_running_anything_when_a_step_is_irreversible() {
    let ms = vec![versioned(1), migration(Key::Versioned(v(2)), "select 2", false), versioned(3)];
    let applied: Vec<_> = ms.iter().map(|m| row(m, RecordState::Applied)).collect();
    let one = plan(&ms, &applied, &down(DownTarget::Steps(1))).unwrap();
    assert_eq!(one.steps.len(), 1);
    match plan(&ms, &applied, &down(DownTarget::Steps(2))) {
        Err(PlanError::Irreversible { labels }) => assert_eq!(labels, vec!["0002_m2".to_owned()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_to_do_is_an_empty_plan() {
    let ms = vec![versioned(1)];
    let applied = vec![row(&ms[0], RecordState::Applied)];
    assert!(plan(&ms, &applied, &up()).unwrap().is_empty());
    assert!(plan(&ms, &[], &down(DownTarget::Steps(1))).unwrap().is_empty());
}

fn names(plan: &Plan<'_>) -> Vec<String> {
    plan.steps.iter().map(|s| s.migration.label.clone()).collect()
}

#[test]
fn packs_run_first_or_after_the_project_migration_they_name() {
    let ms = vec![
        versioned(1),
        versioned(2),
        versioned(3),
        in_pack("billing", 1),
        in_pack("billing", 2),
    ];
    let first = super::plan(&ms, &[], &up(), &[order("billing", None)]).unwrap();
    assert_eq!(
        names(&first),
        ["billing:0001_m1", "billing:0002_m2", "0001_m1", "0002_m2", "0003_m3"]
    );
    let after = super::plan(&ms, &[], &up(), &[order("billing", Some(2))]).unwrap();
    assert_eq!(
        names(&after),
        ["0001_m1", "0002_m2", "billing:0001_m1", "billing:0002_m2", "0003_m3"]
    );
    let last = super::plan(&ms, &[], &up(), &[order("billing", Some(3))]).unwrap();
    assert_eq!(names(&last)[3..], ["billing:0001_m1", "billing:0002_m2"]);
    // Held back with the project: the pack waits until the project reaches 2.
    let to = Target::Up { to: Some(v(1)), allow_out_of_order: false };
    let held = super::plan(&ms, &[], &to, &[order("billing", Some(2))]).unwrap();
    assert_eq!(names(&held), ["0001_m1"]);
    let unknown = super::plan(&ms, &[], &up(), &[order("billing", Some(7))]);
    assert!(matches!(unknown, Err(PlanError::UnknownAfter { .. })), "{unknown:?}");
}

#[test]
fn a_pack_upgrade_runs_before_the_projects_new_migrations() {
    let ms = vec![versioned(1), versioned(2), in_pack("billing", 1), in_pack("billing", 2)];
    let applied = vec![row(&ms[0], RecordState::Applied), row(&ms[2], RecordState::Applied)];
    let plan = super::plan(&ms, &applied, &up(), &[order("billing", Some(1))]).unwrap();
    assert_eq!(names(&plan), ["billing:0002_m2", "0002_m2"]);
}

#[test]
fn streams_have_their_own_versions() {
    // billing's version 5 is applied; the project's pending 1 is not out of order.
    let ms = vec![versioned(1), in_pack("billing", 5)];
    let applied = vec![row(&ms[1], RecordState::Applied)];
    let plan = super::plan(&ms, &applied, &up(), &[order("billing", None)]).unwrap();
    assert_eq!(names(&plan), ["0001_m1"]);
}

#[test]
fn down_reverts_one_stream() {
    let ms = vec![versioned(1), versioned(2), in_pack("billing", 1), in_pack("billing", 2)];
    let applied: Vec<_> = ms.iter().map(|m| row(m, RecordState::Applied)).collect();
    let packs = [order("billing", None)];
    let project = super::plan(&ms, &applied, &down(DownTarget::To(v(0))), &packs).unwrap();
    assert_eq!(names(&project), ["0002_m2", "0001_m1"]);
    let billing = Target::Down { stream: Stream::pack("billing"), down: DownTarget::Steps(1) };
    let plan = super::plan(&ms, &applied, &billing, &packs).unwrap();
    assert_eq!(names(&plan), ["billing:0002_m2"]);
    let nobody = Target::Down { stream: Stream::pack("nobody"), down: DownTarget::Steps(1) };
    let unknown = super::plan(&ms, &applied, &nobody, &packs);
    assert!(matches!(unknown, Err(PlanError::UnknownPack { .. })), "{unknown:?}");
}

#[test]
fn a_removed_packs_history_blocks_until_repaired() {
    let gone = in_pack("billing", 1);
    let ms = vec![versioned(1)];
    let applied = vec![row(&gone, RecordState::Applied)];
    match plan(&ms, &applied, &up()) {
        Err(PlanError::Inconsistent { problems }) => {
            assert_eq!(problems.len(), 1);
            assert!(
                problems[0].to_string().contains("billing:1_m1 is applied but its file is missing"),
                "{}",
                problems[0]
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A diesel folder with `2024-03-13_170000_x` beside 14-digit versions: diesel compares the
/// versions as text, so `20240313` runs after `20240306170000`; so does the plan, for `up`,
/// `--to` and `down --to`, and nothing is out of order.
#[test]
fn a_stream_ordered_as_text_runs_in_its_tools_order() {
    let mut ms: Vec<Migration> = [20180114171611, 20240306170000, 20240313, 20240605131359]
        .into_iter()
        .map(versioned)
        .collect();
    for m in &mut ms {
        m.text_order = m.version().map(|v| v.to_string());
    }
    let applied = vec![row(&ms[0], RecordState::Applied), row(&ms[1], RecordState::Applied)];
    let order: Vec<String> = ms.iter().map(|m| m.label.clone()).collect();
    let all = plan(&ms, &applied, &up()).unwrap();
    assert_eq!(
        labels(&all),
        vec![(Action::Apply, order[2].clone()), (Action::Apply, order[3].clone())]
    );
    let to = Target::Up { to: Some(v(20240313)), allow_out_of_order: false };
    assert_eq!(labels(&plan(&ms, &applied, &to).unwrap()), vec![(Action::Apply, order[2].clone())]);
    let every: Vec<AppliedMigration> = ms.iter().map(|m| row(m, RecordState::Applied)).collect();
    let back = plan(&ms, &every, &down(DownTarget::To(v(20240306170000)))).unwrap();
    assert_eq!(
        labels(&back),
        vec![(Action::Revert, order[3].clone()), (Action::Revert, order[2].clone())]
    );
    let one = plan(&ms, &every, &down(DownTarget::Steps(1))).unwrap();
    assert_eq!(labels(&one), vec![(Action::Revert, order[3].clone())]);
    // Numerically, 20240313 would be the oldest and pending behind applied ones.
    let numeric: Vec<Migration> =
        ms.iter().cloned().map(|m| Migration { text_order: None, ..m }).collect();
    let refused = plan(&numeric, &applied, &up());
    assert!(matches!(refused, Err(PlanError::OutOfOrder { .. })));
}
