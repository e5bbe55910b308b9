//! A pack's statements, each run inside a fresh `SECURITY DEFINER` function owned by the
//! pack's role (see `confine`): a statement of a SQL file, and a guest's statements with
//! parameters, batches and queries, whose rows come back typed. The function has a name no
//! pack can predict, exact argument casts, and is called once.

use super::types::{Param, as_sql, column_value, db_error, hex};
use super::{PostgresDriver, quote_ident};
use crate::driver::{DbError, ParamRows, Rows, Value};
use tokio_postgres::types::Type;

/// A name no pack can predict, for one function and its dollar quotes.
fn nonce() -> Result<String, DbError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| DbError::new(format!("cannot draw a random function name: {e}")))?;
    Ok(hex(&bytes))
}

/// `"pg_catalog"."int8"`: a type as SQL names it, whatever the search path.
fn type_name(ty: &Type) -> String {
    match *ty {
        Type::UNKNOWN => "\"pg_catalog\".\"text\"".to_owned(),
        _ => format!("{}.{}", quote_ident(ty.schema()), quote_ident(ty.name())),
    }
}

/// One value as an element of a PostgreSQL array literal in text form.
fn array_element(value: &Value, out: &mut String) {
    let text = match value {
        Value::Null => return out.push_str("NULL"),
        Value::Blob(bytes) => format!("\\x{}", hex(bytes)),
        value => value.postgres_text().unwrap_or_default(),
    };
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

impl PostgresDriver {
    /// Creates the one-call `SECURITY DEFINER` function for a statement: `args` are its
    /// parameters (`name type`), `returns` its result type, `body` its PL/pgSQL body, in
    /// which `$q$` stands for the statement quoted. Returns its name.
    fn definer(
        &mut self,
        sql: &str,
        args: &[(String, String)],
        returns: &str,
        body: &str,
    ) -> Result<String, DbError> {
        let Some(c) = &self.confinement else {
            return Err(DbError::new("no pack confinement is active"));
        };
        let mut id = nonce()?;
        while sql.contains(&id) {
            id = nonce()?;
        }
        let name = format!("pg_temp.godwit_{id}");
        let quoted = format!("$q{id}${sql}$q{id}$");
        let params: Vec<String> = args.iter().map(|(n, t)| format!("{n} {t}")).collect();
        let types: Vec<&str> = args.iter().map(|(_, t)| t.as_str()).collect();
        let create = format!(
            "CREATE FUNCTION {name}({params}) RETURNS {returns} LANGUAGE plpgsql SECURITY DEFINER \
             SET search_path TO {path} AS $b{id}$ {body} $b{id}$; \
             ALTER FUNCTION {name}({types}) OWNER TO {role};",
            params = params.join(", "),
            path = c.search_path,
            body = body.replace("$q$", &quoted),
            types = types.join(", "),
            role = quote_ident(&c.role),
        );
        self.client.batch_execute(&create).map_err(|e| db_error(&e))?;
        Ok(name)
    }

    /// A statement of a pack's SQL file.
    pub(super) fn confined_execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.open_pending()?;
        let name = self.definer(sql, &[], "void", "BEGIN EXECUTE $q$; END")?;
        let result = self.client.batch_execute(&format!("SELECT {name}()"));
        result.map_err(|e| self.denied(db_error(&e)))
    }

    /// The parameter and column types of a guest's statement, from preparing it (which runs
    /// nothing) under the step's search path.
    fn shape(&mut self, sql: &str) -> Result<Shape, DbError> {
        let statement = self.prepare_cached(sql)?;
        let params = statement.params().iter().map(type_name).collect();
        let columns =
            statement.columns().iter().map(|c| (c.name().to_owned(), c.type_().clone())).collect();
        Ok(Shape { params, columns })
    }

    /// A guest's statement with parameters; the number of rows it changed.
    pub(super) fn confined_execute_with(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, DbError> {
        self.open_pending()?;
        let types = self.shape(sql)?.params;
        let args: Vec<(String, String)> =
            types.iter().enumerate().map(|(i, t)| (format!("p{}", i + 1), t.clone())).collect();
        let using = using(&args, "");
        let body = format!(
            "DECLARE n bigint; BEGIN EXECUTE $q${using}; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END"
        );
        let name = self.definer(sql, &args, "bigint", &body)?;
        let call = format!("SELECT {name}({})", casts(&types));
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let row = self.client.query_one(&call, &as_sql(&params));
        let row = row.map_err(|e| self.denied(db_error(&e)))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// A guest's statement once per parameter row, in one call: the rows travel as arrays,
    /// so the whole batch runs inside one function the pack cannot have changed.
    pub(super) fn confined_execute_many(
        &mut self,
        sql: &str,
        rows: ParamRows<'_>,
    ) -> Result<u64, DbError> {
        self.open_pending()?;
        let types = self.shape(sql)?.params;
        let mut args: Vec<(String, String)> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("p{}", i + 1), format!("{t}[]")))
            .collect();
        args.push(("rows".to_owned(), "\"pg_catalog\".\"int8\"".to_owned()));
        let using = using(&args[..types.len()], "[i]");
        let body = format!(
            "DECLARE n bigint := 0; k bigint; BEGIN FOR i IN 1..rows LOOP EXECUTE $q${using}; \
             GET DIAGNOSTICS k = ROW_COUNT; n := n + k; END LOOP; RETURN n; END"
        );
        let name = self.definer(sql, &args, "bigint", &body)?;
        let mut arrays = vec![String::from("{"); types.len()];
        let mut count: i64 = 0;
        for row in rows.iter() {
            for (array, value) in arrays.iter_mut().zip(row) {
                if array.len() > 1 {
                    array.push(',');
                }
                array_element(value, array);
            }
            count += 1;
        }
        let mut values: Vec<Value> = arrays
            .into_iter()
            .map(|mut a| {
                a.push('}');
                Value::Text(a)
            })
            .collect();
        values.push(Value::Integer(count));
        let mut all_types: Vec<String> = types.iter().map(|t| format!("{t}[]")).collect();
        all_types.push("\"pg_catalog\".\"int8\"".to_owned());
        let call = format!("SELECT {name}({})", casts(&all_types));
        let params: Vec<Param<'_>> = values.iter().map(Param).collect();
        let row = self.client.query_one(&call, &as_sql(&params));
        let row = row.map_err(|e| self.denied(db_error(&e)))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// A guest's query; its rows come back with the types the statement gives them.
    pub(super) fn confined_query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.open_pending()?;
        let Shape { params: types, columns } = self.shape(sql)?;
        let args: Vec<(String, String)> =
            types.iter().enumerate().map(|(i, t)| (format!("p{}", i + 1), t.clone())).collect();
        let table: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("c{} {}", i + 1, type_name(ty)))
            .collect();
        let using = using(&args, "");
        let body = format!("BEGIN RETURN QUERY EXECUTE $q${using}; END");
        let returns = format!("TABLE ({})", table.join(", "));
        let name = self.definer(sql, &args, &returns, &body)?;
        let call = format!("SELECT * FROM {name}({})", casts(&types));
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let found = self.client.query(&call, &as_sql(&params));
        let found = found.map_err(|e| self.denied(db_error(&e)))?;
        let mut values = Vec::with_capacity(found.len() * columns.len());
        for row in &found {
            for (i, (name, ty)) in columns.iter().enumerate() {
                values.push(column_value(row, i, name, ty)?);
            }
        }
        Ok(Rows { columns: columns.into_iter().map(|(name, _)| name).collect(), values })
    }
}

/// A guest statement's parameter types (as SQL names them) and result columns.
struct Shape {
    params: Vec<String>,
    columns: Vec<(String, Type)>,
}

/// ` USING p1, p2` (with `suffix` after each, like `[i]`), or nothing without parameters.
fn using(args: &[(String, String)], suffix: &str) -> String {
    match args.is_empty() {
        true => String::new(),
        false => {
            let names: Vec<String> = args.iter().map(|(n, _)| format!("{n}{suffix}")).collect();
            format!(" USING {}", names.join(", "))
        }
    }
}

/// `$1::"pg_catalog"."int8", $2::...`: the call's arguments with their exact types.
fn casts(types: &[String]) -> String {
    let casts: Vec<String> =
        types.iter().enumerate().map(|(i, t)| format!("${}::{t}", i + 1)).collect();
    casts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_are_quoted_and_escaped() {
        let mut out = String::new();
        for value in [
            Value::Null,
            Value::Text("a\"b\\c".into()),
            Value::Integer(5),
            Value::Blob(vec![1, 255]),
        ] {
            array_element(&value, &mut out);
            out.push(',');
        }
        assert_eq!(out, r#"NULL,"a\"b\\c","5","\\x01ff","#);
    }

    #[test]
    fn calls_cast_every_argument() {
        let types = ["\"pg_catalog\".\"int8\"".to_owned(), "\"public\".\"mood\"".to_owned()];
        assert_eq!(casts(&types), "$1::\"pg_catalog\".\"int8\", $2::\"public\".\"mood\"");
        let args = [("p1".to_owned(), types[0].clone())];
        assert_eq!(using(&args, "[i]"), " USING p1[i]");
        assert_eq!(using(&[], ""), "");
    }
}
