//! The locks a PostgreSQL statement takes, read from its syntax: the mode on each relation it
//! names and whether it may rewrite one. The modes are PostgreSQL's own (tablecmds.c's
//! `AlterTableGetLockLevel` for `ALTER TABLE`, the "Explicit Locking" chapter for the rest);
//! `godwit lint --trace` reads what a database really takes, and a test holds the two
//! together for every rule's examples.

use super::rules::{columns, name_of};
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};
use std::fmt;

/// A table-level lock mode of PostgreSQL, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "&'static str")]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// As `LOCK TABLE` spells it: `ACCESS EXCLUSIVE`.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// As `pg_locks.mode` spells it: `AccessExclusiveLock`.
    pub fn from_pg_locks(mode: &str) -> Option<LockMode> {
        LockMode::ALL.into_iter().find(|m| {
            let words = m.name().split(' ').map(|w| w[..1].to_owned() + &w[1..].to_lowercase());
            words.collect::<String>() + "Lock" == mode
        })
    }

    /// What the application cannot do to the relation while the lock is held.
    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::AccessExclusive => "blocks reads and writes",
            LockMode::Exclusive | LockMode::ShareRowExclusive | LockMode::Share => "blocks writes",
            LockMode::ShareUpdateExclusive => "blocks other schema changes and VACUUM",
            _ => "blocks only schema changes",
        }
    }
}

impl From<LockMode> for &'static str {
    fn from(mode: LockMode) -> &'static str {
        mode.name()
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A lock a statement takes on a relation (a table, an index, a view) it names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Lock {
    pub mode: LockMode,
    /// The relation as the database folds its name (`orders`, `shop.orders`).
    pub relation: String,
    /// Whether the statement may write the relation anew (a table rewrite, an index rebuilt).
    pub rewrites: bool,
    /// The relation's size in the connected database, where one was asked.
    pub size: Option<RelationSize>,
}

/// A relation's size in the catalog: rows as last counted by `ANALYZE` or `VACUUM` (none when
/// it never was), and bytes with its indexes and TOAST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RelationSize {
    pub rows: Option<u64>,
    pub bytes: u64,
}

/// The locks a PostgreSQL statement (or a few) takes on the relations it names, the strongest
/// mode once per relation. Relations the statement creates are not in it.
pub fn locks_taken(sql: &str) -> Vec<Lock> {
    let parse = SourceFile::parse(sql);
    let mut taken = Taken(Vec::new());
    for stmt in parse.tree().stmts() {
        statement(&stmt, &mut taken);
    }
    taken.0
}

/// The locks one parsed statement takes.
pub(super) fn of_statement(stmt: &ast::Stmt) -> Vec<Lock> {
    let mut taken = Taken(Vec::new());
    statement(stmt, &mut taken);
    taken.0
}

struct Taken(Vec<Lock>);

impl Taken {
    fn take(&mut self, relation: String, mode: LockMode, rewrites: bool) {
        match self.0.iter_mut().find(|l| l.relation == relation) {
            Some(lock) => {
                lock.mode = lock.mode.max(mode);
                lock.rewrites |= rewrites;
            }
            None => self.0.push(Lock { mode, relation, rewrites, size: None }),
        }
    }

    /// Every relation of `kinds` under `node` in `mode`.
    fn all(&mut self, node: &SyntaxNode, kinds: &[SyntaxKind], mode: LockMode, rewrites: bool) {
        for relation in node.descendants().filter(|n| kinds.contains(&n.kind())) {
            self.take(name_of(&relation), mode, rewrites);
        }
    }

    /// The tables a foreign key refers to: the key adds triggers to them too.
    fn referenced(&mut self, node: &SyntaxNode) {
        for key in node.descendants().filter(|n| {
            matches!(
                n.kind(),
                SyntaxKind::FOREIGN_KEY_CONSTRAINT | SyntaxKind::REFERENCES_CONSTRAINT
            )
        }) {
            self.all(&key, &[SyntaxKind::TABLE_NAME_REF], SHARE_ROW, false);
        }
    }
}

const TABLES: [SyntaxKind; 2] = [SyntaxKind::TABLE_NAME_REF, SyntaxKind::RELATION_NAME_REF];
const RELATIONS: [SyntaxKind; 4] = [
    SyntaxKind::TABLE_NAME_REF,
    SyntaxKind::RELATION_NAME_REF,
    SyntaxKind::INDEX_REF,
    SyntaxKind::VIEW_REF,
];
const SHARE_ROW: LockMode = LockMode::ShareRowExclusive;

fn statement(stmt: &ast::Stmt, taken: &mut Taken) {
    use LockMode::*;
    let node = stmt.syntax();
    let concurrently = has_token(node, SyntaxKind::CONCURRENTLY_KW);
    let weaker = |strong, weak| if concurrently { weak } else { strong };
    match stmt {
        ast::Stmt::CreateIndex(_) => {
            taken.all(node, &TABLES, weaker(Share, ShareUpdateExclusive), false)
        }
        ast::Stmt::DropIndex(_) => taken.all(
            node,
            &[SyntaxKind::INDEX_REF],
            weaker(AccessExclusive, ShareUpdateExclusive),
            false,
        ),
        ast::Stmt::AlterTable(alter) => alter_table(alter, taken),
        ast::Stmt::AlterIndex(alter) => {
            let renames =
                alter.action().is_some_and(|a| a.syntax().kind() == SyntaxKind::INDEX_RENAME_TO);
            let mode = if renames { ShareUpdateExclusive } else { AccessExclusive };
            taken.all(node, &[SyntaxKind::INDEX_REF], mode, false);
        }
        ast::Stmt::CreateTable(table) => {
            taken.referenced(node);
            if let Some(parent) = table.partition_of() {
                taken.all(parent.syntax(), &TABLES, AccessExclusive, false);
            }
        }
        ast::Stmt::DropTable(_) | ast::Stmt::DropView(_) | ast::Stmt::DropMaterializedView(_) => {
            taken.all(node, &RELATIONS, AccessExclusive, false)
        }
        ast::Stmt::Truncate(_) => taken.all(node, &TABLES, AccessExclusive, true),
        ast::Stmt::CreateTrigger(_) => taken.all(node, &TABLES, ShareRowExclusive, false),
        ast::Stmt::DropTrigger(_) | ast::Stmt::CreatePolicy(_) | ast::Stmt::DropPolicy(_) => {
            taken.all(node, &TABLES, AccessExclusive, false)
        }
        ast::Stmt::Vacuum(vacuum) => {
            let full = vacuum.full_token().is_some() || has_token(node, SyntaxKind::FULL_KW);
            taken.all(
                node,
                &TABLES,
                if full { AccessExclusive } else { ShareUpdateExclusive },
                full,
            )
        }
        ast::Stmt::Analyze(_) => taken.all(node, &TABLES, ShareUpdateExclusive, false),
        ast::Stmt::Cluster(_) => taken.all(node, &RELATIONS, AccessExclusive, true),
        ast::Stmt::Reindex(_) => {
            taken.all(node, &TABLES, weaker(Share, ShareUpdateExclusive), false);
            taken.all(
                node,
                &[SyntaxKind::INDEX_REF],
                weaker(AccessExclusive, ShareUpdateExclusive),
                true,
            );
        }
        ast::Stmt::Refresh(_) => {
            taken.all(node, &[SyntaxKind::VIEW_REF], weaker(AccessExclusive, Exclusive), true)
        }
        ast::Stmt::Lock(_) => {
            let clause = node.children().find(|n| n.kind() == SyntaxKind::LOCK_MODE_CLAUSE);
            let mode = clause.map_or(Some(AccessExclusive), |c| lock_clause(&c));
            if let Some(mode) = mode {
                taken.all(node, &TABLES, mode, false);
            }
        }
        ast::Stmt::CommentOn(_) => comment_on(node, taken),
        ast::Stmt::Insert(_)
        | ast::Stmt::Update(_)
        | ast::Stmt::Delete(_)
        | ast::Stmt::Merge(_) => dml(node, taken),
        ast::Stmt::Select(_) | ast::Stmt::CreateView(_) | ast::Stmt::CreateMaterializedView(_) => {
            taken.all(node, &TABLES, AccessShare, false)
        }
        _ => {}
    }
}

/// `ALTER TABLE`: the strongest mode any of its actions needs, on the table; a foreign key
/// also on the table it refers to; a partition attached or detached too.
fn alter_table(alter: &ast::AlterTable, taken: &mut Taken) {
    let Some(table) = alter.table_relation_name().and_then(|t| t.table_name_ref()) else { return };
    let mut strongest = None;
    let mut rewrites = false;
    for action in alter.actions() {
        let (mode, rewrite) = action_mode(&action);
        strongest = strongest.max(Some(mode));
        rewrites |= rewrite;
        match &action {
            ast::AlterTableAction::AttachPartition(_)
            | ast::AlterTableAction::DetachPartition(_) => {
                let partition_mode = match action_mode(&action).0 {
                    LockMode::ShareUpdateExclusive
                        if action.syntax().kind() == SyntaxKind::DETACH_PARTITION =>
                    {
                        LockMode::ShareUpdateExclusive
                    }
                    _ => LockMode::AccessExclusive,
                };
                taken.all(action.syntax(), &[SyntaxKind::TABLE_NAME_REF], partition_mode, false);
            }
            _ => taken.referenced(action.syntax()),
        }
    }
    if let Some(mode) = strongest {
        taken.take(name_of(table.syntax()), mode, rewrites);
    }
}

/// The mode one action of `ALTER TABLE` needs, and whether it may rewrite the table.
fn action_mode(action: &ast::AlterTableAction) -> (LockMode, bool) {
    use LockMode::*;
    use ast::AlterTableAction as A;
    match action {
        A::AddColumn(column) => (AccessExclusive, columns::per_row_default(column).is_some()),
        A::AddConstraint(add) => match add.constraint().map(|c| c.syntax().kind()) {
            Some(SyntaxKind::FOREIGN_KEY_CONSTRAINT) => (ShareRowExclusive, false),
            _ => (AccessExclusive, false),
        },
        A::AlterColumn(column) => match column.option() {
            Some(ast::AlterColumnOption::SetType(_)) => (AccessExclusive, true),
            Some(
                ast::AlterColumnOption::SetStatistics(_)
                | ast::AlterColumnOption::SetOptions(_)
                | ast::AlterColumnOption::ResetOptions(_),
            ) => (ShareUpdateExclusive, false),
            _ => (AccessExclusive, false),
        },
        A::ValidateConstraint(_)
        | A::ClusterOn(_)
        | A::SetWithoutCluster(_)
        | A::AttachPartition(_) => (ShareUpdateExclusive, false),
        A::DetachPartition(detach) if has(detach.syntax(), SyntaxKind::DETACH_CONCURRENTLY) => {
            (ShareUpdateExclusive, false)
        }
        A::SetOptions(options) if options_for_maintenance(options.syntax()) => {
            (ShareUpdateExclusive, false)
        }
        A::ResetOptions(options) if options_for_maintenance(options.syntax()) => {
            (ShareUpdateExclusive, false)
        }
        A::EnableTrigger(_)
        | A::DisableTrigger(_)
        | A::EnableAlwaysTrigger(_)
        | A::EnableReplicaTrigger(_) => (ShareRowExclusive, false),
        A::SetTablespace(_) | A::SetAccessMethod(_) | A::SetLogged(_) | A::SetUnlogged(_) => {
            (AccessExclusive, true)
        }
        _ => (AccessExclusive, false),
    }
}

/// Whether every storage parameter set or reset is one PostgreSQL changes under `SHARE UPDATE
/// EXCLUSIVE` (the fill factor, autovacuum's and the planner's settings); any other takes
/// `ACCESS EXCLUSIVE`.
fn options_for_maintenance(options: &SyntaxNode) -> bool {
    let light = |name: &str| {
        let name = name.strip_prefix("toast.").unwrap_or(name);
        name.starts_with("autovacuum_")
            || name.starts_with("vacuum_")
            || [
                "fillfactor",
                "parallel_workers",
                "toast_tuple_target",
                "log_autovacuum_min_duration",
            ]
            .contains(&name)
    };
    let mut names = options.descendants().filter(|n| n.kind() == SyntaxKind::ATTRIBUTE_NAME);
    names.all(|n| light(&n.text().to_string().to_lowercase()))
}

/// `LOCK TABLE ... IN mode MODE`.
fn lock_clause(clause: &SyntaxNode) -> Option<LockMode> {
    let words: Vec<String> = clause
        .descendants_with_tokens()
        .filter_map(|t| t.into_token())
        .filter(|t| t.kind() != SyntaxKind::WHITESPACE)
        .map(|t| t.text().to_uppercase())
        .filter(|w| w != "IN" && w != "MODE")
        .collect();
    let name = words.join(" ");
    LockMode::ALL.into_iter().find(|m| m.name() == name)
}

/// `COMMENT ON TABLE t` and `COMMENT ON COLUMN t.c`: `SHARE UPDATE EXCLUSIVE` on the table.
fn comment_on(node: &SyntaxNode, taken: &mut Taken) {
    let mode = LockMode::ShareUpdateExclusive;
    for object in node.children() {
        match object.kind() {
            SyntaxKind::OBJECT_TABLE => taken.all(&object, &TABLES, mode, false),
            SyntaxKind::OBJECT_COLUMN => {
                let Some(column) = object.children().next() else { continue };
                let name = name_of(&column);
                if let Some((table, _)) = name.rsplit_once('.') {
                    taken.take(table.to_owned(), mode, false);
                }
            }
            _ => {}
        }
    }
}

/// `INSERT`, `UPDATE`, `DELETE`, `MERGE`: `ROW EXCLUSIVE` on the table written, `ACCESS
/// SHARE` on the tables only read.
fn dml(node: &SyntaxNode, taken: &mut Taken) {
    let target = node
        .children()
        .find(|n| matches!(n.kind(), SyntaxKind::RELATION_NAME | SyntaxKind::RELATION_NAME_REF))
        .map(|n| match n.kind() {
            SyntaxKind::RELATION_NAME => n.first_child().unwrap_or(n),
            _ => n,
        });
    if let Some(target) = &target {
        taken.take(name_of(target), LockMode::RowExclusive, false);
    }
    taken.all(node, &TABLES, LockMode::AccessShare, false);
}

fn has(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants().any(|n| n.kind() == kind)
}

fn has_token(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants_with_tokens().filter_map(|t| t.into_token()).any(|t| t.kind() == kind)
}

#[cfg(test)]
mod tests;
