//! What a run needs to know of one statement before it sends it, read with the linter's
//! parser: the tables it names (whose lock holders a lock timeout reports), whether it waits
//! for older transactions (`CONCURRENTLY`, which a lock timeout would break), and whether it
//! sets its own lock timeout.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

/// The tables (and other relations) a statement names, as the database folds the names.
pub(crate) fn tables_named(sql: &str) -> Vec<String> {
    let parse = SourceFile::parse(sql);
    let mut names: Vec<String> = parse
        .syntax_node()
        .descendants()
        .filter(|n| matches!(n.kind(), SyntaxKind::TABLE_NAME_REF | SyntaxKind::RELATION_NAME_REF))
        .map(|n| super::rules::name_of(&n))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the statement waits for every older transaction to end (`CREATE INDEX
/// CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`, `DETACH PARTITION
/// ... CONCURRENTLY`): a lock timeout would fail it, and the index it leaves is invalid.
pub(crate) fn waits_for_older_transactions(sql: &str) -> bool {
    let parse = SourceFile::parse(sql);
    let tokens = parse.syntax_node().descendants_with_tokens().filter_map(|t| t.into_token());
    tokens.into_iter().any(|t| t.kind() == SyntaxKind::CONCURRENTLY_KW)
}

/// Whether the statement sets `lock_timeout` itself (`SET [LOCAL] lock_timeout = ...`).
pub(crate) fn sets_lock_timeout(sql: &str) -> bool {
    let parse = SourceFile::parse(sql);
    parse.tree().stmts().any(|stmt| {
        matches!(stmt, ast::Stmt::Set(_))
            && stmt.syntax().descendants().any(|n| {
                n.kind() == SyntaxKind::CONFIG_PARAMETER_REF
                    && n.text().to_string().eq_ignore_ascii_case("lock_timeout")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_says_what_it_names_and_how_it_waits() {
        assert_eq!(
            tables_named(
                "ALTER TABLE Orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES public.customers (id)"
            ),
            ["orders", "public.customers"]
        );
        assert!(waits_for_older_transactions("create index concurrently i on t (x)"));
        assert!(!waits_for_older_transactions("create index i on t (x)"));
        assert!(sets_lock_timeout("SET LOCAL lock_timeout = '1s'"));
        assert!(!sets_lock_timeout("SET statement_timeout = '1s'"));
    }
}
