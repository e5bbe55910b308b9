use super::*;
use crate::migration::Statement;

fn v(n: i64) -> Key {
    Key::Versioned(Version::new(n).unwrap())
}

fn part(key: Key, name: &str, role: Role) -> Named {
    Named::Part { key, name: name.into(), role }
}

fn sqls(statements: &[Statement]) -> Vec<&str> {
    statements.iter().map(|s| s.sql.as_str()).collect()
}

fn texts(up: &str) -> Texts {
    Texts { up: up.into(), meta: None }
}

#[test]
fn format_names_round_trip() {
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>().unwrap(), format);
    }
    assert_eq!("migrate".parse::<Format>().unwrap(), Format::GolangMigrate);
    assert!("liquibase".parse::<Format>().is_err());
}

#[test]
fn sqlx_names_and_no_transaction() {
    let c = |name| classify(Format::Sqlx, name, None);
    assert_eq!(
        c("20240101120000_create users.sql"),
        part(v(20240101120000), "create users", Role::Whole)
    );
    assert_eq!(c("1_x.up.sql"), part(v(1), "x", Role::Up));
    assert_eq!(c("1_x.down.sql"), part(v(1), "x", Role::Down));
    assert_eq!(c("README.md"), Named::Ignored);
    assert_eq!(c("schema_dump.txt"), Named::Ignored);
    assert!(matches!(c("schema_dump.sql"), Named::Invalid(_)));
    assert_eq!(c("2_x.wasm"), Named::Own);
    let script =
        parse(Format::Sqlx, &texts("-- no-transaction\ncreate index concurrently i on t (x);"))
            .unwrap();
    assert!(!script.transaction);
    let script =
        parse(Format::Sqlx, &texts("create table t (x int);\ninsert into t values (1);")).unwrap();
    assert!(script.transaction);
    assert_eq!(sqls(&script.up), ["create table t (x int)", "insert into t values (1)"]);
    // A down file decides its own transaction, as sqlx reads it.
    let down =
        sqlx::down(Path::new("1_x.down.sql"), "-- no-transaction\ndrop index concurrently i;")
            .unwrap();
    assert!(!down.transaction);
    assert_eq!(sqls(&down.statements), ["drop index concurrently i"]);
}

#[test]
fn down_files_are_read_when_a_revert_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("1_x.down.sql");
    let mut script = parse(Format::Sqlx, &texts("create table t (x int);")).unwrap();
    script.down_file = Some(crate::migration::DownFile::new(file.clone(), sqlx::down));
    // Not there: the migration cannot be reverted, and reading says which file is missing.
    assert!(!script.has_down());
    let error = script.down_statements().unwrap_err();
    assert!(error.missing);
    assert_eq!(error.path, file);
    let mut script = parse(Format::Sqlx, &texts("create table t (x int);")).unwrap();
    std::fs::write(&file, "-- no-transaction\ndrop table t;\n").unwrap();
    script.down_file = Some(crate::migration::DownFile::new(file, sqlx::down));
    assert!(script.has_down());
    assert!(script.in_transaction(false));
    assert!(!script.in_transaction(true));
    assert_eq!(script.down_statements().unwrap().map(sqls), Some(vec!["drop table t"]));
}

#[test]
fn golang_migrate_names_and_transactions() {
    let c = |name| classify(Format::GolangMigrate, name, None);
    assert_eq!(c("000001_init.up.sql"), part(v(1), "init", Role::Up));
    assert_eq!(c("000001_init.down.sql"), part(v(1), "init", Role::Down));
    assert_eq!(c("2_a.b.up.cql"), part(v(2), "a.b", Role::Up));
    assert_eq!(c("1_init.sql"), Named::Ignored);
    assert_eq!(c("init.up.sql"), Named::Ignored);
    let plain =
        parse(Format::GolangMigrate, &texts("create table t (x int); create index i on t (x);"));
    assert!(plain.unwrap().transaction);
    let own =
        parse(Format::GolangMigrate, &texts("BEGIN;\ncreate table t (x int);\nCOMMIT;")).unwrap();
    assert!(!own.transaction);
    assert_eq!(sqls(&own.up), ["BEGIN", "create table t (x int)", "COMMIT"]);
    let concurrent = parse(Format::GolangMigrate, &texts("CREATE INDEX CONCURRENTLY i ON t (x);"));
    assert!(!concurrent.unwrap().transaction);
}

#[test]
fn goose_sections_blocks_and_annotations() {
    let c = |name| classify(Format::Goose, name, None);
    assert_eq!(c("00002_add_users.sql"), part(v(2), "add_users", Role::Whole));
    assert_eq!(c("00003_seed.go"), Named::Invalid(NameProblem::GoMigration));
    assert_eq!(c("main.go"), Named::Ignored);
    assert_eq!(c("00003_seed_test.go"), Named::Ignored);
    assert_eq!(c("0_x.sql"), Named::Invalid(NameProblem::Zero("goose")));
    let text = "-- comment first\n-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nCREATE TABLE t (x int);\n\n-- +goose down\nDROP TABLE t;\nDROP FUNCTION f;\n";
    let script = goose::parse(text).unwrap();
    assert!(script.transaction);
    assert_eq!(script.up.len(), 2);
    assert!(
        script.up[0].sql.starts_with("CREATE FUNCTION") && script.up[0].sql.ends_with("plpgsql")
    );
    assert_eq!(script.up[1].line, 10);
    assert_eq!(sqls(script.down.as_deref().unwrap()), ["DROP TABLE t", "DROP FUNCTION f"]);
    let no_tx = goose::parse(
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (x);\n",
    )
    .unwrap();
    assert!(!no_tx.transaction && no_tx.down.is_none());
    assert!(matches!(
        goose::parse("CREATE TABLE t (x int);"),
        Err(FormatError::BeforeUp { line: 1, .. })
    ));
    assert!(matches!(goose::parse("-- nothing\n"), Err(FormatError::NoUp { .. })));
    assert!(matches!(
        goose::parse("-- +goose Up\n-- +goose ENVSUB ON\nselect 1;"),
        Err(FormatError::Unsupported { line: 2, .. })
    ));
    assert!(matches!(
        goose::parse("-- +goose Up\n-- +goose Upp\n"),
        Err(FormatError::UnknownAnnotation { line: 2, .. })
    ));
    // Down first, then up: each section runs to the other's marker.
    let swapped =
        goose::parse("-- +goose Down\nDROP TABLE t;\n-- +goose Up\nCREATE TABLE t (x int);\n")
            .unwrap();
    assert_eq!(sqls(&swapped.up), ["CREATE TABLE t (x int)"]);
    assert_eq!(sqls(swapped.down.as_deref().unwrap()), ["DROP TABLE t"]);
}

#[test]
fn dbmate_sections_and_options() {
    let c = |name| classify(Format::Dbmate, name, None);
    assert_eq!(
        c("20240101000000_create_users.sql"),
        part(v(20240101000000), "create_users", Role::Whole)
    );
    assert_eq!(c("notes.sql"), Named::Ignored);
    let script =
        dbmate::parse("-- migrate:up\ncreate table t (x int);\n\n-- migrate:down\ndrop table t;\n")
            .unwrap();
    assert!(script.transaction);
    assert_eq!(sqls(&script.up), ["create table t (x int)"]);
    assert_eq!(script.down.as_deref().map(sqls), Some(vec!["drop table t"]));
    let no_tx = dbmate::parse(
        "-- migrate:up transaction:false\ncreate index concurrently i on t (x);\n-- migrate:down\n",
    )
    .unwrap();
    assert!(!no_tx.transaction);
    assert!(matches!(
        dbmate::parse("select 1;\n-- migrate:up\n"),
        Err(FormatError::BeforeUp { line: 1, .. })
    ));
    assert!(matches!(
        dbmate::parse("-- migrate:down\nselect 1;\n-- migrate:up\n"),
        Err(FormatError::BeforeUp { line: 1, .. })
    ));
    assert!(matches!(dbmate::parse("create table t (x int);"), Err(FormatError::BeforeUp { .. })));
    assert!(matches!(dbmate::parse("-- migrate:upgrade\n"), Err(FormatError::NoUp { .. })));
}

#[test]
fn diesel_directories_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let migration = dir.path().join("2024-01-15-093000_create_users");
    std::fs::create_dir(&migration).unwrap();
    std::fs::write(migration.join("up.sql"), "create table users (id int);").unwrap();
    assert_eq!(
        classify(Format::Diesel, "2024-01-15-093000_create_users", Some(&migration)),
        part(v(20240115093000), "create_users", Role::Whole)
    );
    assert_eq!(classify(Format::Diesel, ".keep", None), Named::Ignored);
    let meta = Texts {
        up: "create index concurrently i on t (x);".into(),
        meta: Some("run_in_transaction = false\n".into()),
    };
    assert!(!parse(Format::Diesel, &meta).unwrap().transaction);
    let bad = Texts { meta: Some("run_in_transaction = nope".into()), ..texts("select 1;") };
    assert!(matches!(parse(Format::Diesel, &bad), Err(FormatError::BadSideFile { .. })));
    assert!(matches!(parse(Format::Diesel, &texts("  \n")), Err(FormatError::EmptyFile { .. })));
}

#[test]
fn flyway_and_refinery_names() {
    let f = |name| classify(Format::Flyway, name, None);
    assert_eq!(f("V1__init.sql"), part(v(1), "init", Role::Whole));
    assert_eq!(f("V003__add_email.sql"), part(v(3), "add_email", Role::Whole));
    assert_eq!(f("U3__add_email.sql"), part(v(3), "add_email", Role::Down));
    assert_eq!(f("V2.0__x.sql"), part(v(2), "x", Role::Whole));
    assert_eq!(f("R__views.sql"), part(Key::Repeatable("views".into()), "views", Role::Whole));
    let dotted = |text: &str| Key::Versioned(text.parse().unwrap());
    assert_eq!(f("V1.1__x.sql"), part(dotted("1.1"), "x", Role::Whole));
    assert_eq!(f("V1_2_3__x_y.sql"), part(dotted("1.2.3"), "x_y", Role::Whole));
    assert_eq!(f("U01.020.0__x.sql"), part(dotted("1.20"), "x", Role::Down));
    assert!(matches!(f("V1..2__x.sql"), Named::Invalid(NameProblem::Skipped { .. })));
    let long = format!("V{}__x.sql", vec!["12"; 20].join("."));
    assert!(matches!(
        classify(Format::Flyway, &long, None),
        Named::Invalid(NameProblem::Version(crate::VersionError::TooLong(_)))
    ));
    assert!(matches!(f("V1_x.sql"), Named::Invalid(NameProblem::Skipped { .. })));
    assert_eq!(f("Views.sql"), Named::Ignored);
    let callback = |event: &str| Named::Invalid(NameProblem::FlywayCallback(event.into()));
    assert_eq!(f("beforeMigrate.sql"), callback("beforeMigrate"));
    assert_eq!(f("afterMigrate__grants.sql"), callback("afterMigrate"));
    assert_eq!(f("beforeClean.sql"), Named::Ignored);
    assert_eq!(f("V1__x.sql.conf"), part(v(1), "x", Role::Config));
    assert_eq!(f("U1__x.sql.conf"), Named::Ignored);
    let r = |name| classify(Format::Refinery, name, None);
    assert_eq!(r("V1__init.sql"), part(v(1), "init", Role::Whole));
    assert_eq!(r("U7__later.sql"), part(v(7), "later", Role::Whole));
    assert_eq!(r("V2__seed.rs"), Named::Invalid(NameProblem::RustMigration));
    assert!(matches!(r("V3__add-email.sql"), Named::Invalid(NameProblem::Skipped { .. })));
    assert_eq!(r("mod.rs"), Named::Ignored);
    let concurrent = parse(
        Format::Flyway,
        &texts("create table t (x int);\ncreate index concurrently i on t (x);"),
    );
    assert!(!concurrent.unwrap().transaction);
}

#[test]
fn detection_by_names_and_markers() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let detect = || Format::detect(dir.path());
    assert_eq!(detect().unwrap(), Format::Godwit);
    write("1_init.up.sql", "create table t (x int);");
    write("1_init.down.sql", "drop table t;");
    match detect().unwrap_err() {
        DetectError::Ambiguous { candidates, .. } => {
            assert_eq!(candidates, [Format::GolangMigrate, Format::Sqlx]);
        }
        other => panic!("{other:?}"),
    }
    write("2_more.sql", "create table u (x int);");
    assert_eq!(detect().unwrap(), Format::Sqlx);
    write("3_goose.sql", "-- +goose Up\ncreate table g (x int);");
    assert!(matches!(detect().unwrap_err(), DetectError::Mixed { .. }));
    for name in ["1_init.up.sql", "1_init.down.sql", "2_more.sql"] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    write("4_x.wasm", "");
    assert_eq!(detect().unwrap(), Format::Goose);
    write("V1__a.sql", "select 1;");
    assert!(matches!(detect().unwrap_err(), DetectError::Mixed { .. }));
}

#[test]
fn a_flyway_config_belongs_to_the_script_of_its_name_beside_it() {
    use crate::source::scan::{What, scan};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("V1__a.sql", "select 1;");
    write("V1__other.sql.conf", "executeInTransaction=false");
    write("sub/V1__a.sql.conf", "executeInTransaction=false");
    write("V2__b.sql", "select 2;");
    write("V2__b.sql.conf", "executeInTransaction=false");
    let (found, problems) = scan(dir.path(), Format::Flyway).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let config = |name: &str| match &found.iter().find(|f| f.path.ends_with(name)).unwrap().what {
        What::Format { config, .. } => config.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(config("V1__a.sql"), None);
    assert_eq!(config("V2__b.sql"), Some(dir.path().join("V2__b.sql.conf")));
}

#[test]
fn detection_of_flyway_refinery_and_diesel() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| std::fs::write(dir.path().join(name), "select 1;").unwrap();
    write("V1__a.sql");
    write("V2__b.sql");
    assert!(matches!(Format::detect(dir.path()).unwrap_err(), DetectError::Ambiguous { .. }));
    write("U2__b.sql");
    assert_eq!(Format::detect(dir.path()).unwrap(), Format::Flyway);
    std::fs::remove_file(dir.path().join("U2__b.sql")).unwrap();
    write("U5__late.sql");
    assert_eq!(Format::detect(dir.path()).unwrap(), Format::Refinery);

    let diesel = tempfile::tempdir().unwrap();
    let m = diesel.path().join("00000000000000_diesel_initial_setup");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("up.sql"), "select 1;").unwrap();
    std::fs::write(diesel.path().join(".keep"), "").unwrap();
    assert_eq!(Format::detect(diesel.path()).unwrap(), Format::Diesel);
}
