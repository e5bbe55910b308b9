#!/usr/bin/env python3
"""The engine's floors: each room of runner/src may import rooms on its own floor or below,
never above, and no two rooms import each other, even through others. Run by .ci/run; the
floors are described in docs/internals.md ("Floors").

A room is a top-level module (`driver`, `history`, ...). An import is any `crate::room` path
outside comments and test modules; a name the crate root re-exports counts as its room's."""
import os, re, sys

FLOORS = [
    # the bottom: small shared values and text helpers (and the crate root's constants)
    ["text", "version", "checksum", "stream", "contract", "locks", "lib"],
    # the outside world: databases, and building guests with their toolchains
    ["driver", "guest_build"],
    # the WebAssembly sandbox, over the driver
    ["wasm"],
    # the resolved migration, a value every room above works with
    ["migration"],
    # the rooms: where migrations come from, what ran, what to run, transforms' state
    ["source", "pack", "lock_file", "history", "status", "plan", "transforms", "lint", "schema", "fleet"],
    # what gathers the rooms: the engine's error and its events
    ["error", "report"],
    # one run: its context, a step's transaction, statements and guest calls
    ["run"],
    # the batch loop and the worker of batched migrations, which run steps as the migrator does
    ["transforms::batch_loop", "transforms::worker"],
    # the algorithm
    ["migrator"],
]
# Rooms that hold a room of a higher floor: `transforms/` keeps its state and policy beside
# the history, and its batch loop and worker above the run.
SPLIT = {"transforms": {"batch_loop", "worker"}}
FLOOR = {room: n for n, rooms in enumerate(FLOORS) for room in rooms}

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runner", "src")
lib = open(os.path.join(root, "lib.rs")).read()
exported = {}
for m in re.finditer(r"pub use (\w+)(?:::\w+)*::(\{[^}]*\}|\w+);", lib, re.S):
    for name in re.findall(r"\w+", m.group(2)):
        exported[name] = m.group(1)


def code(text):
    """The text without test modules and comments."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    text = text[: cut.start()] if cut else text
    return re.sub(r"//[^\n]*", "", text)


def names(tree):
    """The first segment of each path of a `{a, b::c, d::{e}}` use tree."""
    out, depth, word = [], 0, ""
    for ch in tree.strip()[1:-1] + ",":
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            m = re.match(r"\s*(\w+)", word)
            if m:
                out.append(m.group(1))
            word = ""
        else:
            word += ch
    return out


def tree(text, start):
    """The `{...}` use tree that opens at `start`."""
    depth, end = 0, start
    while True:
        depth += text[end] == "{"
        depth -= text[end] == "}"
        if depth == 0:
            return text[start : end + 1]
        end += 1


def room_of(name):
    return exported.get(name, name if name in FLOOR or not name[:1].isupper() else "lib")


imports = {}  # (from, to) -> a file that does it
rooms = set()
for folder, _, files in os.walk(root):
    for file in sorted(files):
        if not file.endswith(".rs"):
            continue
        path = os.path.join(folder, file)
        rel = os.path.relpath(path, root)
        parts = rel[:-3].split(os.sep)
        if parts[-1] in ("mod", "lib"):
            parts = parts[:-1]
        if "tests" in parts:
            continue
        me = parts[0] if parts else "lib"
        if len(parts) > 1 and parts[1] in SPLIT.get(me, ()):
            me = f"{me}::{parts[1]}"
        rooms.add(me)
        text = code(open(path).read())
        for m in re.finditer(r"crate::(\{|\w+)(::\{|::\w+)?", text):
            first, inner = m.group(1), m.group(2) or ""
            if first == "{":
                targets = names(tree(text, m.end() - 1))
            elif first in SPLIT and inner.startswith("::{"):
                subs = names(tree(text, m.end() - 1))
                targets = [f"{first}::{sub}" if sub in SPLIT[first] else first for sub in subs]
            elif inner[2:] in SPLIT.get(first, ()):
                targets = [f"{first}::{inner[2:]}"]
            else:
                targets = [first]
            for target in map(room_of, targets):
                if target != me and me != "lib":
                    imports.setdefault((me, target), rel)

failures = []
for room in sorted(rooms | {t for _, t in imports}):
    if room not in FLOOR:
        failures.append(f"runner/src/{room}: a room on no floor; add it to FLOORS in scripts/floors.py and to docs/internals.md")
for (me, target), rel in sorted(imports.items()):
    if me in FLOOR and target in FLOOR and FLOOR[target] > FLOOR[me]:
        failures.append(
            f"runner/src/{rel}: `{me}` (floor {FLOOR[me]}) imports `{target}` (floor {FLOOR[target]}), a higher floor"
        )
# No circle, even within a floor.
graph = {}
for me, target in imports:
    graph.setdefault(me, set()).add(target)
state = {}


def visit(room, trail):
    state[room] = 1
    for target in sorted(graph.get(room, ())):
        if state.get(target) == 1:
            circle = trail[trail.index(target):] + [target] if target in trail else [room, target]
            failures.append("rooms importing each other: " + " -> ".join(circle))
        elif target not in state:
            visit(target, trail + [target])
    state[room] = 2


for room in sorted(graph):
    if room not in state:
        visit(room, [room])
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"floors: {len(rooms)} rooms on {len(FLOORS)} floors, every import points down")
