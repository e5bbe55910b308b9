#!/usr/bin/env python3
"""The engine's files and functions stay small enough to read: no file of runner/src over 400
lines, no function over 100 (test modules included in the file count, a function counted
from its `fn` line to its closing brace). Run by .ci/run."""
import os, re, sys

FILE_LINES, FN_LINES = 400, 100
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runner", "src")
failures = []
for folder, _, files in os.walk(root):
    for file in sorted(files):
        if not file.endswith(".rs"):
            continue
        path = os.path.join(folder, file)
        rel = os.path.relpath(path, os.path.join(root, "..", ".."))
        lines = open(path).read().split("\n")
        if len(lines) > FILE_LINES:
            failures.append(f"{rel}: {len(lines)} lines (at most {FILE_LINES}): split what it holds")
        at = 0
        while at < len(lines):
            m = re.match(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?fn\s+(\w+)", lines[at])
            if not m:
                at += 1
                continue
            depth, opened, end = 0, False, at
            while end < len(lines):
                code = re.sub(r"//.*", "", lines[end])
                depth += code.count("{") - code.count("}")
                opened |= "{" in code
                if (opened and depth <= 0) or (not opened and code.rstrip().endswith(";")):
                    break
                end += 1
            length = end - at + 1
            if opened and length > FN_LINES:
                failures.append(f"{rel}:{at + 1}: fn {m.group(4)} is {length} lines (at most {FN_LINES})")
            at = end + 1 if opened else at + 1
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"sizes: every file of the engine within {FILE_LINES} lines, every function within {FN_LINES}")
