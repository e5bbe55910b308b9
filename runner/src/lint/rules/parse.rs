//! Statements parsed ahead of the rules, on several threads: the parse is most of what
//! linting costs, and each statement parses on its own.

use squawk_syntax::{Parse, SourceFile};

/// Each statement parsed, in order, on as many threads as the machine has (up to four): the
/// parse is most of what linting costs, and statements parse independently.
pub(in crate::lint) fn parse_all(statements: &[&str]) -> Vec<Parse<SourceFile>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if threads < 2 || statements.len() < 64 {
        return statements.iter().map(|sql| SourceFile::parse(sql)).collect();
    }
    let chunk = statements.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parsing: Vec<_> = statements
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|sql| SourceFile::parse(sql)).collect::<Vec<_>>()
                })
            })
            .collect();
        parsing.into_iter().flat_map(|thread| thread.join().unwrap_or_default()).collect()
    })
}
