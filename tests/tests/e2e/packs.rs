//! Packs: added, locked, applied in their own stream and reverted; a tampered pack refused;
//! and every way out of a pack's grant refused by the database, the step rolled back.

use godwit_tests::{Backend, Project};

/// A project with `users` (0001) and `orders` (0002), and the `billing` pack that runs after
/// 0001, owns `billing_*` (its schema on PostgreSQL) and may read `users`.
fn with_billing(p: &Project) {
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\nafter = 1\n");
    p.migration(
        "0001_users.sql",
        "create table users (id integer primary key, name text);\n\
         insert into users (id, name) values (1, 'ann');",
        Some("drop table users;"),
    );
    p.migration(
        "0002_orders.sql",
        "create table orders (id integer primary key);",
        Some("drop table orders;"),
    );
    p.write(
        "packs/billing/godwit-pack.toml",
        "name = \"billing\"\nversion = \"1.0.0\"\ndescription = \"Invoices\"\n\n\
         [grants]\naccess = \"ddl\"\nread = [\"users\"]\n",
    );
    p.write(
        "packs/billing/0001_invoices.sql",
        "-- godwit:up\n\
         create table billing_invoices (id integer primary key, user_id integer, total integer);\n\
         insert into billing_invoices (id, user_id, total) select id, id, 0 from users;\n\
         -- godwit:down\n\
         drop table billing_invoices;\n",
    );
}

/// The pack's tables, wherever the backend keeps them.
fn pack_tables(p: &Project) -> Vec<String> {
    let sql = match p.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'billing%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'billing' ORDER BY 1"
        }
    };
    p.db().rows(sql).into_iter().map(|row| row[0].clone()).collect()
}

fn pack_is_locked_applied_and_reverted(p: &Project) {
    with_billing(p);
    // Third-party code runs only once pinned.
    p.godwit(&["up"])
        .code(2)
        .stderr_has("pack `billing` (packs/billing) is not locked: a project that uses packs needs godwit.lock")
        .stderr_has("review the pack, then run `godwit lock`");
    assert!(!p.db().has_history_table(), "nothing ran");
    p.godwit(&["lock"]).ok().stderr_has("Locked pack billing 1.0.0 sha256:");
    assert!(
        std::fs::read_to_string(p.path("godwit.lock"))
            .unwrap()
            .contains("[[pack]]\nname = \"billing\"")
    );
    let run = p.godwit(&["up"]);
    run.ok();
    let order: Vec<&str> = run.stderr.lines().filter(|l| l.contains("Applying")).collect();
    assert_eq!(order.len(), 3, "{}", run.stderr);
    assert!(order[0].contains("Applying 0001_users"), "{order:?}");
    assert!(order[1].contains("Applying billing:0001_invoices"), "{order:?}");
    assert!(order[2].contains("Applying 0002_orders"), "{order:?}");
    assert_eq!(pack_tables(p), ["billing_invoices"]);
    let streams = p
        .db()
        .rows("SELECT stream, CAST(version AS TEXT) FROM godwit_history ORDER BY stream, version");
    assert_eq!(streams, [["", "1"], ["", "2"], ["billing", "1"]]);
    p.godwit(&["status"])
        .ok()
        .stdout_has("applied   billing:0001_invoices")
        .stdout_has("billing 1.0.0  packs/billing  sha256:")
        .stdout_has("runs after 1")
        .stdout_has(
            "grant: ddl on schema billing (PostgreSQL) or tables billing_* (SQLite); reads users",
        );
    let json = p.godwit(&["status", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["packs"][0]["name"], "billing");
    assert_eq!(value["packs"][0]["grant"]["access"], "ddl");
    assert_eq!(value["migrations"][2]["pack"], "billing");
    p.godwit(&["inspect", "packs/billing"])
        .ok()
        .stdout_has("pack         billing")
        .stdout_has("migration    billing:0001_invoices (sql, ");
    // `down` is the project's unless a pack is named.
    p.godwit(&["down"]).ok().stderr_has("Reverting 0002_orders");
    p.godwit(&["down", "--pack", "billing", "--to", "0"])
        .ok()
        .stderr_has("Reverting billing:0001_invoices");
    assert!(pack_tables(p).is_empty());
    p.godwit(&["down", "--pack", "nobody"]).code(2).stderr_has("no pack named `nobody`");
    p.godwit(&["up"]).ok().stderr_has("Applying billing:0001_invoices");
    assert_eq!(pack_tables(p), ["billing_invoices"]);
}

fn tampered_locked_pack_is_refused(p: &Project) {
    with_billing(p);
    p.godwit(&["lock"]).ok();
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.write(
        "packs/billing/0002_more.sql",
        "-- godwit:up\ncreate table billing_more (x integer);\n",
    );
    p.godwit(&["up"])
        .code(2)
        .stderr_has(
            "pack `billing` (packs/billing) does not match godwit.lock: locked 1.0.0 sha256 ",
        )
        .stderr_has(", found 1.0.0 sha256 ")
        .stderr_has("nothing ran");
    std::fs::remove_file(p.path("packs/billing/0002_more.sql")).unwrap();
    // A wider grant is a change too.
    p.write(
        "packs/billing/godwit-pack.toml",
        "name = \"billing\"\nversion = \"1.0.1\"\n[grants]\naccess = \"ddl\"\nread = [\"users\", \"orders\"]\n",
    );
    p.godwit(&["up"]).code(2).stderr_has(", found 1.0.1 sha256 ");
    p.godwit(&["validate"]).code(2).stderr_has("does not match");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["lock"]).ok().stderr_has("Changed pack billing 1.0.0 sha256:");
    p.godwit(&["up"]).ok().stderr_has("up to date");
}

/// Each statement, as a pack migration, must be refused naming the pack, the migration and
/// what was denied, and leave the database and the history as they were.
fn refused(p: &Project, sql: &str, denied: &str) {
    let before = p.db().fingerprint();
    p.write("packs/billing/0002_escape.sql", &format!("-- godwit:up\n{sql}\n"));
    p.godwit(&["lock"]).ok();
    // Unlinted: the grant is what is tested (the linter finds an index built in place).
    p.godwit(&["up", "--no-lint"])
        .code(1)
        .stderr_has("billing:0002_escape")
        .stderr_has("packs/billing/0002_escape.sql")
        .stderr_has("was rolled back and the database is as it was before it")
        .stderr_has(denied);
    assert_eq!(p.db().fingerprint(), before, "{sql}");
}

fn escapes_from_a_grant_are_refused(p: &Project) {
    with_billing(p);
    p.godwit(&["lock"]).ok();
    p.godwit(&["up"]).ok();
    let sqlite = p.backend == Backend::Sqlite;
    let cases: Vec<(&str, &str)> = match sqlite {
        true => vec![
            (
                "insert into users (id, name) values (2, 'eve');",
                "pack `billing` was denied INSERT INTO users",
            ),
            (
                "create table billing_copy as select * from orders;",
                "pack `billing` was denied reading orders",
            ),
            ("drop table users;", "pack `billing` was denied DROP TABLE users"),
            (
                "create table elsewhere (x integer);",
                "pack `billing` was denied CREATE TABLE elsewhere",
            ),
            ("delete from godwit_history;", "pack `billing` was denied DELETE FROM godwit_history"),
            (
                "create table billing_h as select * from godwit_history;",
                "pack `billing` was denied reading godwit_history",
            ),
            (
                "attach database 'other.db' as other;",
                "pack `billing` was denied ATTACH of other.db",
            ),
            ("pragma writable_schema = on;", "pack `billing` was denied PRAGMA writable_schema"),
            ("commit;", "pack `billing` was denied transaction control"),
            (
                "create trigger billing_t after insert on billing_invoices begin delete from users; end;\n\
                 insert into billing_invoices (id, user_id, total) values (9, 1, 0);",
                "pack `billing` was denied DELETE FROM users (through billing_t)",
            ),
            // A trigger that would act outside the grant later, when the project writes the
            // pack's table, is refused before the step commits.
            (
                "create temp trigger billing_t after update of total on billing_invoices begin delete from users; end;",
                "pack `billing` was denied DELETE FROM users (through billing_t)",
            ),
            (
                "create trigger billing_t after delete on billing_invoices begin insert into orders (id) values (old.id); end;",
                "pack `billing` was denied INSERT INTO orders (through billing_t)",
            ),
            (
                "create index billing_i on users (name);",
                "pack `billing` was denied CREATE INDEX billing_i on users",
            ),
        ],
        false => vec![
            (
                "insert into users (id, name) values (2, 'eve');",
                "pack `billing` was denied: permission denied for table users",
            ),
            (
                "create table billing_copy as select * from orders;",
                "pack `billing` was denied: permission denied for table orders",
            ),
            ("drop table users;", "pack `billing` was denied: must be owner of table users"),
            (
                "alter table users add column x integer;",
                "pack `billing` was denied: must be owner of table users",
            ),
            (
                "create table public.elsewhere (x integer);",
                "pack `billing` was denied: permission denied for schema public",
            ),
            (
                "delete from godwit_history;",
                "pack `billing` was denied: permission denied for table godwit_history",
            ),
            ("create role evil;", "pack `billing` was denied: permission denied to create role"),
            ("reset role;", "cannot set parameter \"role\" within security-definer function"),
            (
                "do $$ begin reset role; drop table public.users; end $$;",
                "cannot set parameter \"role\" within security-definer function",
            ),
            (
                "select set_config('role', current_user, false);",
                "cannot set parameter \"role\" within security-definer function",
            ),
            (
                "set session authorization default;",
                "cannot set parameter \"session_authorization\" within security-definer function",
            ),
            (
                "copy users to '/tmp/godwit-users.csv';",
                "to COPY to a file (its grant is ddl on schema billing, and reading public.users)",
            ),
            (
                "create function billing_f() returns trigger language plpgsql as $$ begin delete from public.users; return null; end $$;\n\
                 create trigger billing_t after insert on billing_invoices for each row execute function billing_f();",
                "pack `billing` left functions that would run with the privileges of whoever calls them, beyond its grant: billing.billing_f()",
            ),
            ("select pg_advisory_unlock_all();", "pack `billing` released godwit's migration lock"),
        ],
    };
    for (sql, denied) in cases {
        refused(p, sql, denied);
    }
    if !sqlite {
        // A temporary table the pack makes ends with its step, so it cannot stand in for the
        // project's `users` in later steps of the run.
        p.write(
            "packs/billing/0002_escape.sql",
            "-- godwit:up\ncreate temp table users (id integer, name text);\n",
        );
        p.migration("0003_more.sql", "insert into users (id, name) values (3, 'cy');", None);
        p.godwit(&["lock"]).ok();
        p.godwit(&["up"]).ok();
        assert_eq!(p.db().scalar("SELECT count(*) FROM public.users"), "2");
        p.godwit(&["down", "--pack", "billing"])
            .code(1)
            .stderr_has("cannot revert billing:0002_escape");
        std::fs::remove_file(p.path("migrations/0003_more.sql")).unwrap();
        p.db().execute(
            "DELETE FROM godwit_history WHERE (stream = '' AND version = 3) OR (stream = 'billing' AND version = 2)",
        );
        p.db().execute("DELETE FROM users WHERE id = 3");
    }
    // What the grant allows still works, and the project's tables are untouched.
    p.write(
        "packs/billing/0002_escape.sql",
        "-- godwit:allow index-not-concurrent billing_invoices holds a row per user\n\
         -- godwit:up\ncreate index billing_by_user on billing_invoices (user_id);\n",
    );
    p.godwit(&["lock"]).ok();
    p.godwit(&["up"]).ok().stderr_has("Applying billing:0002_escape");
    assert_eq!(p.db().scalar("SELECT count(*) FROM users"), "1");
}

/// Grants bind components as much as SQL files: the hostile example in `escape` mode reads
/// its pack's own table, creates one, then drops the project's `users`.
fn grants_bind_components_too(p: &Project) {
    with_billing(p);
    p.write("godwit.toml", "[[pack]]\npath = \"packs/hostile\"\nafter = 1\n");
    p.write("packs/hostile/godwit-pack.toml", "name = \"hostile\"\nversion = \"0.1.0\"\n");
    p.write(
        "packs/hostile/0001_mode.sql",
        "-- godwit:up\ncreate table hostile_mode (mode text);\ninsert into hostile_mode values ('escape');\n",
    );
    std::fs::copy(godwit_tests::guest("hostile"), p.path("packs/hostile/0002_hostile.wasm"))
        .unwrap();
    p.godwit(&["lock"]).ok();
    let denied = match p.backend {
        Backend::Sqlite => "pack `hostile` was denied DROP TABLE users",
        Backend::Postgres => "must be owner of table users",
    };
    p.godwit(&["up"]).code(1).stderr_has("hostile:0002_hostile").stderr_has(denied);
    assert_eq!(p.db().scalar("SELECT count(*) FROM users"), "1");
    let history = p
        .db()
        .rows("SELECT stream, CAST(version AS TEXT) FROM godwit_history ORDER BY stream, version");
    assert_eq!(history, [["", "1"], ["hostile", "1"]], "the component's step was rolled back");
}

/// A batched component in a pack: its queries with parameters, typed results and batches of
/// updates all run under the pack's grant (on PostgreSQL, through the one-call functions).
fn batched_component_in_a_pack(p: &Project) {
    p.write("godwit.toml", "[[pack]]\npath = \"packs/people\"\n");
    p.write(
        "packs/people/godwit-pack.toml",
        "name = \"people\"\nversion = \"2.0.0\"\n[grants]\nprefix = \"people\"\n",
    );
    p.write(
        "packs/people/0001_people.sql",
        "-- godwit:up\n\
         create table people (id bigint primary key, full_name text not null, passes integer not null default 0);\n\
         insert into people (id, full_name) \
         with recursive c(i) as (select 1 union all select i + 1 from c where i < 50) \
         select i, 'First' || i || ' Last' || i from c;\n\
         -- godwit:down\n\
         drop table people;\n",
    );
    std::fs::copy(godwit_tests::guest("rust-backfill"), p.path("packs/people/0002_split.wasm"))
        .unwrap();
    p.godwit(&["lock"]).ok();
    p.godwit(&["up", "--batch-size", "7"]).ok().stderr_has("Applying people:0002_split");
    let table = match p.backend {
        Backend::Sqlite => "people",
        Backend::Postgres => "people.people",
    };
    let wrong = p.db().scalar(&format!(
        "SELECT count(*) FROM {table} WHERE passes <> 1 OR first_name <> 'First' || id OR last_name <> 'Last' || id"
    ));
    assert_eq!(wrong, "0");
    p.godwit(&["down", "--pack", "people"]).ok().stderr_has("Reverting people:0002_split");
    assert!(!p.db().rows(&format!("SELECT * FROM {table} LIMIT 1")).is_empty());
}

/// A baseline is of the project's own migrations; the packs then run as usual.
fn baseline_marks_only_the_projects_migrations(p: &Project) {
    with_billing(p);
    p.godwit(&["lock"]).ok();
    p.db().execute(
        "create table users (id integer primary key, name text); insert into users (id, name) values (1, 'ann');\n\
         create table orders (id integer primary key);",
    );
    p.godwit(&["baseline", "--version", "2"]).ok();
    let streams = p
        .db()
        .rows("SELECT stream, CAST(version AS TEXT) FROM godwit_history ORDER BY stream, version");
    assert_eq!(streams, [["", "1"], ["", "2"]]);
    p.godwit(&["status"]).ok().stdout_has("pending   billing:0001_invoices");
    p.godwit(&["up"]).ok().stderr_has("Applying billing:0001_invoices");
    assert_eq!(pack_tables(p), ["billing_invoices"]);
}

godwit_tests::on_both!(
    baseline_marks_only_the_projects_migrations,
    batched_component_in_a_pack,
    pack_is_locked_applied_and_reverted,
    tampered_locked_pack_is_refused,
    escapes_from_a_grant_are_refused,
    grants_bind_components_too,
);

/// What the README says the godwit connection needs on PostgreSQL: not a superuser, only
/// CREATEROLE and ownership of the database (to create the packs' schemas). The project's
/// migrations can then use the pack's tables and grant them on.
#[test]
fn postgres_packs_run_for_a_createrole_user() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    let database = p.url.rsplit('/').next().unwrap().to_owned();
    let user = format!("{database}_owner");
    p.db().execute(&format!(
        "CREATE ROLE {user} LOGIN CREATEROLE; ALTER DATABASE {database} OWNER TO {user};"
    ));
    let url = p.url.replacen("postgres@", &format!("{user}@"), 1);
    with_billing(&p);
    p.godwit(&["lock"]).ok();
    p.godwit(&["--database", &url, "up"]).ok().stderr_has("Applying billing:0001_invoices");
    assert_eq!(pack_tables(&p), ["billing_invoices"]);
    let role =
        p.db().scalar("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'billing'");
    assert!(role.starts_with("godwit_billing_"), "{role}");
    let attributes = p.db().scalar(&format!(
        "SELECT concat_ws(',', rolsuper, rolcanlogin, rolcreaterole, rolinherit) FROM pg_roles WHERE rolname = '{role}'"
    ));
    assert_eq!(attributes, "f,f,f,f");
    p.migration(
        "0003_report.sql",
        "create view invoice_report as select u.name, i.total from users u join billing.billing_invoices i on i.user_id = u.id;\n\
         grant select on billing.billing_invoices to public;",
        Some("drop view invoice_report;"),
    );
    p.godwit(&["--database", &url, "up"]).ok().stderr_has("Applying 0003_report");
    assert_eq!(p.db().scalar("SELECT count(*) FROM invoice_report"), "1");
    p.godwit(&["--database", &url, "down"]).ok();
    std::fs::remove_file(p.path("migrations/0003_report.sql")).unwrap();
    refused_as(&p, &url, "drop table users;", "must be owner of table users");
    refused_as(
        &p,
        &url,
        "reset role;",
        "cannot set parameter \"role\" within security-definer function",
    );
    p.godwit(&["--database", &url, "down", "--pack", "billing"]).ok();
    assert!(pack_tables(&p).is_empty());
}

fn refused_as(p: &Project, url: &str, sql: &str, denied: &str) {
    let before = p.db().fingerprint();
    p.write("packs/billing/0002_escape.sql", &format!("-- godwit:up\n{sql}\n"));
    p.godwit(&["lock"]).ok();
    p.godwit(&["--database", url, "up"]).code(1).stderr_has(denied);
    assert_eq!(p.db().fingerprint(), before, "{sql}");
    std::fs::remove_file(p.path("packs/billing/0002_escape.sql")).unwrap();
    p.godwit(&["lock"]).ok();
}

/// Mistakes in the configuration of packs are named before anything runs (exit 2).
#[test]
fn pack_configuration_mistakes_are_named() {
    let p = Project::new(Backend::Sqlite).unwrap();
    with_billing(&p);
    p.write("godwit.toml", "[[pack]]\npath = \"packs/nope\"\n");
    p.godwit(&["status"])
        .code(2)
        .stderr_has("invalid pack packs/nope/godwit-pack.toml: packs/nope has no godwit-pack.toml");
    p.write(
        "godwit.toml",
        "[[pack]]\npath = \"packs/billing\"\n[[pack]]\npath = \"packs/billing2\"\n",
    );
    p.write("packs/billing2/godwit-pack.toml", "name = \"billing\"\nversion = \"9\"\n");
    p.godwit(&["status"])
        .code(2)
        .stderr_has("the pack name `billing` is also the name of packs/billing");
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\nafter = 7\n");
    p.godwit(&["lock"]).ok();
    p.godwit(&["up"]).code(2).stderr_has(
        "pack `billing` is set to run after the project's migration 7, which does not exist",
    );
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\nafter = \"x\"\n");
    p.godwit(&["status"])
        .code(2)
        .stderr_has("a version is a number, or numbers joined by dots (1.2.3); `x` is not");
    p.write("packs/billing/0001_invoices.sql", "-- godwit:up\nselect 1;\n");
    p.write("packs/billing/notes.md", "not a migration\n");
    p.write("packs/billing/0002-bad.sql", "select 1;\n");
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\n");
    p.godwit(&["status"]).code(2).stderr_has("packs/billing/0002-bad.sql");
    assert!(!p.db().has_history_table());
}
