//! The test harness: throwaway projects on real databases, and the real `godwit` binary.
//!
//! A [`Project`] is a temporary directory with a `migrations/` folder and a fresh database:
//! a SQLite file inside the directory, or a new database on a throwaway PostgreSQL cluster
//! that [`pg`] starts once per test process (or on `GODWIT_TEST_PG_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

pub mod db;
pub mod pg;
pub mod torture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use db::Backend;

/// `cargo build` with `args`, from inside a test.
fn cargo_build(args: &[&str]) {
    // Without the variables cargo set for this test binary (see `godwit::build::cargo`).
    let mut build = godwit::build::cargo();
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

/// The version of componentize-py the Python guests are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// `target/pyenv`, a virtualenv with componentize-py, created on first use
/// (`scripts/test.sh` creates it before the tests).
fn componentize_py() -> PathBuf {
    let venv = profile_dir().parent().expect("target dir").join("pyenv");
    let bin = venv.join("bin/componentize-py");
    if !bin.is_file() {
        let created = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
        assert!(created.is_ok_and(|s| s.success()), "python3 -m venv {} failed", venv.display());
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("componentize-py=={COMPONENTIZE_PY}")])
            .status();
        assert!(installed.is_ok_and(|s| s.success()), "pip install componentize-py failed");
    }
    bin
}

/// The component built from the Python app in `guest-examples/<name>` (its `app.py`) with
/// componentize-py and the helpers in `sdk/python`, built once per test process. The sources
/// are copied under `target/` first: componentize-py imports them to find the migration, and
/// Python then writes `__pycache__` next to what it imported, which must not be the source tree.
pub fn python_guest(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let guests = profile_dir().parent().expect("target dir").join("python-guests");
    let out = guests.join(format!("{name}.wasm"));
    if !built.iter().any(|b| b == name) {
        let staged = guests.join(format!("{name}-src"));
        let _ = std::fs::remove_dir_all(&staged);
        copy_tree(&root().join("guest-examples").join(name), &staged.join("app"));
        copy_tree(&root().join("sdk/python"), &staged.join("sdk"));
        let status = Command::new(componentize_py())
            .current_dir(root())
            .args(["-d", "wit", "-w", "migration-component", "componentize", "app", "-p"])
            .arg(staged.join("app"))
            .arg("-p")
            .arg(staged.join("sdk"))
            .arg("-o")
            .arg(&out)
            .status()
            .expect("run componentize-py");
        assert!(status.success(), "componentize-py failed for guest-examples/{name}");
        built.push(name.to_owned());
    }
    out
}

/// Copies the files of `from` (not hidden ones, not `__pycache__`) into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == "__pycache__" {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        match entry.file_type().unwrap().is_dir() {
            true => copy_tree(&source, &target),
            false => drop(std::fs::copy(&source, &target).unwrap()),
        }
    }
}

/// The version of wit-bindgen-cli (crates.io) that generates the C guests' bindings.
pub const WIT_BINDGEN_CLI: &str = "0.61.0";

/// wit-bindgen with only its C generator, under `target/cenv`, installed with cargo on first
/// use (`scripts/test.sh` installs it before the tests).
fn wit_bindgen_c() -> PathBuf {
    let root_dir = profile_dir().parent().expect("target dir").join("cenv");
    let bin = root_dir.join("bin/wit-bindgen");
    if !bin.is_file() {
        let installed = godwit::build::cargo()
            .args(["install", "--locked", "--no-default-features", "--features", "c"])
            .arg("--root")
            .arg(&root_dir)
            .arg(format!("wit-bindgen-cli@{WIT_BINDGEN_CLI}"))
            .status();
        assert!(installed.is_ok_and(|s| s.success()), "cargo install wit-bindgen-cli failed");
    }
    bin
}

/// The component built from `guest-examples/<name>/app.c` with `sdk/c/build.sh` (clang 19,
/// wasi-libc, wit-bindgen's C generator, wasm-component-ld).
pub fn c_guest(name: &str) -> PathBuf {
    let out = profile_dir().parent().expect("target dir").join(format!("c-guests/{name}.wasm"));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let status = Command::new(root().join("sdk/c/build.sh"))
        .current_dir(root())
        .env("WIT_BINDGEN", wit_bindgen_c())
        .arg(root().join("guest-examples").join(name).join("app.c"))
        .arg(&out)
        .status()
        .expect("run sdk/c/build.sh (needs bash)");
    assert!(
        status.success(),
        "sdk/c/build.sh failed for guest-examples/{name}: scripts/test.sh installs clang-19, \
         lld-19, wasi-libc and libclang-rt-19-dev-wasm32"
    );
    out
}

/// The version of componentize-qjs (npm) the JavaScript guests are built with.
pub const COMPONENTIZE_QJS: &str = "0.4.5";

/// The componentize-qjs command under `target/jsenv`, installed from npm on first use
/// (`scripts/test.sh` installs it before the tests).
fn componentize_qjs() -> PathBuf {
    let prefix = profile_dir().parent().expect("target dir").join("jsenv");
    let bin = prefix.join("node_modules/.bin/componentize-qjs");
    if !bin.is_file() {
        let installed = Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"])
            .arg("--prefix")
            .arg(&prefix)
            .arg(format!("componentize-qjs@{COMPONENTIZE_QJS}"))
            .status();
        assert!(installed.is_ok_and(|s| s.success()), "npm install componentize-qjs failed");
    }
    bin
}

/// The component built from `guest-examples/<name>/app.js` with componentize-qjs (QuickJS,
/// no WASI imports) and the helpers in `sdk/js`.
pub fn js_guest(name: &str) -> PathBuf {
    let out = profile_dir().parent().expect("target dir").join(format!("js-guests/{name}.wasm"));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let app = root().join("guest-examples").join(name).join("app.js");
    let status = Command::new(componentize_qjs())
        .current_dir(root())
        .args(["--wit", "wit", "--world", "migration-component", "--stub-wasi", "--sync"])
        .arg("--module-root")
        .arg(root())
        .arg("--js")
        .arg(app)
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run componentize-qjs");
    assert!(status.success(), "componentize-qjs failed for guest-examples/{name}");
    out
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
