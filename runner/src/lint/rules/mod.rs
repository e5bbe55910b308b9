//! The rules, over squawk's syntax tree of one statement at a time. The reader remembers the
//! tables the migrations it read created: they run together, so such a table is new and
//! empty when the later statements run, and what locks or scans an existing table is safe on
//! it.

pub(super) mod columns;
mod parse;
mod sqlite;

pub(super) use parse::parse_all;

use super::Rule;
use crate::driver::Dialect;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{Parse, SourceFile, SyntaxKind, SyntaxNode};
use std::collections::HashSet;

/// What a rule found in a statement, and how many lines into it.
pub(super) struct Found {
    pub(super) rule: Rule,
    pub(super) what: String,
    pub(super) lines_in: usize,
}

/// The statements of the migrations that run together, read in order.
pub(super) struct Reader {
    dialect: Dialect,
    /// Whether the migration being read runs in a transaction.
    transaction: bool,
    created: HashSet<String>,
    /// On SQLite, the tables the migration being read rebuilds.
    rebuilds: sqlite::Rebuilds,
    /// Whether a lock timeout is in effect for the statement being read: godwit's, or one the
    /// migration set.
    timeout: bool,
    /// The constraints (table, name) the migration being read added `NOT VALID` in its
    /// transaction, whose lock it holds until it commits.
    not_valid: HashSet<(String, String)>,
}

impl Reader {
    pub(super) fn new(dialect: Dialect, transaction: bool) -> Reader {
        Reader {
            dialect,
            transaction,
            created: HashSet::new(),
            rebuilds: sqlite::Rebuilds::default(),
            timeout: true,
            not_valid: HashSet::new(),
        }
    }

    /// The next migration's statements follow, in a transaction or not, with godwit's lock
    /// timeout or without.
    pub(super) fn next_migration<'s>(
        &mut self,
        transaction: bool,
        timeout: bool,
        statements: impl IntoIterator<Item = &'s str>,
    ) {
        self.transaction = transaction;
        self.timeout = timeout;
        self.not_valid.clear();
        if self.dialect == Dialect::Sqlite {
            self.rebuilds = sqlite::Rebuilds::read(statements);
        }
    }

    /// The rules' findings in one statement of the file.
    #[cfg(test)]
    pub(super) fn check(&mut self, sql: &str) -> Vec<Found> {
        self.check_parsed(sql, &SourceFile::parse(sql))
    }

    /// The rules' findings in one statement of the file, parsed already.
    pub(super) fn check_parsed(&mut self, sql: &str, parse: &Parse<SourceFile>) -> Vec<Found> {
        let mut found = Checked { sql, found: Vec::new() };
        if let Some(error) = parse.errors().first() {
            // SQLite's own syntax (PRAGMA, its column types) is not PostgreSQL's: only what the
            // grammar reads is checked there.
            match self.dialect {
                Dialect::Postgres => {
                    let at = usize::from(error.range().start());
                    found.push(Rule::Unreadable, &format!("{error}"), at);
                }
                Dialect::Sqlite => self.sqlite_unparsed(parse, &mut found),
            }
            return found.found;
        }
        for stmt in parse.tree().stmts() {
            match self.dialect {
                Dialect::Postgres => {
                    self.postgres(&stmt, &mut found);
                    self.waits_unbounded(&stmt, &mut found);
                }
                Dialect::Sqlite => self.sqlite(&stmt, &mut found),
            }
            let made = match &stmt {
                ast::Stmt::CreateTable(table) => table.table_name(),
                ast::Stmt::CreateTableAs(table) => table.table_name(),
                _ => None,
            };
            if let Some(name) = made {
                self.created.insert(name_of(name.syntax()));
            }
            if let ast::Stmt::AlterTable(alter) = &stmt
                && self.transaction
            {
                self.not_valid.extend(added_not_valid(alter));
            }
        }
        found.found
    }

    /// `ACCESS EXCLUSIVE` on an existing relation with no lock timeout in effect; a `SET
    /// lock_timeout` puts one in effect for the statements after it.
    fn waits_unbounded(&mut self, stmt: &ast::Stmt, found: &mut Checked<'_>) {
        if let ast::Stmt::Set(set) = stmt
            && super::statement::sets_lock_timeout(&set.syntax().text().to_string())
        {
            let value = set.syntax().text().to_string().to_lowercase();
            let value = value.rsplit(['=', ' ']).find(|w| !w.is_empty()).unwrap_or_default();
            self.timeout = !matches!(value.trim_end_matches(';'), "0" | "'0'" | "default");
        }
        if self.timeout {
            return;
        }
        for lock in super::takes::of_statement(stmt) {
            if lock.mode == super::LockMode::AccessExclusive && !self.made_here(&lock.relation) {
                let what = format!("ACCESS EXCLUSIVE on {} with no lock_timeout", lock.relation);
                found.push(Rule::AccessExclusiveWithoutTimeout, &what, offset(stmt.syntax()));
            }
        }
    }

    /// Whether every table a `DROP TABLE` or `TRUNCATE` names is one the migrations created.
    fn all_new(&self, stmt: &SyntaxNode) -> bool {
        let mut tables = stmt.descendants().filter(|n| {
            matches!(n.kind(), SyntaxKind::TABLE_NAME_REF | SyntaxKind::RELATION_NAME_REF)
        });
        tables.all(|t| self.is_new(Some(&t)))
    }

    /// Whether the linted migrations created the table `name` (`public.orders` is the
    /// `orders` they created, as a dump and a baseline name it).
    fn made_here(&self, name: &str) -> bool {
        self.created.contains(name)
            || name.strip_prefix("public.").is_some_and(|bare| self.created.contains(bare))
    }

    /// Whether `table` (as written) is one this file created.
    fn is_new(&self, table: Option<&SyntaxNode>) -> bool {
        table.is_some_and(|t| self.made_here(&name_of(t)))
    }

    fn postgres(&self, stmt: &ast::Stmt, found: &mut Checked<'_>) {
        match stmt {
            ast::Stmt::CreateIndex(index) => {
                let table = index.table_relation_name().and_then(|t| t.table_name_ref());
                let table = table.as_ref().map(AstNode::syntax);
                self.concurrently(
                    index.concurrently_token().is_some(),
                    table,
                    "CREATE INDEX",
                    stmt,
                    found,
                );
            }
            ast::Stmt::DropIndex(index) => {
                self.concurrently(
                    index.concurrently_token().is_some(),
                    None,
                    "DROP INDEX",
                    stmt,
                    found,
                );
            }
            ast::Stmt::AlterTable(alter) => {
                let table = alter.table_relation_name().and_then(|t| t.table_name_ref());
                let table = table.as_ref().map(AstNode::syntax);
                let name = table.map_or_else(|| "the table".to_owned(), name_of);
                for action in alter.actions() {
                    self.alter(&action, &name, self.is_new(table), found);
                }
            }
            ast::Stmt::CreateTable(table) => columns::create_table(table, found),
            _ => self.destructive(stmt, found),
        }
    }

    /// `CREATE` or `DROP INDEX`, with or without CONCURRENTLY, on `table` when it is known.
    fn concurrently(
        &self,
        concurrently: bool,
        table: Option<&SyntaxNode>,
        what: &str,
        stmt: &ast::Stmt,
        found: &mut Checked<'_>,
    ) {
        let on = table.map(|t| format!(" on {}", name_of(t))).unwrap_or_default();
        let at = offset(stmt.syntax());
        match concurrently {
            true if self.transaction => {
                found.push(
                    Rule::ConcurrentlyInTransaction,
                    &format!("{what} CONCURRENTLY{on}"),
                    at,
                );
            }
            false if !self.is_new(table) => {
                found.push(
                    Rule::IndexNotConcurrent,
                    &format!("{what}{on} without CONCURRENTLY"),
                    at,
                );
            }
            _ => {}
        }
    }

    /// One action of `ALTER TABLE name`, on PostgreSQL.
    fn alter(
        &self,
        action: &ast::AlterTableAction,
        name: &str,
        new: bool,
        found: &mut Checked<'_>,
    ) {
        let at = offset(action.syntax());
        match action {
            ast::AlterTableAction::AddConstraint(add) if !new => {
                columns::add_key(add, name, found);
                let kind = add.constraint().map(|c| c.syntax().kind());
                let scans = matches!(
                    kind,
                    Some(SyntaxKind::FOREIGN_KEY_CONSTRAINT | SyntaxKind::CHECK_CONSTRAINT)
                );
                if scans && !has(action.syntax(), SyntaxKind::NOT_VALID) {
                    let what = match kind {
                        Some(SyntaxKind::FOREIGN_KEY_CONSTRAINT) => "a foreign key",
                        _ => "a check constraint",
                    };
                    found.push(
                        Rule::ConstraintNotValid,
                        &format!("{what} added to {name} without NOT VALID"),
                        at,
                    );
                }
            }
            ast::AlterTableAction::ValidateConstraint(validate) => {
                let constraint = validate
                    .syntax()
                    .descendants()
                    .find(|n| n.kind() == SyntaxKind::CONSTRAINT_NAME_REF);
                let constraint = constraint.as_ref().map(name_of).unwrap_or_default();
                if self.not_valid.contains(&(name.to_owned(), constraint.clone())) {
                    let what = format!(
                        "VALIDATE CONSTRAINT {constraint} in the transaction that added it NOT VALID: \
                         the lock the ADD took is held while it scans {name}"
                    );
                    found.push(Rule::ConstraintNotValid, &what, at);
                }
            }
            ast::AlterTableAction::AlterColumn(column) if !new => {
                match column.option().map(|o| o.syntax().kind()) {
                    Some(SyntaxKind::SET_NOT_NULL) => {
                        found.push(Rule::SetNotNull, &format!("SET NOT NULL on {name}"), at);
                    }
                    Some(SyntaxKind::SET_TYPE) => {
                        found.push(
                            Rule::ColumnTypeChange,
                            &format!("a column of {name} changes type"),
                            at,
                        );
                    }
                    _ => {}
                }
            }
            ast::AlterTableAction::AddColumn(column) => {
                columns::add_column(column, name, new, found);
                let kinds: Vec<SyntaxKind> =
                    column.constraints().map(|c| c.syntax().kind()).collect();
                if !new
                    && kinds.contains(&SyntaxKind::NOT_NULL_CONSTRAINT)
                    && !kinds.contains(&SyntaxKind::DEFAULT_CONSTRAINT)
                {
                    found.push(
                        Rule::NotNullWithoutDefault,
                        &format!("a NOT NULL column without a default added to {name}"),
                        at,
                    );
                }
            }
            // A table the linted migrations created: nobody reads what they drop or rename.
            _ if new => {}
            _ => lose_or_rename(action, name, at, found),
        }
    }

    /// What drops data, in any dialect.
    fn destructive(&self, stmt: &ast::Stmt, found: &mut Checked<'_>) {
        let at = offset(stmt.syntax());
        match stmt {
            ast::Stmt::DropTable(drop) if !self.all_new(drop.syntax()) => {
                found.push(Rule::DropsData, "DROP TABLE", at);
            }
            ast::Stmt::Truncate(truncate) if !self.all_new(truncate.syntax()) => {
                found.push(Rule::DropsData, "TRUNCATE", at);
            }
            ast::Stmt::DropSchema(_) => found.push(Rule::DropsData, "DROP SCHEMA", at),
            _ => {}
        }
    }
}

/// The constraints an `ALTER TABLE` adds `NOT VALID`: (table, constraint).
fn added_not_valid(alter: &ast::AlterTable) -> Vec<(String, String)> {
    let table = alter.table_relation_name().and_then(|t| t.table_name_ref());
    let Some(table) = table.as_ref().map(|t| name_of(t.syntax())) else { return Vec::new() };
    let added = alter.actions().filter_map(|action| match action {
        ast::AlterTableAction::AddConstraint(add) if has(add.syntax(), SyntaxKind::NOT_VALID) => {
            add.syntax().descendants().find(|n| n.kind() == SyntaxKind::CONSTRAINT_NAME)
        }
        _ => None,
    });
    added.map(|name| (table.clone(), name_of(&name))).collect()
}

/// The actions of `ALTER TABLE name` that drop or rename, in any dialect.
fn lose_or_rename(action: &ast::AlterTableAction, name: &str, at: usize, found: &mut Checked<'_>) {
    match action {
        ast::AlterTableAction::DropColumn(_) => {
            found.push(Rule::DropsData, &format!("a column of {name} dropped"), at);
        }
        ast::AlterTableAction::RenameColumn(_) => {
            found.push(Rule::Renames, &format!("a column of {name} renamed"), at);
        }
        ast::AlterTableAction::TableRenameTo(_) => {
            found.push(Rule::Renames, &format!("{name} renamed"), at);
        }
        _ => {}
    }
}

/// What the rules found in one statement, with the statement to count lines in.
struct Checked<'s> {
    sql: &'s str,
    found: Vec<Found>,
}

impl Checked<'_> {
    fn push(&mut self, rule: Rule, what: &str, at: usize) {
        let lines_in = self.sql.get(..at).map_or(0, |before| before.matches('\n').count());
        self.found.push(Found { rule, what: what.to_owned(), lines_in });
    }
}

/// Where a node starts in its statement.
fn offset(node: &SyntaxNode) -> usize {
    // The first token, not the node: a node's range starts at the comments before it.
    node.first_token().map_or(0, |t| usize::from(t.text_range().start()))
}

/// Whether `node` holds a node of `kind`.
fn has(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants().any(|n| n.kind() == kind)
}

/// A table's name as the database folds it: unquoted parts lowercased, quotes removed.
pub(super) fn name_of(node: &SyntaxNode) -> String {
    let text = node.text().to_string();
    text.split('.')
        .map(|part| match part.trim().strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\"\"", "\""),
            None => part.trim().to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The first words of an action (`ALTER COLUMN`, `ADD CONSTRAINT`), for the message.
fn first_words(node: &SyntaxNode) -> String {
    let text = node.text().to_string();
    text.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_uppercase()
}
