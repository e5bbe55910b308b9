//! Splits a section of SQL into statements, so that each one can be run on its own: a failure
//! then names the statement and its line, and `no-transaction` migrations (which PostgreSQL
//! would otherwise wrap in an implicit transaction) run one statement at a time.
//!
//! The splitter knows the lexical forms that may hide a `;`: quoted strings and identifiers
//! (including PostgreSQL `E'...'` escapes and `$tag$` dollar quotes), line and nested block
//! comments, parentheses, and `BEGIN ... END` bodies of `CREATE TRIGGER` (SQLite) and
//! `BEGIN ATOMIC` (PostgreSQL) statements.

use crate::migration::Statement;

/// Splits `text`, whose first character is on line `first_line`, into its statements. Empty
/// statements and statements made only of comments are dropped; each kept statement keeps its
/// text from its first token to (without) its terminating semicolon.
pub(crate) fn split(text: &str, first_line: usize) -> Vec<Statement> {
    let mut splitter =
        Splitter { bytes: text.as_bytes(), text, pos: 0, line: first_line, out: Vec::new() };
    splitter.run();
    splitter.out
}

struct Splitter<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    out: Vec<Statement>,
}

/// What the scanner knows about the statement being read.
#[derive(Default)]
struct Current {
    start: Option<(usize, usize)>,
    first_word: Option<String>,
    parens: usize,
    blocks: usize,
}

impl Splitter<'_> {
    fn run(&mut self) {
        let mut cur = Current::default();
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b if b.is_ascii_whitespace() => self.pos += 1,
                b'-' if self.peek(1) == Some(b'-') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b';' if cur.parens == 0 && cur.blocks == 0 => {
                    self.finish(&mut cur, self.pos);
                    self.pos += 1;
                }
                _ => {
                    cur.start.get_or_insert((self.pos, self.line));
                    self.token(&mut cur);
                }
            }
        }
        self.finish(&mut cur, self.bytes.len());
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn finish(&mut self, cur: &mut Current, end: usize) {
        if let Some((start, line)) = cur.start {
            let sql = self.text[start..end].trim_end().to_owned();
            self.out.push(Statement { sql, line });
        }
        *cur = Current::default();
    }

    /// Consumes one token that starts a statement or continues it.
    fn token(&mut self, cur: &mut Current) {
        let b = self.bytes[self.pos];
        match b {
            b'\'' => self.skip_quoted(b'\'', false),
            b'"' => self.skip_quoted(b'"', false),
            b'`' => self.skip_quoted(b'`', false),
            b'[' => self.skip_quoted(b']', false),
            b'(' => {
                cur.parens += 1;
                self.pos += 1;
            }
            b')' => {
                cur.parens = cur.parens.saturating_sub(1);
                self.pos += 1;
            }
            b'$' => {
                if !self.skip_dollar_quoted() {
                    self.pos += 1;
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let word_start = self.pos;
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
                {
                    self.pos += 1;
                }
                let word = &self.text[word_start..self.pos];
                if (word == "E" || word == "e") && self.peek(0) == Some(b'\'') {
                    self.skip_quoted(b'\'', true);
                    return;
                }
                self.word(cur, word);
            }
            b if b.is_ascii_digit() => {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    self.pos += 1;
                }
            }
            _ => self.pos += self.char_len(),
        }
    }

    /// Tracks `BEGIN ... END` bodies, which only occur inside `CREATE` statements (triggers,
    /// `BEGIN ATOMIC` functions); a transaction-control `BEGIN;` is never inside one.
    fn word(&self, cur: &mut Current, word: &str) {
        let upper = word.to_ascii_uppercase();
        if cur.first_word.is_none() {
            cur.first_word = Some(upper);
            return;
        }
        if cur.first_word.as_deref() != Some("CREATE") {
            return;
        }
        match upper.as_str() {
            "BEGIN" => cur.blocks += 1,
            "CASE" if cur.blocks > 0 => cur.blocks += 1,
            "END" if cur.blocks > 0 => cur.blocks -= 1,
            _ => {}
        }
    }

    fn char_len(&self) -> usize {
        self.text[self.pos..].chars().next().map_or(1, char::len_utf8)
    }

    fn skip_line_comment(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            match (self.bytes[self.pos], self.peek(1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return;
                    }
                }
                (b'\n', _) => {
                    self.line += 1;
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Skips a quoted string or identifier opened at `self.pos`; a doubled closing quote is an
    /// escaped quote and simply reopens it. With `backslash`, `\x` escapes any character.
    fn skip_quoted(&mut self, close: u8, backslash: bool) {
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            self.pos += 1;
            match b {
                b'\n' => self.line += 1,
                b'\\' if backslash => {
                    if self.peek(0) == Some(b'\n') {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
                b if b == close => return,
                _ => {}
            }
        }
    }

    /// Skips a PostgreSQL dollar-quoted string (`$$...$$`, `$fn$...$fn$`) if one starts here.
    fn skip_dollar_quoted(&mut self) -> bool {
        let rest = &self.text[self.pos + 1..];
        let tag_len = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
        let tag_is_valid = !rest.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !tag_is_valid || rest.as_bytes().get(tag_len) != Some(&b'$') {
            return false;
        }
        let delimiter = &self.text[self.pos..self.pos + tag_len + 2];
        let body_start = self.pos + delimiter.len();
        let end = self.text[body_start..]
            .find(delimiter)
            .map_or(self.bytes.len(), |at| body_start + at + delimiter.len());
        self.line += self.text[self.pos..end].matches('\n').count();
        self.pos = end;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(text: &str) -> Vec<(String, usize)> {
        split(text, 1).into_iter().map(|s| (s.sql, s.line)).collect()
    }

    #[test]
    fn splits_on_semicolons_with_lines() {
        let got = sqls("create table a (x int);\n\n-- note\ncreate table b (y int);\nselect 1");
        assert_eq!(
            got,
            vec![
                ("create table a (x int)".to_owned(), 1),
                ("create table b (y int)".to_owned(), 4),
                ("select 1".to_owned(), 5),
            ]
        );
    }

    #[test]
    fn ignores_semicolons_in_strings_comments_and_identifiers() {
        let text = "insert into t values ('a;b', 'it''s;');\n\
                    /* one; /* nested; */ still; */ select \"odd;name\" from t;\n\
                    select E'\\';' ; select [x;y] from t -- trailing; comment\n";
        let got = sqls(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, "insert into t values ('a;b', 'it''s;')");
        assert_eq!(got[1].0, "select \"odd;name\" from t");
        assert_eq!(got[1].1, 2);
        assert_eq!(got[2].0, "select E'\\';'");
        assert_eq!(got[3].0, "select [x;y] from t -- trailing; comment");
    }

    #[test]
    fn dollar_quoted_function_bodies_stay_whole() {
        let text = "create function f() returns int as $body$\nbegin\n  return 1;\nend;\n$body$ language plpgsql;\nselect f();";
        let got = sqls(text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].0.ends_with("language plpgsql"));
        assert_eq!(got[1], ("select f()".to_owned(), 6));
        assert_eq!(sqls("select $1, $$a;b$$;").len(), 1);
    }

    #[test]
    fn trigger_bodies_and_atomic_blocks_stay_whole() {
        let text = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = CASE WHEN 1 THEN 2 END;\n  DELETE FROM b;\nEND;\nSELECT 1;";
        let got = sqls(text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].0.ends_with("END"));
        assert_eq!(got[1].1, 5);
        let atomic = "create function g() returns int language sql begin atomic select 1; end;";
        assert_eq!(sqls(atomic).len(), 1);
        assert_eq!(sqls("begin; create table t(x int); commit;").len(), 3);
    }

    #[test]
    fn parenthesised_rule_actions_stay_whole() {
        let text =
            "create rule r as on insert to t do also (insert into u values (1); delete from v);";
        assert_eq!(sqls(text).len(), 1);
    }

    #[test]
    fn comment_only_input_has_no_statements() {
        assert!(sqls("-- nothing here\n/* nor here; */\n;\n").is_empty());
    }
}
