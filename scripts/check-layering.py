#!/usr/bin/env python3
"""The analyzer's pipeline runs one way: no file includes a header of a
stage downstream of its own. Each file's stage is given below by folder or
name; a quoted #include of a later stage is reported and fails the check.

    scripts/check-layering.py [ANALYZER_SRC_DIR]
"""
import pathlib
import re
import sys

# Stages, upstream first. A file belongs to the first pattern it matches.
STAGES = [
    ("model", [r"^syscall_table\.inc$", r"^util\.hpp$", r"^log\.cpp$", r"^interned\.cpp$", r"^model(_json)?\.(c|h)pp$",
               r"^syscalls\.(c|h)pp$", r"^threadleak/"]),
    ("capture", [r"^source/", r"^target\.hpp$", r"^dwfl_setup\.cpp$", r"^golang/go_(dwarf|image|layout|reader|sema|types|globals|stripped|capture|symbols)\.",
                 r"^golang/(moduledata|pclntab|proc_memory|goroutines|go_pcln_symbols)\."]),
    ("unwind", [r"^unwind\.", r"^fast_unwind\."]),
    ("symbolize", [r"^symbolize\.", r"^symbol_preload\.", r"^scope_index\.", r"^golang/go_symbolize\."]),
    ("classify", [r"^classify\.", r"^golang/go_snapshot\."]),
    ("group", [r"^group\.cpp$", r"^fingerprint\.cpp$"]),
    ("diff", [r"^diff\.cpp$", r"^expect\.cpp$", r"^series\.cpp$", r"^ignore\.hpp$", r"^activity\.(c|h)pp$"]),
    ("hang", [r"^hang/"]),
    ("report", [r"^report/"]),
    ("orchestration", [r"^capture\.cpp$"]),
]
RANK = {name: i for i, (name, _) in enumerate(STAGES)}


def stage_of(rel):
    for name, patterns in STAGES:
        if any(re.search(p, rel) for p in patterns):
            return name
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "analyzer/src")
    include_root = root.parent / "include"
    problems, unplaced = [], []
    files = [p for p in root.rglob("*") if p.suffix in (".cpp", ".hpp")]
    files += [p for p in include_root.rglob("*.hpp")]
    for path in sorted(files):
        rel = str(path.relative_to(include_root if include_root in path.parents else root))
        mine = stage_of(rel)
        if mine is None:
            unplaced.append(rel)
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            theirs = stage_of(m.group(1))
            if theirs is None:
                unplaced.append(f"{m.group(1)} (included by {rel})")
            elif RANK[theirs] > RANK[mine]:
                problems.append(f"{rel}:{n}: {mine} includes {m.group(1)} ({theirs}, downstream)")
    for u in sorted(set(unplaced)):
        problems.append(f"{u}: in no stage (add it to scripts/check-layering.py)")
    for p in problems:
        print(p)
    print(f"check-layering: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
