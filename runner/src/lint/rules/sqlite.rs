//! The rules on SQLite: the `ALTER TABLE` forms it refuses, and a table rebuilt the way its
//! documentation describes (a new table, the rows copied, the old one dropped, the new one
//! renamed) without losing its rows or leaving references to it unchecked.

use super::{Checked, Reader, first_words, lose_or_rename, name_of, offset};
use crate::lint::Rule;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

/// What a migration's statements say about rebuilding tables, read before its first one.
#[derive(Default)]
pub(super) struct Rebuilds {
    /// The tables another table is renamed to (`ALTER TABLE orders_new RENAME TO orders`).
    renamed_to: Vec<String>,
    /// Whether the migration runs `PRAGMA foreign_key_check`.
    checks_keys: bool,
    /// The tables an `INSERT ... SELECT` has read from so far.
    copied: Vec<String>,
}

impl Rebuilds {
    /// Reads the statements of one migration on SQLite.
    pub(super) fn read<'s>(statements: impl IntoIterator<Item = &'s str>) -> Rebuilds {
        let mut rebuilds = Rebuilds::default();
        for sql in statements {
            // Only a statement that says one of these words can be a rename or a pragma:
            // the others are not parsed twice.
            let lower = sql.to_ascii_lowercase();
            if !lower.contains("rename") && !lower.contains("pragma") {
                continue;
            }
            let parse = SourceFile::parse(sql);
            if pragma(&parse).as_deref() == Some("foreign_key_check") {
                rebuilds.checks_keys = true;
            }
            let renames = parse
                .tree()
                .syntax()
                .descendants()
                .filter(|n| n.kind() == SyntaxKind::TABLE_RENAME_TO);
            for rename in renames {
                if let Some(to) = rename.children().find(|n| n.kind() == SyntaxKind::TABLE_NAME) {
                    rebuilds.renamed_to.push(bare(&name_of(&to)));
                }
            }
        }
        rebuilds
    }
}

/// The pragma a statement sets or runs (`foreign_keys`), read from the parser's tokens:
/// PostgreSQL's grammar has no PRAGMA, so the statement is a run of tokens it could not
/// place.
pub(super) fn pragma(parse: &squawk_syntax::Parse<SourceFile>) -> Option<String> {
    let statement = parse.syntax_node();
    let mut words = words(&statement);
    let first = words.next()?;
    if !first.text().eq_ignore_ascii_case("pragma") {
        return None;
    }
    let name = words.next()?.text().to_lowercase();
    // `PRAGMA main.foreign_keys`
    match words.next() {
        Some(dot) if dot.kind() == SyntaxKind::DOT => Some(words.next()?.text().to_lowercase()),
        _ => Some(name),
    }
}

/// The words of a statement in order, what its parser placed or not, without spaces and
/// comments.
fn words(
    statement: &squawk_syntax::SyntaxNode,
) -> impl Iterator<Item = squawk_syntax::SyntaxToken> {
    statement
        .descendants_with_tokens()
        .filter_map(|t| t.into_token())
        .filter(|t| !t.kind().is_trivia())
}

/// A table's name without its schema (`main.orders` is `orders`).
fn bare(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_owned()
}

impl Reader {
    /// A statement PostgreSQL's grammar cannot read, on SQLite: a `PRAGMA foreign_keys` in a
    /// transaction does nothing. Of SQLite's own forms (a table `STRICT` or `WITHOUT ROWID`,
    /// `INSERT OR REPLACE`, `REPLACE INTO`) the parser still places the parts around the
    /// words it does not know: the table a `CREATE TABLE` makes, and the tables an insert
    /// copies rows from, which is what the rules need of them.
    pub(super) fn sqlite_unparsed(
        &mut self,
        parse: &squawk_syntax::Parse<SourceFile>,
        found: &mut Checked<'_>,
    ) {
        if self.transaction && pragma(parse).as_deref() == Some("foreign_keys") {
            let what = "PRAGMA foreign_keys in a migration that runs in a transaction (it does nothing there)";
            found.push(Rule::SqliteRebuild, what, 0);
        }
        let tree = parse.syntax_node();
        for table in tree.descendants().filter(|n| n.kind() == SyntaxKind::CREATE_TABLE) {
            if let Some(name) = table.children().find(|n| n.kind() == SyntaxKind::TABLE_NAME) {
                self.created.insert(name_of(&name));
            }
        }
        if words(&tree)
            .next()
            .is_some_and(|t| matches!(t.kind(), SyntaxKind::INSERT_KW | SyntaxKind::REPLACE_KW))
        {
            self.copies(&tree);
        }
    }

    /// `INSERT ... SELECT ... FROM t` (or `CREATE TABLE ... AS SELECT ... FROM t`) copies t's
    /// rows.
    fn copies(&mut self, statement: &squawk_syntax::SyntaxNode) {
        let from = statement.descendants().filter(|n| n.kind() == SyntaxKind::FROM_CLAUSE);
        for clause in from {
            let tables = clause.descendants().filter(|n| n.kind() == SyntaxKind::RELATION_NAME_REF);
            self.rebuilds.copied.extend(tables.map(|t| bare(&name_of(&t))));
        }
    }

    /// `DROP TABLE t`: data lost, unless t is rebuilt and its rows were copied; a rebuild
    /// also needs its references checked.
    fn drop_table(&self, drop: &ast::DropTable, found: &mut Checked<'_>) {
        let at = offset(drop.syntax());
        let Some(table) = drop.syntax().children().find(|n| n.kind() == SyntaxKind::TABLE_NAME_REF)
        else {
            return found.push(Rule::DropsData, "DROP TABLE", at);
        };
        let name = bare(&name_of(&table));
        let rebuilds = &self.rebuilds;
        if !rebuilds.renamed_to.contains(&name) {
            return self.destructive(&ast::Stmt::DropTable(drop.clone()), found);
        }
        if !rebuilds.copied.contains(&name) {
            let what = format!("DROP TABLE {name}, rebuilt without copying its rows");
            found.push(Rule::DropsData, &what, at);
        }
        if !rebuilds.checks_keys {
            let what = format!("{name} rebuilt without PRAGMA foreign_key_check");
            found.push(Rule::SqliteRebuild, &what, at);
        }
    }

    /// One statement on SQLite.
    pub(super) fn sqlite(&mut self, stmt: &ast::Stmt, found: &mut Checked<'_>) {
        let alter = match stmt {
            ast::Stmt::AlterTable(alter) => alter,
            ast::Stmt::DropTable(drop) => return self.drop_table(drop, found),
            ast::Stmt::Insert(insert) => return self.copies(insert.syntax()),
            ast::Stmt::CreateTableAs(table) => return self.copies(table.syntax()),
            _ => return self.destructive(stmt, found),
        };
        let table = alter.table_relation_name().and_then(|t| t.table_name_ref());
        let name = table.as_ref().map_or_else(|| "the table".to_owned(), |t| name_of(t.syntax()));
        for action in alter.actions() {
            let at = offset(action.syntax());
            // SQLite 3.54 (the one godwit runs) sets and drops NOT NULL, adds a CHECK and
            // drops a constraint; nothing else of a column or a constraint.
            let unsupported = match &action {
                ast::AlterTableAction::AlterColumn(column) => !matches!(
                    column.option(),
                    Some(
                        ast::AlterColumnOption::SetNotNull(_)
                            | ast::AlterColumnOption::DropNotNull(_)
                    )
                ),
                ast::AlterTableAction::AddConstraint(add) => {
                    add.constraint().map(|c| c.syntax().kind())
                        != Some(SyntaxKind::CHECK_CONSTRAINT)
                }
                _ => false,
            };
            match unsupported {
                true => {
                    let what = format!("ALTER TABLE {name} {}", first_words(action.syntax()));
                    found.push(Rule::SqliteAlterUnsupported, &what, at);
                }
                false if self.is_new(table.as_ref().map(AstNode::syntax)) => {}
                false => lose_or_rename(&action, &name, at, found),
            }
        }
    }
}
