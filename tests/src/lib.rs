//! The test harness: throwaway projects on real databases, and the real `godwit` binary.
//!
//! A [`Project`] is a temporary directory with a `migrations/` folder and a fresh database:
//! a SQLite file inside the directory, or a new database on a throwaway PostgreSQL cluster
//! that [`pg`] starts once per test process (or on `GODWIT_TEST_PG_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

pub mod db;
pub mod pg;
pub mod replica;
pub mod torture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use db::Backend;

/// `cargo build` with `args`, from inside a test.
fn cargo_build(args: &[&str]) {
    // Without the variables cargo set for this test binary (see `godwit::guest_build::cargo`).
    let mut build = godwit::guest_build::cargo();
    build.arg("build").arg("--quiet").args(args);
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build {args:?} failed");
}

/// target/<profile>/ of this binary: a test (target/<profile>/deps/<test>) or a benchmark
/// (target/<profile>/<bin>).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().expect("target profile dir").to_owned(),
        _ => dir.to_owned(),
    }
}

/// The `godwit` binary of this workspace, built on first use.
pub fn godwit_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir = profile_dir();
        let mut args = vec!["-p", "godwit-cli", "--bin", "godwit"];
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            args.push("--release");
        }
        cargo_build(&args);
        profile_dir.join("godwit")
    })
}

/// The component built from `guest-examples/<name>` for wasm32-wasip2, built on first use.
/// Every example is built here, so an example without a test cannot exist unnoticed.
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo_build(&[
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "-p",
            "guest-rust-schema",
            "-p",
            "guest-hostile",
            "-p",
            "guest-rust-backfill",
        ]);
    });
    let target = profile_dir().parent().expect("target dir").to_owned();
    let path = target.join(format!("wasm32-wasip2/guest/guest_{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "no component at {}", path.display());
    path
}

/// The workspace's root directory.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root")
}

/// The toolchains that build Python, JavaScript and C guests: `$GODWIT_TOOLCHAINS` when set
/// (`scripts/test.sh` sets it and installs them with `godwit toolchain install`), else
/// `target/toolchains`.
pub fn toolchains_dir() -> PathBuf {
    match std::env::var_os("GODWIT_TOOLCHAINS").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => profile_dir().parent().expect("target dir").join("toolchains"),
    }
}

/// The component built by godwit's own builder from the migration directory
/// `guest-examples/<name>` (a `migration.py`, `migration.js` or `migration.c` against the
/// SDK godwit carries), built once and kept in `target/test-builds`. A missing toolchain is
/// installed first, as `godwit toolchain install` would.
pub fn source_guest(name: &str) -> PathBuf {
    build_source(&root().join("guest-examples").join(name))
}

/// Builds the migration directory `dir` (Rust, Python, JavaScript or C) with the test
/// toolchains, cached by its source across runs, and gives the component's path.
pub fn build_source(dir: &Path) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let toolchains = godwit::guest_build::toolchain::Toolchains::at(toolchains_dir());
    let language = godwit::guest_build::detect(dir).expect("a migration directory");
    let mut progress = |line: &str| eprintln!("{line}");
    toolchains
        .install(language, &mut progress)
        .unwrap_or_else(|e| panic!("the {language} toolchain: {e}"));
    let builder = godwit::guest_build::Builder::new(godwit::guest_build::BuildMode::Build)
        .cache_dir(profile_dir().parent().expect("target dir").join("test-builds"))
        .toolchains(toolchains);
    let built = builder.build(dir, &mut |_| {});
    built.unwrap_or_else(|e| panic!("building {}: {e}", dir.display())).artifact
}

/// A temporary project directory with its own database.
#[derive(Debug)]
pub struct Project {
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub url: String,
}

impl Project {
    pub fn new(backend: Backend) -> Option<Project> {
        let dir = tempfile::Builder::new().prefix("godwit-test-").tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite:{}", dir.path().join("test.db").display()),
            Backend::Postgres => pg::fresh_database()?,
        };
        Some(Project { dir, backend, url })
    }

    /// A project on the PostgreSQL database at `url` (a server of the test's own).
    pub fn on_postgres(url: &str) -> Project {
        let dir = tempfile::Builder::new().prefix("godwit-test-").tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        Project { dir, backend: Backend::Postgres, url: url.to_owned() }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file relative to the project directory.
    pub fn write(&self, relative: &str, contents: &str) -> &Project {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Writes `migrations/<name>` with an up and (optionally) a down section.
    pub fn migration(&self, name: &str, up: &str, down: Option<&str>) -> &Project {
        let mut text = format!("-- godwit:up\n{up}\n");
        if let Some(down) = down {
            text.push_str(&format!("\n-- godwit:down\n{down}\n"));
        }
        self.write(&format!("migrations/{name}"), &text)
    }

    /// Copies a guest example's component into the migrations directory as `file_name`.
    pub fn component(&self, example: &str, file_name: &str) -> &Project {
        let to = self.path(&format!("migrations/{file_name}"));
        std::fs::copy(guest(example), to).unwrap();
        self
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.path(relative)).unwrap();
    }

    /// A `godwit` command in the project directory, with `DATABASE_URL` set to its database.
    pub fn command(&self) -> Command {
        let mut command = Command::new(godwit_bin());
        command
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("GODWIT_TOOLCHAINS", toolchains_dir())
            .env_remove("GODWIT_CONFIG");
        command
    }

    /// Runs `godwit` with `args`, with the compile cache shared by all tests: for components
    /// that take seconds to compile (Python, JavaScript), compiled once per machine.
    pub fn godwit_shared_cache(&self, args: &[&str]) -> Run {
        let cache = profile_dir().parent().expect("target dir").join("test-component-cache");
        Run::from(self.command().env("XDG_CACHE_HOME", cache).args(args).output().expect("godwit"))
    }

    /// Runs `godwit` with `args` and captures the outcome.
    pub fn godwit(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run godwit"))
    }

    pub fn db(&self) -> db::Inspector {
        db::Inspector::new(self.backend, &self.url)
    }
}

/// A finished `godwit` process.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }

    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}:\n{}", self.stdout);
        self
    }
}

/// Generates one test per backend from a function taking a [`Project`]. PostgreSQL tests are
/// skipped when no server can be started, except under `CI`, where they fail.
#[macro_export]
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $case() {
                let project = $crate::Project::new($crate::Backend::Sqlite).unwrap();
                super::$case(&project);
            })*
        }
        mod postgres {
            $(#[test]
            fn $case() {
                if let Some(project) = $crate::Project::new($crate::Backend::Postgres) {
                    super::$case(&project);
                }
            })*
        }
    };
}
