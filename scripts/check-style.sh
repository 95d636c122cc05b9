#!/usr/bin/env bash
# House style checks; scripts/test.sh runs them before the tests, and they can run alone:
#   1. `dotnet format --verify-no-changes`: whitespace and code style as .editorconfig sets them.
#   2. C# lines are at most STYLE_MAX_LINE (140) characters. Files listed in scripts/line-length-baseline.txt may keep
#      the long lines they had when the rule came in, never more, so old code is wrapped as it is touched and new files
#      comply from their first line. Generated EF migrations are exempt.
# Usage: scripts/check-style.sh [--update-baseline]   (the option rewrites the baseline after lines were wrapped;
# it refuses to let a file's allowance grow).
# Settings: STYLE_MAX_LINE (140), STYLE_SKIP_FORMAT=1 skips step 1 (e.g. when only the line rule is wanted).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
max=${STYLE_MAX_LINE:-140}
status=0

if [[ ${STYLE_SKIP_FORMAT:-0} != 1 ]]; then
  if ! dotnet format CleanCrm.sln --verify-no-changes --no-restore --verbosity quiet; then
    echo "check-style: dotnet format would change files; run 'dotnet format CleanCrm.sln' and commit the result" >&2
    status=1
  fi
fi

read -r -d '' line_rule <<'PY' || true
import os
import sys

limit, baseline_path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
files = [f for f in sys.stdin.read().split("\0") if f and "/Migrations/" not in f and os.path.exists(f)]
long_lines = {}
for path in files:
    with open(path, encoding="utf-8") as handle:
        rows = [n for n, line in enumerate(handle, 1) if len(line.rstrip("\n")) > limit]
    if rows:
        long_lines[path] = rows

allowed = {}
if os.path.exists(baseline_path):
    with open(baseline_path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                count, path = line.split(" ", 1)
                allowed[path] = int(count)

if mode == "--update-baseline":
    first = not os.path.exists(baseline_path)
    grown = [] if first else [p for p, rows in long_lines.items() if len(rows) > allowed.get(p, 0)]
    if grown:
        print("check-style: refusing to grow the allowance of: " + ", ".join(sorted(grown)), file=sys.stderr)
        sys.exit(1)
    with open(baseline_path, "w", encoding="utf-8") as handle:
        handle.write(f"# C# files that still hold lines over {limit} characters from before the rule, and how many.\n")
        handle.write("# Written by scripts/check-style.sh --update-baseline; a count may only go down.\n")
        for path in sorted(long_lines):
            handle.write(f"{len(long_lines[path])} {path}\n")
    print(f"check-style: baseline rewritten ({sum(len(r) for r in long_lines.values())} legacy long lines left)")
    sys.exit(0)

failed = False
for path, rows in sorted(long_lines.items()):
    if len(rows) > allowed.get(path, 0):
        failed = True
        shown = ", ".join(str(r) for r in rows[:10])
        print(f"{path}: {len(rows)} lines over {limit} characters (allowed {allowed.get(path, 0)}): lines {shown}",
              file=sys.stderr)
if failed:
    print(f"check-style: wrap those lines to at most {limit} characters", file=sys.stderr)
    sys.exit(1)
PY

if ! git ls-files -z --cached --others --exclude-standard -- '*.cs' |
  python3 -c "$line_rule" "$max" scripts/line-length-baseline.txt "${1:-}"; then
  status=1
fi

exit "$status"
