#!/usr/bin/env bash
# Time and peak memory of the CLI's help and of `brainct run`'s import baseline, here and (optionally) in an older checkout:
#   tools/cli_imports.sh [OLD_CHECKOUT]  -> a Markdown table on stdout (bench_results/cli_imports_<date>.md)
set -euo pipefail
cd "$(dirname "$0")/.."; PY=$PWD/.venv/bin/python
row() { local what=$1 dir=$2 code=$3; local out
  out=$(cd "$dir" && { /usr/bin/time -f '%e %M' "$PY" -W ignore -c "$code" > /dev/null; } 2>&1 | tail -1)
  echo "| $what | ${out% *} | $(( ${out#* } / 1024 )) |"; }
echo "| measure | seconds | peak RSS, MB |"; echo "|---|---|---|"
HELP="import sys; sys.argv = ['brainct', 'run', '--help']; from brainct_nb.cli import main; main()"
row "brainct run --help, this version" . "$HELP" || true
row "import baseline of brainct run (brainct_nb.pipeline), this version" . "import brainct_nb.pipeline"
if [ -n "${1:-}" ]; then
  row "brainct run --help, $(git -C "$1" log -1 --format=%cs) version" "$1" "$HELP" || true
  row "import baseline of brainct run, $(git -C "$1" log -1 --format=%cs) version" "$1" "import brainct_nb.pipeline"
fi
