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

use super::types::{db_error, hex, literal};
use super::{PostgresDriver, quote_ident};
use crate::driver::DbError;
use crate::driver::{Access, Confine, Grant};
use sha2::{Digest, Sha256};

/// The pack whose step is running, and how its statements are run.
#[derive(Debug)]
pub(super) struct Confinement {
    pub(super) pack: String,
    pub(super) role: String,
    /// The pack's schema, then the project's: unqualified names resolve there.
    pub(super) search_path: String,
    pub(super) grant: String,
}

/// How PostgreSQL applies a grant, for messages: `ddl on schema billing; reads public.users`.
fn postgres_grant(grant: &Grant, project_schema: &str) -> String {
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
    pub(super) fn confine_to(&mut self, to: Confine<'_>) -> Result<(), DbError> {
        self.open_pending()?;
        let role = self.pack_role(to.pack)?;
        let grant = to.grant;
        let query_error = |e: tokio_postgres::Error| db_error(&e);
        let me = self
            .client
            .query_one(
                "SELECT rolsuper, current_setting('server_version_num')::int, \
                 (SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolcanlogin OR \
                  rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = $1), \
                 (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $2) \
                 FROM pg_roles WHERE rolname = current_user",
                &[&role, &grant.schema],
            )
            .map_err(query_error)?;
        let found = Found {
            superuser: me.get(0),
            version: me.get(1),
            role_powers: me.get(2),
            schema_owner: me.get(3),
        };
        let mut sql = role_sql(to.pack, &role, &found)?;
        sql.push_str(&schema_sql(to.pack, &role, grant, found.schema_owner.as_deref())?);
        sql.push_str(&reads_sql(&role, grant, &self.schema));
        let search_path = format!("{}, {}", quote_ident(&grant.schema), quote_ident(&self.schema));
        sql.push_str(&format!("SET LOCAL search_path TO {search_path};"));
        self.client.batch_execute(&sql).map_err(query_error)?;
        self.confinement = Some(Confinement {
            pack: to.pack.to_owned(),
            role,
            search_path,
            grant: postgres_grant(to.grant, &self.schema),
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
        self.async_commit = false;
        self.client.batch_execute(&reset).map_err(query_error)
    }

    /// Wraps a failed statement's error with the pack and its grant when it was a denial.
    pub(super) fn denied(&self, mut error: DbError) -> DbError {
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
}

/// What confining a step finds of the server, its own role, the pack's role and schema.
struct Found {
    superuser: bool,
    version: i32,
    /// Whether the pack's role has powers it must not have; `None` when it does not exist.
    role_powers: Option<bool>,
    schema_owner: Option<String>,
}

/// The pack's role, created without powers where it is missing; one with powers is refused.
fn role_sql(pack: &str, role: &str, found: &Found) -> Result<String, DbError> {
    let r = quote_ident(role);
    match found.role_powers {
        Some(true) => Err(DbError::new(format!(
            "role {role} exists with attributes a pack's role must not have (login, \
             superuser, createrole, createdb, replication or bypassrls); godwit runs \
             pack `{pack}` only under a role without them"
        ))),
        Some(false) => Ok(String::new()),
        None => {
            let mut sql = format!(
                "CREATE ROLE {r} NOLOGIN NOINHERIT; COMMENT ON ROLE {r} IS {};",
                literal(&format!("godwit pack {pack}: the privileges of its grant"))
            );
            if !found.superuser {
                // Giving the role the pack's schema and functions needs membership with SET;
                // inheriting lets the project's migrations use the pack's tables (and grant
                // them on), as the pack's owner can.
                let option =
                    if found.version >= 160000 { " WITH INHERIT TRUE, SET TRUE" } else { "" };
                sql.push_str(&format!("GRANT {r} TO CURRENT_USER{option};"));
            }
            Ok(sql)
        }
    }
}

/// The pack's schema: owned by its role for DDL (a schema someone else owns is refused),
/// else created if missing and its tables granted as the access says.
fn schema_sql(
    pack: &str,
    role: &str,
    grant: &Grant,
    owner: Option<&str>,
) -> Result<String, DbError> {
    let schema = &grant.schema;
    let (r, s) = (quote_ident(role), quote_ident(schema));
    let mut sql = String::new();
    match (grant.access, owner) {
        (Access::Ddl, None) => sql.push_str(&format!("CREATE SCHEMA {s} AUTHORIZATION {r};")),
        (Access::Ddl, Some(owner)) if owner != role && owner != r => {
            return Err(DbError::new(format!(
                "schema {schema} exists and belongs to {owner}; pack `{pack}` must own its schema \
                 (its role is {role}): give the pack a schema of its own with grants.schema, \
                 or hand this one over with ALTER SCHEMA {s} OWNER TO {r}"
            )));
        }
        (Access::Ddl, Some(_)) => {}
        (access, owner) => {
            if owner.is_none() {
                sql.push_str(&format!("CREATE SCHEMA {s};"));
            } else if owner == Some(role) || owner == Some(r.as_str()) {
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
    Ok(sql)
}

/// Outside its schema the role has exactly the reads the grant names: earlier grants that the
/// manifest no longer lists are revoked. A table named without a schema is the project's.
fn reads_sql(role: &str, grant: &Grant, project_schema: &str) -> String {
    let r = quote_ident(role);
    let mut sql = format!(
        "DO $godwit$ DECLARE t regclass; BEGIN
           FOR t IN SELECT c.oid::regclass FROM pg_class c, aclexplode(c.relacl) a
                    WHERE a.grantee = {role}::regrole AND c.relnamespace <> {schema}::regnamespace
           LOOP EXECUTE format('REVOKE ALL ON %s FROM %I', t, {role}); END LOOP;
         END $godwit$;",
        role = literal(role),
        schema = literal(&grant.schema),
    );
    for table in &grant.read {
        let table_schema = table.schema.as_deref().unwrap_or(project_schema).to_lowercase();
        let name =
            format!("{}.{}", quote_ident(&table_schema), quote_ident(&table.name.to_lowercase()));
        sql.push_str(&format!(
            "DO $godwit$ BEGIN IF to_regclass({}) IS NOT NULL THEN
               GRANT USAGE ON SCHEMA {} TO {r}; GRANT SELECT ON {name} TO {r};
             END IF; END $godwit$;",
            literal(&name),
            quote_ident(&table_schema),
        ));
    }
    sql
}
