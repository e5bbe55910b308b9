//! The rules about columns and keys, on PostgreSQL: a column added with a default that is
//! computed per row, a primary key or unique constraint that builds its index under the
//! table's lock, and the preferences (identity over serial, timestamptz, text, bigint keys)
//! a project turns on.

use super::{Checked, has, name_of, offset};
use crate::lint::Rule;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind, SyntaxNode};

/// Functions whose value differs per row, so a default calling one is computed for every
/// existing row when the column is added (PostgreSQL 11+ stores a constant or stable
/// default once, without a rewrite).
const VOLATILE: [&str; 11] = [
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
];

const SERIAL: [&str; 6] = ["serial", "serial4", "serial8", "bigserial", "smallserial", "serial2"];

/// The types of a key that runs out at 2^31 (or 2^15).
const SMALL_KEYS: [&str; 8] =
    ["int", "integer", "int4", "int2", "smallint", "serial", "serial4", "smallserial"];

/// `ALTER TABLE name ADD COLUMN`: what it costs on an existing table, and the preferences.
pub(super) fn add_column(column: &ast::AddColumn, name: &str, new: bool, found: &mut Checked<'_>) {
    let node = column.syntax();
    preferences(node, &[], found);
    if new {
        return;
    }
    let at = offset(node);
    if let Some(call) = per_row_default(column) {
        found.push(
            Rule::VolatileDefault,
            &format!("a column with a volatile default ({call}) added to {name}"),
            at,
        );
    }
    let kinds: Vec<SyntaxKind> = column.constraints().map(|c| c.syntax().kind()).collect();
    for (kind, what) in [
        (SyntaxKind::PRIMARY_KEY_CONSTRAINT, "a primary key"),
        (SyntaxKind::UNIQUE_CONSTRAINT, "a unique constraint"),
    ] {
        if kinds.contains(&kind) {
            let what = format!("{what} built with a column added to {name}");
            found.push(Rule::UniqueWithoutIndex, &what, at);
        }
    }
}

/// The default of an added column that is computed for each existing row, rewriting the
/// table: a volatile call (`gen_random_uuid()`) or a `serial` type.
pub(in crate::lint) fn per_row_default(column: &ast::AddColumn) -> Option<String> {
    let volatile = column
        .constraints()
        .filter(|c| c.syntax().kind() == SyntaxKind::DEFAULT_CONSTRAINT)
        .find_map(|c| volatile_call(c.syntax()));
    volatile.or_else(|| type_name(column.syntax()).filter(|t| SERIAL.contains(&t.as_str())))
}

/// `ALTER TABLE name ADD CONSTRAINT ... PRIMARY KEY | UNIQUE` without `USING INDEX`, on an
/// existing table.
pub(super) fn add_key(add: &ast::AddConstraint, name: &str, found: &mut Checked<'_>) {
    let Some(constraint) = add.constraint() else { return };
    let what = match constraint.syntax().kind() {
        SyntaxKind::PRIMARY_KEY_CONSTRAINT => "a primary key",
        SyntaxKind::UNIQUE_CONSTRAINT => "a unique constraint",
        _ => return,
    };
    if !has(constraint.syntax(), SyntaxKind::USING_INDEX_NAME) {
        let what = format!("{what} added to {name} without USING INDEX");
        found.push(Rule::UniqueWithoutIndex, &what, offset(add.syntax()));
    }
}

/// `CREATE TABLE`: the preferences, for each column.
pub(super) fn create_table(table: &ast::CreateTable, found: &mut Checked<'_>) {
    let Some(args) = table.syntax().children().find(|n| n.kind() == SyntaxKind::TABLE_ARG_LIST)
    else {
        return;
    };
    // The columns a table-level `PRIMARY KEY (a, b)` names.
    let keys: Vec<String> = args
        .children()
        .filter(|n| n.kind() == SyntaxKind::PRIMARY_KEY_CONSTRAINT)
        .flat_map(|pk| pk.descendants().filter(|n| n.kind() == SyntaxKind::COLUMN_NAME_REF))
        .map(|n| name_of(&n))
        .collect();
    for column in args.children().filter(|n| n.kind() == SyntaxKind::COLUMN) {
        preferences(&column, &keys, found);
    }
}

/// The preferences for one column definition (`keys`: the columns of the table's primary
/// key declared apart from them).
fn preferences(column: &SyntaxNode, keys: &[String], found: &mut Checked<'_>) {
    let name = column
        .children()
        .find(|n| n.kind() == SyntaxKind::COLUMN_NAME)
        .map_or_else(|| "a column".to_owned(), |n| name_of(&n));
    let Some(ty) = column.children().find_map(ast::Type::cast) else { return };
    let at = offset(ty.syntax());
    let written = type_name(column).unwrap_or_default();
    match &ty {
        ast::Type::PathType(_) if SERIAL.contains(&written.as_str()) => {
            found.push(Rule::PreferIdentity, &format!("{name} is {written}"), at);
        }
        ast::Type::TimestampType(_) if !has(ty.syntax(), SyntaxKind::WITH_TIMEZONE) => {
            let what = format!("{name} is timestamp without time zone");
            found.push(Rule::PreferTimestamptz, &what, at);
        }
        ast::Type::CharacterType(_) => {
            found.push(Rule::PreferText, &format!("{name} is char(n)"), at);
        }
        _ => {}
    }
    let key = column.children().any(|n| n.kind() == SyntaxKind::PRIMARY_KEY_CONSTRAINT)
        || keys.contains(&name);
    if key && SMALL_KEYS.contains(&written.as_str()) {
        found.push(Rule::PreferBigintKeys, &format!("the key {name} is {written}"), at);
    }
}

/// The written name of a column's type, when it is a plain name (`serial`, `int4`).
fn type_name(column: &SyntaxNode) -> Option<String> {
    let ty = column.children().find(|n| n.kind() == SyntaxKind::PATH_TYPE)?;
    Some(name_of(&ty))
}

/// The first call of a volatile function in a default, as written (`gen_random_uuid()`).
fn volatile_call(default: &SyntaxNode) -> Option<String> {
    default.descendants().filter(|n| n.kind() == SyntaxKind::CALL_EXPR).find_map(|call| {
        let callee = call.children().find(|n| n.kind() == SyntaxKind::NAME_REF)?;
        let callee = name_of(&callee);
        let bare = callee.rsplit('.').next().unwrap_or(&callee);
        VOLATILE.contains(&bare).then(|| format!("{bare}()"))
    })
}
