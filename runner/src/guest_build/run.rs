//! Running a build tool or an installer: its output, stdout and stderr together, goes to the
//! caller line by line as the tool writes it, and a failure comes back with the output's end.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// How many of the last lines a failure keeps.
const TAIL: usize = 60;

/// Runs `command`; each line it prints goes through `rewrite` (to name a user's files
/// instead of a staged copy, say) and then to `progress`.
pub(crate) fn run_with(
    command: &mut Command,
    rewrite: &dyn Fn(&str) -> String,
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let (sender, lines) = mpsc::channel();
    let readers: Vec<Box<dyn Read + Send>> = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Both pipes are read on threads of their own: a tool blocks once a pipe nobody reads is
    // full. The lines come back here, where `progress` lives.
    let threads: Vec<_> = readers
        .into_iter()
        .map(|reader| {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let mut tail = std::collections::VecDeque::new();
    for line in lines {
        let line = rewrite(&line);
        progress(&line);
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for thread in threads {
        let _ = thread.join();
    }
    let status = child.wait().map_err(|e| format!("{program}: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => {
            let mut output = Vec::from(tail).join("\n");
            if output.trim().is_empty() {
                output = format!("{program} exited with {status} and printed nothing");
            }
            Err(output)
        }
    }
}

/// [`run_with`], lines as the tool wrote them.
pub(crate) fn run(command: &mut Command, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    run_with(command, &|line| line.to_owned(), progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_streams_and_a_failure_keeps_it() {
        let mut seen = Vec::new();
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; echo two >&2; exit 3"]);
        let error =
            run_with(&mut command, &|l| l.replace("one", "1"), &mut |l| seen.push(l.to_owned()))
                .unwrap_err();
        seen.sort();
        assert_eq!(seen, ["1", "two"]);
        assert!(error.contains('1') && error.contains("two"), "{error}");
        let mut quiet = Command::new("sh");
        quiet.args(["-c", "exit 0"]);
        assert_eq!(run(&mut quiet, &mut |_| {}), Ok(()));
        let missing = run(&mut Command::new("/nonexistent/tool"), &mut |_| {}).unwrap_err();
        assert!(missing.starts_with("cannot run /nonexistent/tool"), "{missing}");
    }
}
