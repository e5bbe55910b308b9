//! The documentation's commands, as written: every shell block of `README.md` and
//! `docs/*.md` whose fence says `sh runnable` runs in a fresh directory, with the `godwit`
//! under test first on `PATH`, and must succeed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The runnable blocks of a Markdown text: the line each starts on, and its script.
fn runnable_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```sh runnable" => current = Some((index + 2, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, script)) => {
                script.push_str(line);
                script.push('\n');
            }
        }
    }
    blocks
}

fn documents() -> Vec<PathBuf> {
    let root = godwit_tests::root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn run(file: &Path, line: usize, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bin = godwit_tests::godwit_bin().parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = Command::new("bash")
        .args(["-e", "-u", "-o", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.path().join(".cache"))
        .env_remove("DATABASE_URL")
        .env_remove("GODWIT_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}:{line}: the block failed\n--- script\n{script}--- stdout\n{}--- stderr\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn runnable_blocks_of_the_documentation_work_as_written() {
    let mut ran = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, script) in runnable_blocks(&text) {
            run(&file, line, &script);
            ran.push(format!("{}:{line}", file.display()));
        }
    }
    assert!(ran.len() >= 2, "only {ran:?} ran");
}

#[test]
fn blocks_are_found_with_their_lines() {
    let text = "intro\n```sh runnable\ngodwit up\n```\n```sh\nnot this\n```\n";
    assert_eq!(runnable_blocks(text), [(3, "godwit up\n".to_owned())]);
}
