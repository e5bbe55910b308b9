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

/// The commands and options `godwit --help` lists, and each command's (and subcommand's).
fn help(args: &[&str]) -> String {
    let output = Command::new(godwit_tests::godwit_bin())
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "godwit {args:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The names in the `Commands:` section of a help text, without `help`.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("    "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect()
}

/// Every `--option` a help text names.
fn options(help: &str) -> Vec<String> {
    let mut options: Vec<String> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '`')
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned())
        .filter(|word| word != "--help" && word != "--version")
        .collect();
    options.sort();
    options.dedup();
    options
}

/// Whether `text` names `option` as itself, not as the start of a longer one.
fn names_option(text: &str, option: &str) -> bool {
    text.match_indices(option).any(|(at, _)| {
        let next = text[at + option.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// docs/cli.md is the reference of the command: every command and subcommand `godwit --help`
/// lists has its `godwit <command>` there, and every option its `--option`.
#[test]
fn the_command_reference_covers_every_command_and_option() {
    let text = std::fs::read_to_string(godwit_tests::root().join("docs/cli.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let help = help(&args);
        if !path.is_empty() && !text.contains(&format!("`godwit {}", path.join(" "))) {
            let alone = path.len() > 1 && text.contains(&format!("\\| {} ", path[path.len() - 1]));
            if !alone {
                missing.push(format!("godwit {}", path.join(" ")));
            }
        }
        for option in options(&help) {
            checked += 1;
            if !names_option(&text, &option) {
                missing.push(format!("{option} (of godwit {})", path.join(" ")));
            }
        }
        for command in commands(&help) {
            queue.push(path.iter().cloned().chain([command]).collect());
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "docs/cli.md lacks {missing:#?}");
    assert!(checked > 100, "only {checked} options were checked");
}
