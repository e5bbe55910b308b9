//! Python, JavaScript and C migrations. Each is built in a staging directory of the cache,
//! never in the migration's own directory, against the carried SDK, and the component is
//! kept in the cache under a key of everything that went into it (the language, the source
//! checksum, the SDK's fingerprint, the tool's version): a directory whose sources did not
//! change is not built again, and a godwit whose SDK or contract changed builds it anew.
//!
//! - Python: `migration.py` defines `class Migration(godwit.Migration)`; componentize-py
//!   builds the module `migration` with the directory and the SDK's `godwit.py` on its path.
//! - JavaScript: `migration.js` exports `migration = define({...})` and imports from
//!   `"godwit"`, which resolves to the SDK's module; componentize-qjs builds it with no WASI
//!   imports (`--stub-wasi`) on the synchronous ABI (`--sync`).
//! - C: every `.c` file at the top of the directory, with the SDK's `godwit.c` and the
//!   bindings wit-bindgen generates, compiled by clang for `wasm32-wasi` and linked by
//!   wasm-component-ld into a component.

use super::run::run_with;
use super::{BuildError, BuildMode, Builder, Language, sdk::SdkDir};
use crate::checksum::Checksum;
use crate::guest_build::toolchain::{CLANG, COMPONENTIZE_PY, COMPONENTIZE_QJS, WIT_BINDGEN_CLI};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a build runs on, in its staging directory.
struct Job<'a> {
    dir: &'a Path,
    staging: &'a Path,
    sdk: SdkDir,
    out: PathBuf,
}

pub(super) fn component(
    dir: &Path,
    language: Language,
    checksum: &Checksum,
    builder: &Builder,
    progress: &mut dyn FnMut(super::BuildProgress<'_>),
) -> Result<PathBuf, BuildError> {
    let cache = builder.cache.as_deref().ok_or(BuildError::NoCache)?.join("builds");
    let artifact = cache.join(format!("{}-{}.wasm", language.name(), key(language, checksum)));
    if artifact.is_file() {
        return Ok(artifact);
    }
    if builder.mode == BuildMode::NoBuild {
        return Err(BuildError::NotBuilt(artifact));
    }
    // A missing toolchain is reported before anything says a build started.
    match language {
        Language::Python => drop(builder.toolchains.componentize_py()?),
        Language::JavaScript => drop(builder.toolchains.componentize_qjs()?),
        _ => drop((builder.toolchains.wit_bindgen()?, builder.toolchains.c_system()?)),
    }
    progress(super::BuildProgress::Started(language));
    let io = |e: std::io::Error| BuildError::Io(format!("{}: {e}", cache.display()));
    std::fs::create_dir_all(&cache).map_err(io)?;
    let staging = tempfile::Builder::new().prefix(".build-").tempdir_in(&cache).map_err(io)?;
    let job = Job {
        dir,
        staging: staging.path(),
        sdk: builder.sdk()?,
        out: staging.path().join("out.wasm"),
    };
    match language {
        Language::Python => python(&job, builder)?,
        Language::JavaScript => javascript(&job, builder)?,
        Language::C => c(&job, builder)?,
        Language::Rust => unreachable!("cargo builds Rust migrations"),
    }
    if !job.out.is_file() {
        let output = format!("the build wrote no component to {}", job.out.display());
        return Err(BuildError::Failed { language, output });
    }
    std::fs::rename(&job.out, &artifact).map_err(io)?;
    Ok(artifact)
}

/// The cache key of a build: everything that decides what it produces.
fn key(language: Language, checksum: &Checksum) -> String {
    let tool = match language {
        Language::Python => COMPONENTIZE_PY,
        Language::JavaScript => COMPONENTIZE_QJS,
        _ => CLANG,
    };
    let text = format!(
        "{}\0{checksum}\0{}\0{tool}\0{WIT_BINDGEN_CLI}",
        language.name(),
        super::sdk::fingerprint()
    );
    Sha256::digest(text.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Runs a build tool. Its lines are not shown as it works (the caller shows that a build
/// runs); a failure carries them, naming the migration's files rather than their staged
/// copies.
fn tool(job: &Job<'_>, language: Language, command: &mut Command) -> Result<(), BuildError> {
    let src = job.staging.join("src");
    let rewrite = |line: &str| name_sources(line, &src, job.dir, language);
    command.current_dir(job.staging).env("RUST_BACKTRACE", "0").env_remove("RUST_LIB_BACKTRACE");
    run_with(command, &rewrite, &mut |_| {}).map_err(|output| {
        // componentize-qjs's banner says what it was asked, not what went wrong.
        let banner = ["componentize-qjs", "  WIT:", "  JS:", "  Output:", "Stubbing WASI"];
        let lines: Vec<_> =
            output.lines().filter(|l| !banner.iter().any(|b| l.starts_with(b))).collect();
        BuildError::Failed { language, output: lines.join("\n").trim().to_owned() }
    })
}

/// A tool's line with the staged copy's paths turned into the migration's: the staging
/// directory itself, and the roots the tools give it inside their sandboxes (`/0/` for
/// componentize-py's first path, `/` for componentize-qjs's module root).
fn name_sources(line: &str, src: &Path, dir: &Path, language: Language) -> String {
    let original = dir.display().to_string();
    let mut line = line.replace(&src.display().to_string(), &original);
    if let Ok(absolute) = std::path::absolute(dir)
        && absolute != dir
    {
        line = line.replace(&absolute.display().to_string(), &original);
    }
    let root = match language {
        Language::Python => "/0/",
        Language::JavaScript => "/",
        _ => return line,
    };
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(at) = rest.find(root) {
        let before = rest[..at].chars().last();
        let after = &rest[at + root.len()..];
        let file: String =
            after.chars().take_while(|c| !c.is_whitespace() && !"'\":),".contains(*c)).collect();
        out.push_str(&rest[..at]);
        let starts_a_path = before.is_none_or(|c| c.is_whitespace() || "'\"(".contains(c));
        if starts_a_path && !file.is_empty() && src.join(&file).is_file() {
            out.push_str(&original);
            out.push('/');
        } else {
            out.push_str(root);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Copies the migration's sources (what its checksum covers, plus `node_modules/`) to
/// `staging/src`.
fn stage(job: &Job<'_>, keep_node_modules: bool) -> Result<PathBuf, BuildError> {
    let target = job.staging.join("src");
    copy_tree(job.dir, &target, true, keep_node_modules)
        .map_err(|e| BuildError::Io(format!("cannot copy {}: {e}", job.dir.display())))?;
    Ok(target)
}

fn copy_tree(from: &Path, to: &Path, top: bool, node_modules: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if super::ignored(&text, top) && !(node_modules && text == "node_modules") {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        match entry.file_type()?.is_dir() {
            true => copy_tree(&source, &target, false, node_modules)?,
            false => drop(std::fs::copy(&source, &target)?),
        }
    }
    Ok(())
}

fn python(job: &Job<'_>, builder: &Builder) -> Result<(), BuildError> {
    let componentize = builder.toolchains.componentize_py()?;
    check_syntax(job, &componentize)?;
    let src = stage(job, false)?;
    let mut command = Command::new(componentize);
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("-d")
        .arg(job.sdk.wit())
        .args(["-w", "migration-component", "componentize", "migration", "-p"])
        .arg(&src)
        .arg("-p")
        .arg(job.sdk.python())
        .arg("-o")
        .arg(&job.out);
    tool(job, Language::Python, &mut command)
}

/// Parses every Python file of the migration with the toolchain's Python first: a syntax
/// error then reads as Python prints it, with the file and line, and nothing else.
fn check_syntax(job: &Job<'_>, componentize: &Path) -> Result<(), BuildError> {
    const CHECK: &str = "import ast, sys, traceback\n\
        for path in sys.argv[1:]:\n\
        \x20   try:\n\
        \x20       ast.parse(open(path, 'rb').read(), path)\n\
        \x20   except SyntaxError as e:\n\
        \x20       print(''.join(traceback.format_exception_only(e)).rstrip())\n\
        \x20       sys.exit(1)\n";
    let mut files = Vec::new();
    super::collect(job.dir, job.dir, &mut files)
        .map_err(|e| BuildError::Io(format!("cannot read {}: {e}", job.dir.display())))?;
    let python = componentize.with_file_name("python");
    let mut command = Command::new(python);
    command.env("PYTHONDONTWRITEBYTECODE", "1").arg("-c").arg(CHECK);
    command.args(files.iter().filter(|f| f.ends_with(".py")).map(|f| job.dir.join(f)));
    run_with(&mut command, &|line| line.to_owned(), &mut |_| {})
        .map_err(|output| BuildError::Failed { language: Language::Python, output })
}

fn javascript(job: &Job<'_>, builder: &Builder) -> Result<(), BuildError> {
    let componentize = builder.toolchains.componentize_qjs()?;
    let src = stage(job, true)?;
    // `import ... from "godwit"` resolves to the carried module, whatever node_modules holds.
    let package = src.join("node_modules/godwit");
    let io = |e: std::io::Error| BuildError::Io(format!("{}: {e}", package.display()));
    std::fs::create_dir_all(&package).map_err(io)?;
    std::fs::copy(job.sdk.js_module(), package.join("index.js")).map_err(io)?;
    let manifest = r#"{"name":"godwit","type":"module","main":"index.js"}"#;
    std::fs::write(package.join("package.json"), manifest).map_err(io)?;
    let mut command = Command::new(componentize);
    command
        .arg("--wit")
        .arg(job.sdk.wit())
        .args(["--world", "migration-component", "--stub-wasi", "--sync", "--module-root"])
        .arg(&src)
        .arg("--js")
        .arg(src.join(Language::JavaScript.marker()))
        .arg("-o")
        .arg(&job.out);
    tool(job, Language::JavaScript, &mut command)
}

fn c(job: &Job<'_>, builder: &Builder) -> Result<(), BuildError> {
    let bindgen = builder.toolchains.wit_bindgen()?;
    let system = builder.toolchains.c_system()?;
    let generated = job.staging.join("gen");
    let mut command = Command::new(bindgen);
    command
        .arg("c")
        .arg(job.sdk.wit())
        .args(["--world", "migration-component", "--out-dir"])
        .arg(&generated);
    tool(job, Language::C, &mut command)?;
    // clang runs in the staging directory: the sources are named by absolute paths.
    let dir = std::path::absolute(job.dir)
        .map_err(|e| BuildError::Io(format!("{}: {e}", job.dir.display())))?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| BuildError::Io(format!("cannot read {}: {e}", job.dir.display())))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c") && p.is_file())
        .collect();
    sources.sort();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(system.llvm_bin.clone()).chain(std::env::split_paths(&path)),
    )
    .map_err(|e| BuildError::Io(e.to_string()))?;
    let mut command = Command::new(&system.clang);
    command
        // wasm-component-ld runs wasm-ld, LLVM's, to link the module first.
        .env("PATH", path)
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-mexec-model=reactor", "-O2"])
        .args(["-Wall", "-Wno-unused-parameter"])
        .arg(format!("-I{}", job.sdk.c().display()))
        .arg(format!("-I{}", generated.display()))
        .arg(format!("-I{}", dir.display()))
        .args(&sources)
        .arg(job.sdk.c().join("godwit.c"))
        .arg(generated.join("migration_component.c"))
        .arg(generated.join("migration_component_component_type.o"))
        .arg(format!("-fuse-ld={}", system.linker.display()))
        .arg("-o")
        .arg(&job.out);
    tool(job, Language::C, &mut command)
}
