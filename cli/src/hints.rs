//! What the engine's errors mean to a person at a terminal: the exit code (2 when the input
//! must be fixed before anything can run, 1 when a migration or a check failed) and a hint
//! saying what to do, with the flags and commands that do it.

use godwit::Error;
use godwit::driver::ConnectError;
use godwit::driver::DbError;
use godwit::guest_build::toolchain::{Install, ToolchainError};
use godwit::guest_build::{BuildError, Language};
use godwit::history::HistoryError;
use godwit::history::adopt::AdoptError;
use godwit::lint::TraceError;
use godwit::lock_file::PinError;
use godwit::pack::PackError;
use godwit::plan::PlanError;
use godwit::schema::SchemaError;
use godwit::source::{
    DetectError, NameProblem, ProblemKind, SourceError, SourceProblem, SqlFileError,
};
use godwit::transforms::TransformError;
use godwit::wasm::GuestError;

/// 2 for input to fix before anything can run, 1 for a migration or a check that failed.
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Adopt(AdoptError::Read { .. }) => 1,
        Error::Source(_)
        | Error::DownFile(_)
        | Error::Adopt(_)
        | Error::Pack(_)
        | Error::Pins(_)
        | Error::Connect(
            ConnectError::InvalidUrl { .. }
            | ConnectError::Unreachable { .. }
            | ConnectError::NoSchema { .. },
        )
        | Error::History(HistoryError::Foreign { .. })
        | Error::Lint(_)
        | Error::Trace(TraceError::NotPostgres { .. })
        | Error::Schema(
            SchemaError::DevNotEmpty { .. }
            | SchemaError::NeverMigrated { .. }
            | SchemaError::Squash { .. },
        )
        | Error::Plan(
            PlanError::UnknownVersion { .. }
            | PlanError::UnknownAfter { .. }
            | PlanError::UnknownPack { .. },
        )
        | Error::Transform(
            TransformError::Unknown(_)
            | TransformError::NotBatched { .. }
            | TransformError::BadRequirement { .. },
        ) => 2,
        _ => 1,
    }
}

/// What the user can do about it.
pub fn hint(error: &Error) -> Option<String> {
    if let Some(hint) = error.db_error().and_then(|source| lost(error, source)) {
        return Some(hint);
    }
    Some(match error {
        Error::Adopt(adopt) => adopt_hint(adopt)?,
        Error::DownFile(_) => {
            "restore the down file (it is read when a revert needs it), or revert with the tool that wrote it".to_owned()
        }
        Error::Source(SourceError::ReadDir { .. }) => {
            "run `godwit init` to create it, or point `--dir` at your migrations".to_owned()
        }
        Error::Source(SourceError::Detect(DetectError::Ambiguous { candidates, .. })) => {
            let each = |f: &dyn Fn(&godwit::source::Format) -> String| {
                candidates.iter().map(f).collect::<Vec<_>>().join(" or ")
            };
            format!(
                "say which: {} in godwit.toml, or {}",
                each(&|c| format!("`format = \"{c}\"`")),
                each(&|c| format!("`--dir-format {c}`"))
            )
        }
        Error::Source(SourceError::Detect(_)) => {
            "set the folder's format with `format = \"...\"` in godwit.toml or --dir-format, and move the other tool's files out (docs/adopting.md)".to_owned()
        }
        Error::Source(SourceError::Invalid { problems }) => {
            let mut hints: Vec<String> = problems.iter().map(problem).collect();
            hints.dedup();
            hints.join("\n")
        }
        Error::Transform(TransformError::Unknown(_)) => {
            "name it by its version (`7`, `0007`) or file name, as `godwit status` lists it".to_owned()
        }
        Error::Transform(TransformError::NotQueued { .. }) => {
            "only transforms queued by `godwit up --defer-transforms` are run and controlled this way".to_owned()
        }
        Error::Transform(TransformError::Unfinished { required, state, .. }) => {
            let then = "then `godwit up` finishes it first (or a worker does)";
            match state {
                godwit::transforms::TransformState::Paused => {
                    format!("`godwit transforms resume {required}`; {then}")
                }
                godwit::transforms::TransformState::Queued | godwit::transforms::TransformState::Running => format!(
                    "let `godwit transforms run` finish {required}, or run `godwit up` without --no-wait to finish it first"
                ),
                _ => format!("`godwit transforms retry {required}`; {then}"),
            }
        }
        Error::Transform(TransformError::NotStopped { label, state }) => match state {
            godwit::transforms::TransformState::Queued => format!(
                "`godwit transforms cancel {label}` (or `pause {label}`), then `godwit down` reverts it; or let `godwit transforms run` finish it"
            ),
            _ => format!(
                "`godwit transforms cancel {label}` (or `pause {label}`): the worker stops at its next batch, then `godwit down` reverts it"
            ),
        },
        Error::Transform(TransformError::BadRequirement { .. }) => {
            "`-- godwit:requires` names earlier batched migrations of the same project or pack, by version or file name".to_owned()
        }
        Error::Transform(TransformError::Refused { .. }) => {
            "`godwit transforms status` shows each transform's state".to_owned()
        }
        Error::Connect(ConnectError::InvalidUrl { .. }) => {
            "use `sqlite:PATH`, `sqlite::memory:` or `postgres://user:password@host:port/db`"
                .to_owned()
        }
        Error::Connect(ConnectError::Unreachable { .. }) => {
            "check the URL given by --database, DATABASE_URL or godwit.toml, and that the server is running".to_owned()
        }
        Error::Connect(ConnectError::NoSchema { .. }) => {
            "name the schema with --schema (`schema` in godwit.toml), or give the role a search_path".to_owned()
        }
        Error::Connect(ConnectError::Lost { .. }) => {
            "a component migration crashed godwit's host; connect again".to_owned()
        }
        Error::Lint(_) => {
            "write the statements the safe way (`godwit lint` says how), accept one in its file with \
             `-- godwit:allow <rule> <why>`, or apply them as they are with `godwit up --no-lint`"
                .to_owned()
        }
        Error::Trace(TraceError::NotPostgres { .. }) => {
            "`godwit lint` (without --trace) checks SQLite migrations; `godwit up --dry-run` shows their SQL"
                .to_owned()
        }
        Error::Schema(SchemaError::DevNotEmpty { .. }) => {
            "give --dev-url an empty database (a fresh one: `createdb`, or `sqlite::memory:` for SQLite); godwit builds the migrations' schema there"
                .to_owned()
        }
        Error::Schema(SchemaError::NeverMigrated { .. }) => {
            "run `godwit up` to migrate it, or `godwit baseline` to record the migrations it already has".to_owned()
        }
        Error::Schema(SchemaError::Scratch { .. }) => {
            "let the role create databases (`ALTER ROLE ... CREATEDB`), or name an empty database to \
             build in with --dev-url (`godwit lint --trace --in-transaction` traces on the target itself)"
                .to_owned()
        }
        Error::LockTimeout { .. } => {
            "wait for the other run to finish, or raise --lock-timeout".to_owned()
        }
        Error::MigrationFailed(failure) if failure.source.code.as_deref() == Some("55P03") => {
            let state = match failure.recorded_failed {
                true => "the statements before it stay applied and it is recorded as failed (`godwit repair`, then `godwit up`)",
                false => "it was rolled back and the database is as it was before it",
            };
            format!(
                "{} waited longer than its lock timeout for a lock another session held, on every try; {state}. \
                 End or wait for the sessions named above and run godwit again, or give it longer \
                 (--statement-lock-timeout, --lock-retries, or `-- godwit:lock-timeout 30s` in its file)",
                failure.label
            )
        }
        Error::MigrationFailed(failure) if failure.recorded_failed => format!(
            "{} ran outside a transaction, so statements before line {} stay applied and it is recorded as failed; \
             fix the database by hand, then run `godwit repair` and `godwit up`",
            failure.label, failure.line
        ),
        Error::MigrationFailed(failure) => format!(
            "{} was rolled back and the database is as it was before it; fix {} and run godwit again",
            failure.label,
            failure.path.display()
        ),
        Error::GuestFailed(failure) => {
            let label = &failure.label;
            let mut hint = match failure.resumable {
                Some(rows) => format!(
                    "the failed batch was rolled back; the batches before it stay committed \
                     ({rows} rows done) and {label} stays in progress: fix the cause and run \
                     `godwit up` to resume after them"
                ),
                None => format!("{label} was rolled back and the database is as it was before it"),
            };
            match failure.source {
                GuestError::Timeout(_) => hint.push_str(
                    "; `--wasm-timeout` (wasm_timeout in godwit.toml) raises the time limit",
                ),
                GuestError::Memory(_) => hint.push_str(
                    "; `--wasm-memory` (wasm_memory in godwit.toml) raises the memory limit",
                ),
                _ => {}
            }
            hint
        }
        Error::History(HistoryError::Foreign { .. }) => {
            "godwit will not use a godwit_history table it did not create: rename that table, use another \
             database, or on PostgreSQL give godwit a schema of its own with --schema (`schema` in godwit.toml)"
                .to_owned()
        }
        Error::Plan(plan) => plan_hint(plan),
        Error::BeyondGrant(failure) => format!(
            "{} was rolled back and the database is as it was before it; what a pack leaves \
             to run later (triggers, functions) runs for whoever uses it, so it must stay \
             within the pack's grant too",
            failure.label
        ),
        Error::Pack(PackError::Invalid { .. }) => {
            "a pack's godwit-pack.toml needs `name` and `version`; see docs/packs.md".to_owned()
        }
        Error::Pack(PackError::Empty { nested: Some(nested), dir, .. }) => format!(
            "a pack's migrations go directly in its directory, next to godwit-pack.toml: move the files of {} into {}",
            nested.display(),
            dir.display()
        ),
        Error::Pack(PackError::Empty { .. }) => {
            "put the pack's migrations next to its godwit-pack.toml, or remove the pack from godwit.toml".to_owned()
        }
        Error::Pins(PinError::PackUnlocked { .. }) => {
            "nothing ran; review the pack, then run `godwit lock` to pin it".to_owned()
        }
        Error::Pins(PinError::Mismatch { .. }) => {
            "nothing ran; if the change is intended, review it and run `godwit lock`".to_owned()
        }
        Error::BaselineOnMigrated { .. } => {
            "`godwit status` shows what is applied; baseline is for databases godwit has not migrated yet".to_owned()
        }
        _ => return None,
    })
}

/// The hint for a database connection that ended under godwit: nothing is wrong with the
/// migration, and the server rolled back what was not committed.
fn lost(error: &Error, source: &DbError) -> Option<String> {
    if !source.connection_lost() {
        return None;
    }
    let what = match error {
        Error::MigrationFailed(failure) if !failure.recorded_failed => {
            format!("the server rolled {} back and the file is fine; ", failure.label)
        }
        Error::MigrationFailed(failure) => format!(
            "{} runs outside a transaction, so its statements before line {} may stay applied: check them; ",
            failure.label, failure.line
        ),
        _ => "what was not committed was rolled back; ".to_owned(),
    };
    Some(format!(
        "the connection to the database was lost (the server restarted or shut down, or the session was ended): \
         {what}once the server is back, run godwit again and it goes on from there"
    ))
}

fn plan_hint(plan: &PlanError) -> String {
    match plan {
        PlanError::Inconsistent { problems }
            if problems.iter().any(|p| matches!(p, godwit::status::Problem::PartlySquashed { .. })) =>
        {
            "bring the database to the baseline's version with the migration files from before the squash (from version control), then run `godwit up` with the baseline".to_owned()
        }
        PlanError::Inconsistent { .. } => {
            "restore the applied files, or run `godwit repair` to accept the current files as applied".to_owned()
        }
        PlanError::OutOfOrder { .. } => {
            "give the pending migrations a newer version, or pass --allow-out-of-order to apply them anyway".to_owned()
        }
        PlanError::Irreversible { .. } => {
            "add a `-- godwit:down` section to them (in another tool's folder, the down file its format reads), or revert to a later version with --to".to_owned()
        }
        PlanError::Unfinished { label } => {
            format!(
                "run `godwit up` to finish {label} first; then it can be reverted (a transform a worker owns reverts once it is paused, cancelled or failed)"
            )
        }
        PlanError::UnknownVersion { .. } => "`godwit status` lists the versions".to_owned(),
        PlanError::UnknownAfter { pack, .. } => format!(
            "set `after` of pack `{pack}` in godwit.toml to a version `godwit status` lists"
        ),
        PlanError::UnknownPack { .. } => {
            "`godwit status` lists the packs; packs are listed as [[pack]] in godwit.toml".to_owned()
        }
        _ => String::new(),
    }
}

/// The hint for one bad file.
fn problem(problem: &SourceProblem) -> String {
    match &problem.kind {
        ProblemKind::Name(name) => name_hint(name).to_owned(),
        ProblemKind::NotUtf8Name | ProblemKind::NotUtf8 { .. } => {
            "save migration files as UTF-8".to_owned()
        }
        ProblemKind::NulByte { .. } => {
            "save migration files as UTF-8 text; a NUL byte means a binary file or another encoding (UTF-16)".to_owned()
        }
        ProblemKind::Empty => "write the migration, or delete the file".to_owned(),
        ProblemKind::Content(content) => sql_file_hint(content).to_owned(),
        ProblemKind::Duplicate { .. } => {
            "give each migration its own version; `godwit new` picks the next one".to_owned()
        }
        ProblemKind::Io(_) => "check the file's permissions".to_owned(),
        ProblemKind::Build(error) => build_hint(error),
        ProblemKind::Format(godwit::source::FormatError::Refused(_)) => {
            "write the value into the file; or, when the text is meant as it is, put `placeholderReplacement=false` in the script's .conf file (Flyway then runs it as it is too)".to_owned()
        }
        ProblemKind::Format(_) => {
            "fix the file as its tool documents it; docs/adopting.md lists what godwit reads of each format".to_owned()
        }
        ProblemKind::Component(GuestError::OtherContract { .. }) => format!(
            "rebuild it from its source with this godwit: `godwit build` rebuilds a migration \
             directory (Rust, Python, JavaScript, C); a prebuilt .wasm needs its author's build \
             against godwit:migration@{}",
            godwit::contract::CONTRACT_VERSION
        ),
        ProblemKind::Component(GuestError::Options(_)) => {
            "a migration may declare a batch target above 0 ms and batch bounds of at least 1 row, \
             the smallest no larger than the largest (docs/live-backfills.md)"
                .to_owned()
        }
        ProblemKind::Component(_) => format!(
            "build it against wit/migration.wit (godwit:migration@{}), for instance with the godwit-sdk crate",
            godwit::contract::CONTRACT_VERSION
        ),
        _ => String::new(),
    }
}

fn name_hint(problem: &NameProblem) -> &'static str {
    match problem {
        NameProblem::Version(godwit::VersionError::TooLong(_)) => {
            "shorten the version: Flyway's history keeps 50 characters of it"
        }
        NameProblem::Version(_) => {
            "use at most 18 digits, like `0001` or `20261122093000`, or numbers joined by dots, like `1.2.3`"
        }
        NameProblem::UnsupportedKind(_) => {
            "migrations are `.sql` files and `.wasm` components; move other files out of the migrations directory"
        }
        NameProblem::Skipped { .. } => {
            "rename the file as the message says, or move it out of the folder"
        }
        NameProblem::FlywayCallback(_) => {
            "make what it does a migration (a repeatable `R__` one runs whenever it changes), or run it with Flyway; docs/adopting.md says more"
        }
        NameProblem::GoMigration | NameProblem::RustMigration => {
            "docs/adopting.md shows how to port code migrations; until then run that one with its tool and `godwit adopt` afterwards"
        }
        NameProblem::Zero(_) | NameProblem::TooLargeFor(..) => {
            "rename the file, or keep running this folder with its tool for now"
        }
        NameProblem::NoUpFile => "write the up.sql of the migration, or delete the directory",
        NameProblem::DownWithoutUp => "add the up file of that version, or delete the down file",
        _ => {
            "name versioned migrations `<version>_<name>.sql` (like `0001_create_users.sql`) and repeatable ones `R_<name>.sql`"
        }
    }
}

fn adopt_hint(error: &AdoptError) -> Option<String> {
    Some(match error {
        AdoptError::NoTable { tool, .. } => format!(
            "check --database (and --schema), or name the table with --table; with nothing applied by {tool} there is nothing to adopt: run `godwit up`"
        ),
        AdoptError::UnknownShape { .. } => {
            "name the tool that wrote the table with --from, or its table with --table".to_owned()
        }
        AdoptError::Dirty { version, .. } => format!(
            "fix the schema by hand as far as migration {version} got, then mark it with golang-migrate (`migrate force {version}` if it is complete, the version before it if not) and adopt again"
        ),
        AdoptError::Failed { tool, .. } => format!(
            "finish or undo the failed migration with {tool} (or by hand, deleting its failed row), then adopt again"
        ),
        AdoptError::Mismatch { .. } => {
            "restore the applied files as they were when they ran (git log -p shows the change), then adopt again; godwit writes nothing until every applied file matches".to_owned()
        }
        AdoptError::BadTable(_) => "name the table as the tool does, like `--table public.schema_migrations`".to_owned(),
        AdoptError::NoTool => {
            "add --from <tool>, or set `format = \"<tool>\"` in godwit.toml for the folder".to_owned()
        }
        AdoptError::BadVersion { .. } => {
            "godwit reads versions made of digits; keep running this database with its tool for now".to_owned()
        }
        _ => return None,
    })
}

fn sql_file_hint(problem: &SqlFileError) -> &'static str {
    match problem {
        SqlFileError::UnknownDirective { .. } => {
            "the directives are `-- godwit:up`, `-- godwit:down`, `-- godwit:no-transaction`, `-- godwit:requires`, `-- godwit:allow` and `-- godwit:lock-timeout` (a duration such as `30s`, or `off`)"
        }
        SqlFileError::BadAllow { .. } => {
            "write `-- godwit:allow <rule> <why>`, with a rule docs/lint.md lists (`godwit lint` names the rule of each finding)"
        }
        SqlFileError::DuplicateSection { .. } => "merge the two sections into one",
        SqlFileError::OutsideSection { .. } => {
            "move the SQL below `-- godwit:up`, or comment it out"
        }
        _ => {
            "put the statements under a `-- godwit:up` line (and the reverse under `-- godwit:down`)"
        }
    }
}

pub fn build_hint(error: &BuildError) -> String {
    match error {
        BuildError::NoMarker => {
            "`godwit new <name> --kind rust|python|js|c` creates one".to_owned()
        }
        BuildError::Ambiguous(_) => {
            "keep the marker of the migration's language and rename or remove the others".to_owned()
        }
        BuildError::Toolchain(error) => toolchain_hint(error),
        BuildError::TargetMissing => {
            "run `godwit toolchain install rust` (it runs `rustup target add wasm32-wasip2`)"
                .to_owned()
        }
        BuildError::NoCdylib => {
            "add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml".to_owned()
        }
        BuildError::NotBuilt(_) => "run `godwit build`, or drop --no-build".to_owned(),
        BuildError::NoCache => "set XDG_CACHE_HOME (or HOME) to a writable directory".to_owned(),
        BuildError::Failed { language: Language::Rust, .. } => {
            "fix the crate so that `cargo build --release --target wasm32-wasip2` succeeds"
                .to_owned()
        }
        BuildError::Failed { .. } => "fix the error above in the migration's source".to_owned(),
        _ => "check that the toolchain runs: `godwit toolchain list`".to_owned(),
    }
}

/// How to get a missing toolchain.
pub fn toolchain_hint(error: &ToolchainError) -> String {
    match error {
        ToolchainError::Missing { install: Install::Godwit(language), .. } => {
            format!("run `godwit toolchain install {}`", language.name())
        }
        ToolchainError::Missing { install: Install::System(command), .. } => {
            format!("install it with `{command}` (or your system's equivalent)")
        }
        ToolchainError::NoDir => {
            "set GODWIT_TOOLCHAINS (or XDG_CACHE_HOME, or HOME) to a writable directory".to_owned()
        }
        _ => "read the installer's output above; `godwit toolchain list` shows what is there"
            .to_owned(),
    }
}
