#!/usr/bin/env python3
"""The layer rule, checked: every #include "LAYER/..." in src/<layer>/ names its own layer or one below it.

"Below" is read from CMakeLists.txt (each `r1_module(name deps...)` line: one static library per layer and the
libraries it links), closed transitively, so the build and this check use one diagram. src/cli/ may include any
layer. Prints one line per offending include and exits 1 if there is any; otherwise prints the diagram."""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cmake = open(os.path.join(root, "CMakeLists.txt")).read()
deps = {}
for name, rest in re.findall(r"^r1_module\((\w+)\s+([^)]*)\)", cmake, re.M):
    deps[name] = [d[3:] for d in rest.split() if d.startswith("r1_")]


def below(layer, seen=None):
    seen = set() if seen is None else seen
    for d in deps.get(layer, []):
        if d not in seen:
            seen.add(d)
            below(d, seen)
    return seen


bad = []
src = os.path.join(root, "src")
for layer in sorted(os.listdir(src)):
    if not os.path.isdir(os.path.join(src, layer)) or layer == "cli":
        continue
    if layer not in deps:
        bad.append(f"src/{layer}/: a folder that CMakeLists.txt does not declare with r1_module")
        continue
    allowed = below(layer) | {layer}
    for dirpath, _, files in os.walk(os.path.join(src, layer)):
        for f in files:
            if not f.endswith((".h", ".cpp", ".inc")):
                continue
            path = os.path.join(dirpath, f)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = re.match(r'\s*#\s*include\s+"([A-Za-z_]+)/', line)
                if m and m.group(1) in deps and m.group(1) not in allowed:
                    rel = os.path.relpath(path, root)
                    bad.append(f"{rel}:{n}: includes {m.group(1)}/, which is not below {layer} "
                               f"(allowed: {', '.join(sorted(allowed))})")
for b in bad:
    print(b)
if bad:
    sys.exit(1)
for layer in deps:
    print(f"{layer:10s} -> {', '.join(deps[layer]) or '(none)'}")
print("every include follows the layers")
