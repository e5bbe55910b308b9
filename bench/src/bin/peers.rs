//! `bash bench/peers/run.sh [N RUNS [TOOL...]]`: godwit beside the migration tools a user of
//! it already knows, in one run on one machine. Each tool gets N trivial migrations (1000 by
//! default) in its own format, the same statement in each (`create table t_<i> (id integer
//! primary key, name text)`, with its `drop table` where the tool has down migrations), and is
//! timed as a whole process the way a deploy script runs it, with its default output:
//!
//! - applying all N to an empty database (a fresh empty SQLite file, a fresh PostgreSQL database on a
//!   throwaway cluster with the server's default durability, fsync on, over 127.0.0.1 without
//!   TLS), then checking that the N tables exist;
//! - the no-op run with all N applied, five times right after (the first of them finds the
//!   caches the apply left, the others the warm ones a repeated deploy finds).
//!
//! RUNS rounds (3 by default); in each round every tool runs once per backend, so a busy moment
//! of the machine falls on all of them alike. The tables show medians; peak RSS is the
//! process's (and its children's) `ru_maxrss`. Beside the tools, two in-process floors of the
//! same statements over one connection: each migration committed on its own, and all of them
//! in one transaction (what the database itself needs, whatever the tool).
//!
//! The peer tools come from `bench/peers/install.sh` (under `target/peers/`); `run.sh` runs
//! it first. Writes every measurement to `results.csv` and the tables to `results.md` in
//! `$PEERS_OUT` (`target/peers/` by default; `run.sh` without arguments: `bench/peers/`), and
//! prints the tables.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{Measured, measure, median};
use godwit_tests::{Backend, Project};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Godwit,
    Sqlx,
    Refinery,
    Diesel,
    Dbmate,
    Alembic,
    Yoyo,
    Sqitch,
}

const TOOLS: [Tool; 8] = [
    Tool::Godwit,
    Tool::Sqlx,
    Tool::Refinery,
    Tool::Diesel,
    Tool::Dbmate,
    Tool::Alembic,
    Tool::Yoyo,
    Tool::Sqitch,
];

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Where the tools are: the release godwit and `target/peers/`.
struct Place {
    godwit: PathBuf,
    peers: PathBuf,
}

/// A fresh empty database of one backend.
enum Database {
    Sqlite(PathBuf),
    Postgres { port: u16, name: String },
}

fn statement(i: usize) -> String {
    format!("create table t_{i} (id integer primary key, name text);")
}

fn revert(i: usize) -> String {
    format!("drop table t_{i};")
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Godwit => "godwit",
            Tool::Sqlx => "sqlx-cli",
            Tool::Refinery => "refinery_cli",
            Tool::Diesel => "diesel_cli",
            Tool::Dbmate => "dbmate",
            Tool::Alembic => "Alembic",
            Tool::Yoyo => "yoyo-migrations",
            Tool::Sqitch => "sqitch",
        }
    }

    fn program(self, place: &Place) -> PathBuf {
        let cargo = |bin: &str| place.peers.join("cargo/bin").join(bin);
        let venv = |bin: &str| place.peers.join("venv/bin").join(bin);
        match self {
            Tool::Godwit => place.godwit.clone(),
            Tool::Sqlx => cargo("sqlx"),
            Tool::Refinery => cargo("refinery"),
            Tool::Diesel => cargo("diesel"),
            // The static binary the npm package ships, not its Node.js launcher.
            Tool::Dbmate => place.peers.join("npm/node_modules/@dbmate/linux-x64/bin/dbmate"),
            Tool::Alembic => venv("alembic"),
            Tool::Yoyo => venv("yoyo"),
            Tool::Sqitch => PathBuf::from("sqitch"),
        }
    }

    fn version(self, place: &Place) -> String {
        let mut command = match self {
            Tool::Alembic | Tool::Yoyo => {
                let package = if self == Tool::Alembic { "alembic" } else { "yoyo-migrations" };
                let mut c = Command::new(place.peers.join("venv/bin/python"));
                c.args([
                    "-c",
                    &format!("import importlib.metadata as m; print(m.version('{package}'))"),
                ]);
                c
            }
            _ => {
                let mut c = Command::new(self.program(place));
                c.arg("--version");
                c
            }
        };
        let output = command.output().unwrap_or_else(|e| {
            panic!(
                "{} is not installed ({e}); run bench/peers/install.sh",
                self.program(place).display()
            )
        });
        let text = String::from_utf8_lossy(&output.stdout);
        // "sqlx-cli 0.9.0", "diesel\n Version: 2.3.14", "sqitch (App::Sqitch) v1.3.1": the
        // first word that reads as a version.
        text.split_whitespace()
            .map(|word| word.trim_start_matches('v'))
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('.'))
            .unwrap_or("?")
            .to_owned()
    }

    /// Writes the tool's project with N migrations into `dir`.
    fn write(self, place: &Place, dir: &Path, backend: Backend, n: usize) {
        let file = |relative: String, text: String| {
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        for i in 1..=n {
            let (up, down) = (statement(i), revert(i));
            match self {
                Tool::Godwit => file(
                    format!("migrations/{i:04}_table_{i}.sql"),
                    format!("-- godwit:up\n{up}\n\n-- godwit:down\n{down}\n"),
                ),
                Tool::Sqlx => {
                    file(format!("migrations/{i:04}_table_{i}.up.sql"), format!("{up}\n"));
                    file(format!("migrations/{i:04}_table_{i}.down.sql"), format!("{down}\n"));
                }
                Tool::Refinery => {
                    file(format!("migrations/V{i}__table_{i}.sql"), format!("{up}\n"))
                }
                Tool::Diesel => {
                    file(format!("migrations/{i:014}_table_{i}/up.sql"), format!("{up}\n"));
                    file(format!("migrations/{i:014}_table_{i}/down.sql"), format!("{down}\n"));
                }
                Tool::Dbmate => file(
                    format!("migrations/{i:04}_table_{i}.sql"),
                    format!("-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"),
                ),
                Tool::Alembic => {
                    let down_revision =
                        if i == 1 { "None".to_owned() } else { format!("\"r{:04}\"", i - 1) };
                    file(
                        format!("alembic/versions/{i:04}_table_{i}.py"),
                        format!(
                            "from alembic import op\n\nrevision = \"r{i:04}\"\n\
                             down_revision = {down_revision}\nbranch_labels = None\n\
                             depends_on = None\n\n\ndef upgrade():\n    op.execute(\"{up}\")\n\n\n\
                             def downgrade():\n    op.execute(\"{down}\")\n"
                        ),
                    );
                }
                Tool::Yoyo => {
                    file(format!("migrations/{i:04}_table_{i}.sql"), format!("{up}\n"));
                    file(format!("migrations/{i:04}_table_{i}.rollback.sql"), format!("{down}\n"));
                }
                Tool::Sqitch => {
                    // What `sqitch add` writes: each script in its own transaction.
                    file(format!("deploy/t_{i}.sql"), format!("BEGIN;\n{up}\nCOMMIT;\n"));
                    file(format!("revert/t_{i}.sql"), format!("BEGIN;\n{down}\nCOMMIT;\n"));
                }
            }
        }
        match self {
            Tool::Alembic => {
                // The project `alembic init` makes (env.py as generated), its versions added.
                let versions = dir.join("alembic/versions");
                let kept = dir.join("versions.tmp");
                std::fs::rename(&versions, &kept).unwrap();
                std::fs::remove_dir(dir.join("alembic")).unwrap();
                let init = Command::new(self.program(place))
                    .current_dir(dir)
                    .args(["init", "alembic"])
                    .output()
                    .unwrap();
                assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
                std::fs::remove_dir(&versions).unwrap();
                std::fs::rename(&kept, &versions).unwrap();
            }
            Tool::Sqitch => {
                let engine = match backend {
                    Backend::Sqlite => "sqlite",
                    Backend::Postgres => "pg",
                };
                file("sqitch.conf".into(), format!("[core]\n\tengine = {engine}\n"));
                let mut plan = String::from("%syntax-version=1.0.0\n%project=bench\n\n");
                for i in 1..=n {
                    writeln!(
                        plan,
                        "t_{i} 2026-01-01T00:00:00Z Bench <bench@example.com> # table {i}"
                    )
                    .unwrap();
                }
                file("sqitch.plan".into(), plan);
            }
            _ => {}
        }
    }

    /// The command that applies every pending migration to `db`.
    fn command(self, place: &Place, dir: &Path, db: &Database) -> Command {
        let mut command = Command::new(self.program(place));
        command.current_dir(dir).env("PGSSLMODE", "disable").env("NO_COLOR", "1");
        let url = db.url(self);
        match self {
            Tool::Godwit => {
                command.env("DATABASE_URL", url).arg("up");
            }
            Tool::Sqlx => {
                command.args(["migrate", "run", "--source", "migrations", "--database-url", &url]);
            }
            Tool::Refinery => {
                command.env("DATABASE_URL", url).args(["migrate", "-e", "DATABASE_URL", "-p"]);
                command.arg("migrations");
            }
            Tool::Diesel => {
                command.args(["migration", "run", "--migration-dir", "migrations"]);
                command.args(["--database-url", &url]);
            }
            Tool::Dbmate => {
                command.args(["--url", &url, "--migrations-dir", "migrations"]);
                command.args(["--no-dump-schema", "migrate"]);
            }
            Tool::Alembic => {
                // env.py as `alembic init` wrote it reads the URL from alembic.ini.
                let ini = dir.join("alembic.ini");
                let text = std::fs::read_to_string(&ini).unwrap();
                let text: String = text
                    .lines()
                    .map(|line| {
                        if line.starts_with("sqlalchemy.url") {
                            format!("sqlalchemy.url = {url}\n")
                        } else {
                            format!("{line}\n")
                        }
                    })
                    .collect();
                std::fs::write(&ini, text).unwrap();
                command.args(["upgrade", "head"]);
            }
            Tool::Yoyo => {
                command.args(["apply", "--batch", "--no-config-file", "--database", &url]);
                command.arg("migrations");
            }
            Tool::Sqitch => {
                command.env("SQITCH_FULLNAME", "Bench").env("SQITCH_EMAIL", "bench@example.com");
                command.args(["deploy", &url]);
            }
        }
        command
    }
}

impl Database {
    fn of(project: &Project) -> Database {
        match project.backend {
            Backend::Sqlite => {
                // An empty file, as PostgreSQL's is an empty database: some tools do not
                // create a missing file.
                let path = project.path("test.db");
                std::fs::write(&path, b"").unwrap();
                Database::Sqlite(path)
            }
            Backend::Postgres => {
                // postgres://postgres@127.0.0.1:PORT/NAME, from the test harness.
                let rest = project.url.strip_prefix("postgres://postgres@127.0.0.1:").unwrap();
                let (port, name) = rest.split_once('/').unwrap();
                Database::Postgres { port: port.parse().unwrap(), name: name.to_owned() }
            }
        }
    }

    fn url(&self, tool: Tool) -> String {
        match self {
            Database::Sqlite(path) => {
                let path = path.display();
                match tool {
                    Tool::Godwit | Tool::Dbmate => format!("sqlite:{path}"),
                    Tool::Sqlx => format!("sqlite:{path}?mode=rwc"),
                    Tool::Refinery => format!("sqlite://{path}"),
                    Tool::Diesel => path.to_string(),
                    Tool::Alembic | Tool::Yoyo => format!("sqlite:///{path}"),
                    Tool::Sqitch => format!("db:sqlite:{path}"),
                }
            }
            Database::Postgres { port, name } => {
                let plain = format!("postgres://postgres@127.0.0.1:{port}/{name}");
                match tool {
                    Tool::Alembic | Tool::Yoyo => {
                        format!("postgresql+psycopg://postgres@127.0.0.1:{port}/{name}")
                    }
                    Tool::Sqitch => format!("db:pg://postgres@127.0.0.1:{port}/{name}"),
                    _ => format!("{plain}?sslmode=disable"),
                }
            }
        }
    }
}

/// How many `t_<i>` tables the project's database holds.
fn created_tables(project: &Project) -> i64 {
    let sql = match project.backend {
        Backend::Sqlite => {
            "select count(*) from sqlite_master where type = 'table' and name like 't\\_%' escape '\\'"
        }
        Backend::Postgres => {
            "select count(*) from pg_tables where schemaname = 'public' and tablename like 't\\_%'"
        }
    };
    project.db().scalar(sql).parse().unwrap()
}

/// The floor: the same statements in-process over one connection, each migration committed
/// on its own (`each`), or all in one transaction.
fn floor(project: &Project, n: usize, each: bool) -> Duration {
    let mut script = String::new();
    for i in 1..=n {
        if each || i == 1 {
            script.push_str("BEGIN;\n");
        }
        script.push_str(&statement(i));
        writeln!(script, "\ninsert into log values ({i});").unwrap();
        if each || i == n {
            script.push_str("COMMIT;\n");
        }
    }
    let db = project.db();
    db.execute("create table log (v bigint)");
    let started = Instant::now();
    db.execute(&script);
    let elapsed = started.elapsed();
    assert_eq!(created_tables(project), i64::try_from(n).unwrap());
    elapsed
}

/// One tool on one backend in one round.
struct Sample {
    backend: Backend,
    tool: Tool,
    round: usize,
    apply: Measured,
    noops: Vec<Measured>,
}

/// No-op runs after each apply.
const NOOPS: usize = 5;

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1000, |a| a.parse().expect("N is a number"));
    let runs: usize = args.next().map_or(3, |a| a.parse().expect("RUNS is a number"));
    let chosen: Vec<String> = args.collect();
    let tools: Vec<Tool> = TOOLS
        .into_iter()
        .filter(|t| t == &Tool::Godwit || chosen.is_empty() || chosen.iter().any(|c| c == t.name()))
        .collect();
    if std::env::var_os("GODWIT_TEST_PG_DURABLE").is_none() {
        eprintln!("note: set GODWIT_TEST_PG_DURABLE=1 to keep fsync on (bench/peers/run.sh does)");
    }
    let root = godwit_tests::root();
    let place = Place {
        godwit: godwit_tests::godwit_bin().to_owned(),
        peers: std::env::var_os("CARGO_TARGET_DIR")
            .map_or(root.join("target"), PathBuf::from)
            .join("peers"),
    };
    let versions: Vec<String> = tools.iter().map(|t| t.version(&place)).collect();
    let work = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for backend in BACKENDS {
        for tool in &tools {
            let dir = work.path().join(format!("{}-{}", tool.name(), backend_name(backend)));
            tool.write(&place, &dir, backend, n);
            dirs.push(((*tool, backend), dir));
        }
    }
    let dir_of = |tool: Tool, backend: Backend| {
        &dirs.iter().find(|((t, b), _)| *t == tool && *b == backend).unwrap().1
    };

    let mut samples = Vec::new();
    let mut floors: Vec<(Backend, bool, Duration)> = Vec::new();
    for round in 1..=runs {
        for backend in BACKENDS {
            for tool in &tools {
                let project = Project::new(backend).expect("a database for the benchmark");
                let db = Database::of(&project);
                let dir = dir_of(*tool, backend);
                let scratch = project.dir.path();
                let apply = measure(&mut tool.command(&place, dir, &db), scratch).unwrap();
                check(*tool, backend, "apply", &apply);
                assert_eq!(
                    created_tables(&project),
                    i64::try_from(n).unwrap(),
                    "{} on {} did not create every table:\n{}",
                    tool.name(),
                    backend_name(backend),
                    apply.output
                );
                let noops: Vec<Measured> = (0..NOOPS)
                    .map(|_| {
                        let noop = measure(&mut tool.command(&place, dir, &db), scratch).unwrap();
                        check(*tool, backend, "no-op", &noop);
                        noop
                    })
                    .collect();
                eprintln!(
                    "round {round}, {}, {}: apply {:.0} ms, no-op {:.1} ms",
                    backend_name(backend),
                    tool.name(),
                    apply.elapsed.as_secs_f64() * 1e3,
                    median(noops.iter().map(|n| n.elapsed).collect()).as_secs_f64() * 1e3
                );
                samples.push(Sample { backend, tool: *tool, round, apply, noops });
            }
            for each in [true, false] {
                let project = Project::new(backend).expect("a database for the floor");
                floors.push((backend, each, floor(&project, n, each)));
            }
        }
    }

    let csv = write_csv(&samples, &tools, &versions, &floors);
    let tables = tables(n, runs, &samples, &tools, &versions, &floors);
    let out = std::env::var_os("PEERS_OUT").map_or(place.peers.clone(), PathBuf::from);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results.csv"), csv).unwrap();
    std::fs::write(out.join("results.md"), &tables).unwrap();
    print!("{tables}");
}

fn check(tool: Tool, backend: Backend, what: &str, run: &Measured) {
    assert_eq!(
        run.code,
        Some(0),
        "{} {what} on {} failed:\n{}",
        tool.name(),
        backend_name(backend),
        run.output
    );
}

fn write_csv(
    samples: &[Sample],
    tools: &[Tool],
    versions: &[String],
    floors: &[(Backend, bool, Duration)],
) -> String {
    let mut csv = String::from("backend,tool,version,round,run,ms,peak_rss_kib\n");
    let mut row = |backend: Backend, tool: &str, version: &str, round, run: &str, m: &Measured| {
        let ms = m.elapsed.as_secs_f64() * 1e3;
        let rss = m.peak_rss_kib;
        let backend = backend_name(backend);
        writeln!(csv, "{backend},{tool},{version},{round},{run},{ms:.2},{rss}").unwrap();
    };
    for s in samples {
        let version = &versions[tools.iter().position(|t| *t == s.tool).unwrap()];
        row(s.backend, s.tool.name(), version, s.round, "apply", &s.apply);
        for noop in &s.noops {
            row(s.backend, s.tool.name(), version, s.round, "no-op", noop);
        }
    }
    let mut rounds = std::collections::HashMap::new();
    for (backend, each, time) in floors {
        let round = rounds.entry((backend_name(*backend), *each)).or_insert(0);
        *round += 1;
        let name = if *each { "floor: commit per migration" } else { "floor: one transaction" };
        let floor = Measured {
            elapsed: *time,
            peak_rss_kib: 0,
            cpu: Duration::ZERO,
            code: Some(0),
            output: String::new(),
        };
        row(*backend, name, "", *round, "apply", &floor);
    }
    csv
}

fn tables(
    n: usize,
    runs: usize,
    samples: &[Sample],
    tools: &[Tool],
    versions: &[String],
    floors: &[(Backend, bool, Duration)],
) -> String {
    let ms = |d: Duration| {
        let ms = d.as_secs_f64() * 1e3;
        if ms >= 1000.0 { format!("{:.2} s", ms / 1e3) } else { format!("{ms:.1} ms") }
    };
    let mut out = String::new();
    for backend in BACKENDS {
        let of =
            |tool: Tool| samples.iter().filter(move |s| s.tool == tool && s.backend == backend);
        let apply = |tool: Tool| median(of(tool).map(|s| s.apply.elapsed).collect());
        let noop =
            |tool: Tool| median(of(tool).flat_map(|s| s.noops.iter().map(|n| n.elapsed)).collect());
        let rss = |tool: Tool| {
            let mut kib: Vec<u64> = of(tool).map(|s| s.apply.peak_rss_kib).collect();
            kib.sort_unstable();
            kib[kib.len() / 2] as f64 / 1024.0
        };
        let floor = |each: bool| {
            median(floors.iter().filter(|f| f.0 == backend && f.1 == each).map(|f| f.2).collect())
        };
        let (godwit_apply, godwit_noop) = (apply(Tool::Godwit), noop(Tool::Godwit));
        writeln!(
            out,
            "| {}: {n} trivial migrations | version | apply all (median of {runs}) | ÷ godwit | \
             no-op run (median of {}) | ÷ godwit | peak RSS (apply) |\n|---|---|---|---|---|---|---|",
            backend_name(backend),
            runs * NOOPS
        )
        .unwrap();
        for (tool, version) in tools.iter().zip(versions) {
            let (a, o) = (apply(*tool), noop(*tool));
            writeln!(
                out,
                "| {} | {version} | {} | {:.2} | {} | {:.2} | {:.1} MiB |",
                tool.name(),
                ms(a),
                a.as_secs_f64() / godwit_apply.as_secs_f64(),
                ms(o),
                o.as_secs_f64() / godwit_noop.as_secs_f64(),
                rss(*tool)
            )
            .unwrap();
        }
        for (each, name) in
            [(true, "floor: commit per migration"), (false, "floor: one transaction")]
        {
            let f = floor(each);
            writeln!(
                out,
                "| {name} (in-process) | | {} | {:.2} | | | |",
                ms(f),
                f.as_secs_f64() / godwit_apply.as_secs_f64()
            )
            .unwrap();
        }
        let peers: Vec<Tool> = tools.iter().copied().filter(|t| *t != Tool::Godwit).collect();
        if let (Some(fastest), Some(quickest)) = (
            peers.iter().copied().min_by_key(|t| apply(*t)),
            peers.iter().copied().min_by_key(|t| noop(*t)),
        ) {
            writeln!(
                out,
                "\ngodwit apply ÷ fastest peer ({}): **{:.2}** (target ≤ 0.50); \
                 one-transaction floor ÷ fastest peer: {:.2}. \
                 godwit no-op ÷ quickest peer no-op ({}): **{:.2}** (target < 1).\n",
                fastest.name(),
                godwit_apply.as_secs_f64() / apply(fastest).as_secs_f64(),
                floor(false).as_secs_f64() / apply(fastest).as_secs_f64(),
                quickest.name(),
                godwit_noop.as_secs_f64() / noop(quickest).as_secs_f64(),
            )
            .unwrap();
        } else {
            out.push('\n');
        }
    }
    out
}
