#!/usr/bin/env bash
# The code's shape, as issue 14 states it: source files over 700 lines (kernels/ excepted) and functions over 120
# lines (clang-tidy readability-function-size over build/compile_commands.json). Arguments: files or folders to
# check (default: src). Prints one line per finding; exits 1 when there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
paths=("$@"); [ ${#paths[@]} -eq 0 ] && paths=(src)
found=0
files=$(find "${paths[@]}" -name '*.cpp' -o -name '*.h' | sort)
for f in $files; do
  n=$(wc -l < "$f")
  case "$f" in src/kernels/*) continue;; esac
  if [ "$n" -gt 700 ]; then echo "file $f: $n lines (limit 700)"; found=1; fi
done
[ -f build/compile_commands.json ] || { echo "check_shape: build/compile_commands.json missing (run scripts/build.sh)"; exit 2; }
cpps=$(echo "$files" | grep '\.cpp$' | grep -v '^src/kernels/' || true)
[ -z "$cpps" ] && exit $found
out=$(printf '%s\n' $cpps | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet -checks='-*,readability-function-size' \
  -config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 120}]}' 2>/dev/null)
fl=$(echo "$out" | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
seen = set()
for i, l in enumerate(lines):
    m = re.match(r"(\S+?):(\d+):\d+: warning: function (.+?) exceeds", l)
    if not m: continue
    for n in lines[i + 1:i + 4]:
        k = re.search(r"(\d+) lines including", n)
        if k:
            key = (m.group(1), m.group(2))
            if key not in seen:
                seen.add(key)
                print("function %s at %s:%s: %s lines (limit 120)" % (m.group(3), m.group(1).replace("'"$PWD"'/", ""), m.group(2), k.group(1)))
            break
')
if [ -n "$fl" ]; then echo "$fl"; found=1; fi
exit $found
