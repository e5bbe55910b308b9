//! Pack grants on PostgreSQL. Each pack gets a role of its own (`godwit_<pack>_<hash>`, with
//! no login and no attributes), the schema it owns, and exactly the privileges its grant
//! names; godwit creates or corrects them at the start of each of the pack's steps, in the
//! step's transaction.
//!
//! `SET ROLE` alone does not hold a pack: the pack could `RESET ROLE` (in a `DO` block, say)
//! and be godwit again. So each statement of a pack runs inside a fresh `SECURITY DEFINER`
//! function owned by the pack's role, where PostgreSQL refuses any change of role or session
//! authorization. The function lives in the session's temporary schema under an unguessable
//! name, is created right before its one call (with explicit argument casts, so no function
//! the pack made can be picked instead) and never called again. After the step, godwit
//! checks what the pack leaves behind (functions that would run as their caller, the
//! migration lock) and resets what it may have changed in the session (settings, temporary
//! objects), before recording the step.

use super::types::{Param, as_sql, column_value, db_error, literal};
use super::{PostgresDriver, quote_ident};
use crate::driver::{DbError, ParamRows, Rows, Value};
use crate::pack::{Access, Pack};
use sha2::{Digest, Sha256};
use tokio_postgres::types::Type;

/// The pack whose step is running, and how its statements are run.
#[derive(Debug)]
pub(super) struct Confinement {
    pack: String,
    role: String,
    /// The pack's schema, then the project's: unqualified names resolve there.
    search_path: String,
    grant: String,
}

/// How PostgreSQL applies a grant, for messages: `ddl on schema billing; reads public.users`.
fn postgres_grant(grant: &crate::pack::Grant, project_schema: &str) -> String {
    let reads: Vec<String> = grant
        .read
        .iter()
        .map(|t| format!("{}.{}", t.schema.as_deref().unwrap_or(project_schema), t.name))
        .collect();
    let reads = match reads.is_empty() {
        true => "no other tables".to_owned(),
        false => reads.join(", "),
    };
    format!("{} on schema {}, and reading {reads}", grant.access.as_str(), grant.schema)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
    /// The role of a pack: one per pack and history table, so projects sharing a cluster do
    /// not share roles.
    fn pack_role(&mut self, pack: &str) -> Result<String, DbError> {
        let database = match &self.database {
            Some(database) => database.clone(),
            None => {
                let row = self
                    .client
                    .query_one("SELECT current_database()::text", &[])
                    .map_err(|e| db_error(&e))?;
                self.database.insert(row.get(0)).clone()
            }
        };
        let digest = Sha256::digest(format!("{database}/{}", self.schema).as_bytes());
        Ok(format!("godwit_{pack}_{}", hex(&digest[..4])))
    }

    /// Creates or corrects the pack's role, schema and privileges, and sets the step's
    /// search path; in the step's transaction.
    pub(super) fn confine_to(&mut self, pack: &Pack) -> Result<(), DbError> {
        self.open_pending()?;
        let role = self.pack_role(&pack.name)?;
        let grant = &pack.grant;
        let schema = &grant.schema;
        let (r, s) = (quote_ident(&role), quote_ident(schema));
        let query_error = |e: tokio_postgres::Error| db_error(&e);
        let me = self
            .client
            .query_one(
                "SELECT rolsuper, current_setting('server_version_num')::int, \
                 (SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolcanlogin OR \
                  rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = $1), \
                 (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $2) \
                 FROM pg_roles WHERE rolname = current_user",
                &[&role, schema],
            )
            .map_err(query_error)?;
        let (superuser, version): (bool, i32) = (me.get(0), me.get(1));
        let (role_powers, schema_owner): (Option<bool>, Option<String>) = (me.get(2), me.get(3));
        let mut sql = String::new();
        match role_powers {
            Some(true) => {
                return Err(DbError::new(format!(
                    "role {role} exists with attributes a pack's role must not have (login, \
                     superuser, createrole, createdb, replication or bypassrls); godwit runs \
                     pack `{}` only under a role without them",
                    pack.name
                )));
            }
            Some(false) => {}
            None => {
                sql.push_str(&format!(
                    "CREATE ROLE {r} NOLOGIN NOINHERIT; COMMENT ON ROLE {r} IS {};",
                    literal(&format!("godwit pack {}: the privileges of its grant", pack.name))
                ));
                if !superuser {
                    // Giving the role the pack's schema and functions needs membership with
                    // SET; inheriting lets the project's migrations use the pack's tables
                    // (and grant them on), as the pack's owner can.
                    let option =
                        if version >= 160000 { " WITH INHERIT TRUE, SET TRUE" } else { "" };
                    sql.push_str(&format!("GRANT {r} TO CURRENT_USER{option};"));
                }
            }
        }
        match (grant.access, schema_owner.as_deref()) {
            (Access::Ddl, None) => sql.push_str(&format!("CREATE SCHEMA {s} AUTHORIZATION {r};")),
            (Access::Ddl, Some(owner)) if owner != role && owner != r => {
                return Err(DbError::new(format!(
                    "schema {schema} exists and belongs to {owner}; pack `{}` must own its schema \
                     (its role is {role}): give the pack a schema of its own with grants.schema, \
                     or hand this one over with ALTER SCHEMA {s} OWNER TO {r}",
                    pack.name
                )));
            }
            (Access::Ddl, Some(_)) => {}
            (access, owner) => {
                if owner.is_none() {
                    sql.push_str(&format!("CREATE SCHEMA {s};"));
                } else if owner == Some(role.as_str()) || owner == Some(r.as_str()) {
                    // The pack had DDL on it before; it no longer owns anything.
                    sql.push_str(&format!("REASSIGN OWNED BY {r} TO CURRENT_USER;"));
                }
                let (tables, sequences) = match access {
                    Access::Dml => ("SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT, UPDATE"),
                    _ => ("SELECT", "SELECT"),
                };
                sql.push_str(&format!(
                    "GRANT USAGE ON SCHEMA {s} TO {r};
                     REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r};
                     GRANT {tables} ON ALL TABLES IN SCHEMA {s} TO {r};
                     GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {s} TO {r};"
                ));
            }
        }
        // Outside its schema the role has exactly the reads the grant names: earlier grants
        // that the manifest no longer lists are revoked.
        sql.push_str(&format!(
            "DO $godwit$ DECLARE t regclass; BEGIN
               FOR t IN SELECT c.oid::regclass FROM pg_class c, aclexplode(c.relacl) a
                        WHERE a.grantee = {role}::regrole AND c.relnamespace <> {schema}::regnamespace
               LOOP EXECUTE format('REVOKE ALL ON %s FROM %I', t, {role}); END LOOP;
             END $godwit$;",
            role = literal(&role),
            schema = literal(schema),
        ));
        for table in &grant.read {
            let table_schema = table.schema.clone().unwrap_or_else(|| self.schema.clone());
            let name = format!(
                "{}.{}",
                quote_ident(&table_schema.to_lowercase()),
                quote_ident(&table.name.to_lowercase())
            );
            sql.push_str(&format!(
                "DO $godwit$ BEGIN IF to_regclass({}) IS NOT NULL THEN
                   GRANT USAGE ON SCHEMA {} TO {r}; GRANT SELECT ON {name} TO {r};
                 END IF; END $godwit$;",
                literal(&name),
                quote_ident(&table_schema.to_lowercase()),
            ));
        }
        let search_path = format!("{s}, {}", quote_ident(&self.schema));
        sql.push_str(&format!("SET LOCAL search_path TO {search_path};"));
        self.client.batch_execute(&sql).map_err(query_error)?;
        self.confinement = Some(Confinement {
            pack: pack.name.clone(),
            role,
            search_path,
            grant: postgres_grant(&pack.grant, &self.schema),
        });
        Ok(())
    }

    /// After a pack's step, whatever its outcome: ends the confinement, refuses what the pack
    /// leaves that would act beyond its grant, and resets the session.
    pub(super) fn lift(&mut self) -> Result<(), DbError> {
        let Some(confinement) = self.confinement.take() else {
            return Ok(());
        };
        let query_error = |e: tokio_postgres::Error| db_error(&e);
        let invokers = self
            .client
            .query(
                "SELECT p.pronamespace::regnamespace::text || '.' || p.proname || '(' || \
                 pg_get_function_identity_arguments(p.oid) || ')' FROM pg_proc p \
                 WHERE p.proowner = $1::text::regrole AND NOT p.prosecdef \
                 AND p.pronamespace <> pg_my_temp_schema() ORDER BY 1",
                &[&confinement.role],
            )
            .map_err(query_error)?;
        if !invokers.is_empty() {
            let names: Vec<String> = invokers.iter().map(|row| row.get(0)).collect();
            return Err(DbError {
                message: format!(
                    "pack `{}` left functions that would run with the privileges of whoever \
                     calls them, beyond its grant: {}; declare them SECURITY DEFINER so they \
                     run as the pack",
                    confinement.pack,
                    names.join(", ")
                ),
                code: Some("42501".to_owned()),
                position: None,
            });
        }
        if self.locked {
            let (high, low) =
                (i64::from((self.lock_key >> 32) as u32), i64::from(self.lock_key as u32));
            let held: bool = self
                .client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND pid = pg_backend_pid() AND granted AND classid::bigint = $1 \
                     AND objid::bigint = $2 AND objsubid = 1)",
                    &[&high, &low],
                )
                .map_err(query_error)?
                .get(0);
            if !held {
                return Err(DbError::new(format!(
                    "pack `{}` released godwit's migration lock",
                    confinement.pack
                )));
            }
        }
        // Settings the pack changed for the session, and temporary tables that could stand
        // in for the project's in later steps, end with its step.
        let in_transaction = self.in_step;
        let mut reset = "RESET ALL; DISCARD TEMP;".to_owned();
        if in_transaction {
            reset.push_str(" SET LOCAL synchronous_commit TO off;");
        }
        self.client.batch_execute(&reset).map_err(query_error)
    }

    /// Wraps a failed statement's error with the pack and its grant when it was a denial.
    fn denied(&self, mut error: DbError) -> DbError {
        let Some(c) = &self.confinement else {
            return error;
        };
        if error.code.as_deref() == Some("42501") {
            let (first, rest) = error.message.split_once('\n').unwrap_or((&error.message, ""));
            let mut message =
                format!("pack `{}` was denied: {first} (its grant is {})", c.pack, c.grant);
            if !rest.is_empty() {
                message.push('\n');
                message.push_str(rest);
            }
            error.message = message;
        }
        error
    }

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
