//! The toolchains that build source migrations, at pinned versions, where godwit keeps them:
//! `$GODWIT_TOOLCHAINS`, else `toolchains/` in godwit's cache directory. godwit installs what
//! comes from a language registry (componentize-py from PyPI into a virtualenv,
//! componentize-qjs from npm into a prefix, wit-bindgen's C generator from crates.io, the
//! `wasm32-wasip2` Rust target with rustup); what only a system package manager provides
//! (python3, npm, clang with wasi-libc, a Rust toolchain) is named with the command that
//! installs it. No toolchain is needed to run a prebuilt `.wasm` migration.

use crate::guest_build::Language;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The componentize-py (PyPI) that builds Python migrations.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-qjs (npm) that builds JavaScript migrations.
pub const COMPONENTIZE_QJS: &str = "0.4.5";
/// The wit-bindgen-cli (crates.io, C generator only) that generates C migrations' bindings.
pub const WIT_BINDGEN_CLI: &str = "0.61.0";
/// The clang that compiles C migrations (its version must match Debian's wasi-libc build).
pub const CLANG: &str = "clang-19";

/// The Debian packages C migrations need from the system.
const C_PACKAGES: &str = "clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32";

/// How a missing tool gets installed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Install {
    /// godwit installs it: [`Toolchains::install`] for this language.
    Godwit(Language),
    /// The system provides it: this command (or the platform's equivalent) installs it.
    System(String),
}

/// A toolchain that is not there, or could not be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolchainError {
    #[error("{tool} is not installed; {language} migrations are built with it")]
    Missing { language: Language, tool: String, install: Install },
    #[error("installing {tool} failed:\n{output}")]
    InstallFailed { tool: String, output: String },
    #[error("no directory to install toolchains in")]
    NoDir,
}

/// One tool of a language's toolchain, as [`Toolchains::list`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolStatus {
    pub language: Language,
    /// `componentize-py 0.25.1`, `the wasm32-wasip2 target`, ...
    pub tool: String,
    /// Where it is, or why it is missing.
    pub found: Result<PathBuf, ToolchainError>,
}

/// Where the toolchains are installed (nowhere, by default: only what is on `PATH`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toolchains {
    dir: Option<PathBuf>,
}

impl Toolchains {
    pub fn at(dir: impl Into<PathBuf>) -> Toolchains {
        Toolchains { dir: Some(dir.into()) }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn under(&self, relative: &str) -> Result<PathBuf, ToolchainError> {
        self.dir.as_ref().map(|d| d.join(relative)).ok_or(ToolchainError::NoDir)
    }

    fn venv(&self) -> Result<PathBuf, ToolchainError> {
        self.under(&format!("componentize-py-{COMPONENTIZE_PY}"))
    }

    fn npm_prefix(&self) -> Result<PathBuf, ToolchainError> {
        self.under(&format!("componentize-qjs-{COMPONENTIZE_QJS}"))
    }

    fn bindgen_root(&self) -> Result<PathBuf, ToolchainError> {
        self.under(&format!("wit-bindgen-{WIT_BINDGEN_CLI}"))
    }

    fn installed(&self, language: Language, path: PathBuf) -> Result<PathBuf, ToolchainError> {
        match path.is_file() {
            true => Ok(path),
            false => Err(missing(language, &self.tool_name(language), Install::Godwit(language))),
        }
    }

    fn tool_name(&self, language: Language) -> String {
        match language {
            Language::Rust => "the wasm32-wasip2 Rust target".to_owned(),
            Language::Python => format!("componentize-py {COMPONENTIZE_PY}"),
            Language::JavaScript => format!("componentize-qjs {COMPONENTIZE_QJS}"),
            Language::C => format!("wit-bindgen {WIT_BINDGEN_CLI} (C generator)"),
        }
    }

    /// componentize-py, in its virtualenv.
    pub fn componentize_py(&self) -> Result<PathBuf, ToolchainError> {
        self.installed(Language::Python, self.venv()?.join("bin/componentize-py"))
    }

    /// componentize-qjs, in its npm prefix (it runs on node).
    pub fn componentize_qjs(&self) -> Result<PathBuf, ToolchainError> {
        find_on_path("node").ok_or_else(|| node_missing(Language::JavaScript))?;
        let bin = self.npm_prefix()?.join("node_modules/.bin/componentize-qjs");
        self.installed(Language::JavaScript, bin)
    }

    /// wit-bindgen with its C generator.
    pub fn wit_bindgen(&self) -> Result<PathBuf, ToolchainError> {
        self.installed(Language::C, self.bindgen_root()?.join("bin/wit-bindgen"))
    }

    /// What a C build needs from the system: clang, wasm-ld, wasi-libc and the compiler's
    /// runtime library for wasm32, and rustup's wasm-component-ld, which makes the component.
    pub fn c_system(&self) -> Result<CTools, ToolchainError> {
        let system = || missing(Language::C, "clang 19 with wasi-libc", system_c());
        let clang = find_on_path(CLANG).ok_or_else(system)?;
        let ask = |arg: &str| output(Command::new(&clang).arg(arg)).map(PathBuf::from);
        let llvm_bin = ask("-print-prog-name=clang")
            .and_then(|p| p.parent().map(Path::to_owned))
            .ok_or_else(system)?;
        let resource = ask("-print-resource-dir").ok_or_else(system)?;
        let needed = [
            llvm_bin.join("wasm-ld"),
            resource.join("lib/wasi/libclang_rt.builtins-wasm32.a"),
            PathBuf::from("/usr/lib/wasm32-wasi/libc.a"),
        ];
        if !needed.iter().all(|p| p.is_file()) {
            return Err(system());
        }
        let linker = rust_host_bin("wasm-component-ld").ok_or_else(|| {
            missing(Language::C, "wasm-component-ld (it comes with Rust)", rustup_install())
        })?;
        Ok(CTools { clang, llvm_bin, linker })
    }

    /// Whether rustc has the `wasm32-wasip2` target's standard library.
    pub fn rust_target(&self) -> Result<PathBuf, ToolchainError> {
        let rustc = find_on_path("rustc")
            .ok_or_else(|| missing(Language::Rust, "a Rust toolchain", rustup_install()))?;
        let mut command = Command::new(rustc);
        command.args(["--print", "target-libdir", "--target", "wasm32-wasip2"]);
        output(&mut command).map(PathBuf::from).filter(|dir| dir.is_dir()).ok_or_else(|| {
            missing(
                Language::Rust,
                &self.tool_name(Language::Rust),
                Install::Godwit(Language::Rust),
            )
        })
    }

    /// Every tool each language needs, found or not.
    pub fn list(&self) -> Vec<ToolStatus> {
        let status = |language, tool: String, found| ToolStatus { language, tool, found };
        let c = self.c_system();
        vec![
            status(Language::Rust, self.tool_name(Language::Rust), self.rust_target()),
            status(Language::Python, self.tool_name(Language::Python), self.componentize_py()),
            status(
                Language::JavaScript,
                self.tool_name(Language::JavaScript),
                self.componentize_qjs(),
            ),
            status(Language::C, self.tool_name(Language::C), self.wit_bindgen()),
            status(Language::C, "clang 19 with wasi-libc".to_owned(), c.clone().map(|t| t.clang)),
            status(Language::C, "wasm-component-ld".to_owned(), c.map(|t| t.linker)),
        ]
    }

    /// Installs what godwit installs for `language` (nothing happens for what is already
    /// there), then checks what the system must provide. The installers' output goes to
    /// `progress` line by line.
    pub fn install(
        &self,
        language: Language,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(), ToolchainError> {
        match language {
            Language::Rust => {
                if self.rust_target().is_err() {
                    let rustup = find_on_path("rustup")
                        .ok_or_else(|| missing(Language::Rust, "rustup", rustup_install()))?;
                    let mut command = Command::new(rustup);
                    command.args(["target", "add", "wasm32-wasip2"]);
                    run(&mut command, "the wasm32-wasip2 target", progress)?;
                }
                self.rust_target().map(drop)
            }
            Language::Python => {
                if self.componentize_py().is_err() {
                    let venv = self.venv()?;
                    let python = find_on_path("python3").ok_or_else(|| {
                        missing(Language::Python, "python3", system("python3 python3-venv"))
                    })?;
                    if !venv.join("bin/pip").is_file() {
                        let mut command = Command::new(python);
                        command.args(["-m", "venv"]).arg(&venv);
                        run(&mut command, "a Python virtualenv", progress)?;
                    }
                    let mut command = Command::new(venv.join("bin/pip"));
                    command
                        .args(["install", "--disable-pip-version-check"])
                        .arg(format!("componentize-py=={COMPONENTIZE_PY}"));
                    run(&mut command, &self.tool_name(language), progress)?;
                }
                self.componentize_py().map(drop)
            }
            Language::JavaScript => {
                if self.componentize_qjs().is_err() {
                    let npm =
                        find_on_path("npm").ok_or_else(|| node_missing(Language::JavaScript))?;
                    let mut command = Command::new(npm);
                    command
                        .args(["install", "--no-save", "--no-audit", "--no-fund"])
                        .arg("--prefix")
                        .arg(self.npm_prefix()?)
                        .arg(format!("componentize-qjs@{COMPONENTIZE_QJS}"));
                    run(&mut command, &self.tool_name(language), progress)?;
                }
                self.componentize_qjs().map(drop)
            }
            Language::C => {
                if self.wit_bindgen().is_err() {
                    find_on_path("cargo")
                        .ok_or_else(|| missing(Language::C, "cargo", rustup_install()))?;
                    let mut command = crate::guest_build::cargo();
                    command
                        .args(["install", "--locked", "--no-default-features", "--features", "c"])
                        .arg("--root")
                        .arg(self.bindgen_root()?)
                        .arg(format!("wit-bindgen-cli@{WIT_BINDGEN_CLI}"));
                    run(&mut command, &self.tool_name(language), progress)?;
                }
                self.wit_bindgen()?;
                self.c_system().map(drop)
            }
        }
    }
}

/// The system tools a C build runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CTools {
    pub clang: PathBuf,
    /// LLVM's bin directory, where clang finds `wasm-ld`.
    pub llvm_bin: PathBuf,
    /// wasm-component-ld, the linker that makes the component.
    pub linker: PathBuf,
}

fn missing(language: Language, tool: &str, install: Install) -> ToolchainError {
    ToolchainError::Missing { language, tool: tool.to_owned(), install }
}

fn system(packages: &str) -> Install {
    Install::System(format!("sudo apt-get install {packages}"))
}

fn system_c() -> Install {
    system(C_PACKAGES)
}

pub(crate) fn rustup_install() -> Install {
    Install::System("curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".to_owned())
}

fn node_missing(language: Language) -> ToolchainError {
    missing(language, "Node.js (node and npm)", system("nodejs npm"))
}

/// `name` in a directory of `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A tool in the host's directory of the active Rust toolchain, like `wasm-component-ld`.
fn rust_host_bin(name: &str) -> Option<PathBuf> {
    let rustc = find_on_path("rustc")?;
    let sysroot = output(Command::new(&rustc).args(["--print", "sysroot"]))?;
    let host = output(Command::new(&rustc).args(["--print", "host-tuple"]))?;
    let path = Path::new(&sysroot).join("lib/rustlib").join(host).join("bin").join(name);
    path.is_file().then_some(path)
}

/// The first line a command prints, when it succeeds.
fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Runs an installer, its output going to `progress`; a failure carries the output's end.
fn run(
    command: &mut Command,
    tool: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ToolchainError> {
    crate::guest_build::run::run(command, progress)
        .map_err(|output| ToolchainError::InstallFailed { tool: tool.to_owned(), output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_not_installed_says_how_to_get_it() {
        let empty = tempfile::tempdir().unwrap();
        let toolchains = Toolchains::at(empty.path());
        let error = toolchains.componentize_py().unwrap_err();
        assert_eq!(
            error,
            ToolchainError::Missing {
                language: Language::Python,
                tool: "componentize-py 0.25.1".to_owned(),
                install: Install::Godwit(Language::Python),
            }
        );
        assert_eq!(
            error.to_string(),
            "componentize-py 0.25.1 is not installed; Python migrations are built with it"
        );
        assert!(toolchains.wit_bindgen().is_err());
        assert!(Toolchains { dir: None }.componentize_py() == Err(ToolchainError::NoDir));
    }
}
