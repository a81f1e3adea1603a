#!/usr/bin/env bash
# The house's numbers for a tree (default: this checkout): files and lines under src/ and per
# folder, where SQL, pg and the NATS client are used outside their homes, long files and bare
# Errors. Issue 18 asks for them before and after a change; run it on two checkouts to compare.
#   bash scripts/house-numbers.sh [repo-dir]
set -euo pipefail
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"
mapfile -t files < <(find src -name '*.ts' | sort)
echo "files under src/: ${#files[@]}, lines: $(cat "${files[@]}" | wc -l)"
for d in src/*/; do
  printf '%s %s/%s  ' "$(basename "$d")" "$(find "$d" -name '*.ts' | wc -l)" "$(find "$d" -name '*.ts' -exec cat {} + | wc -l)"
done
echo
echo "files with SQL outside src/store/: $(grep -rlE '\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)\b' src | grep -vc '^src/store' || true)"
echo "files importing pg outside src/store/: $(grep -rl "from 'pg'" src | grep -vc '^src/store' || true)"
echo "files importing @nats-io outside src/bus/: $(grep -rlE "from '@nats-io/" src | grep -vc '^src/bus' || true)"
echo "files over 250 lines: $(wc -l "${files[@]}" | awk '$1 > 250 && $2 != "total" { printf "%s (%s) ", $2, $1 }')"
echo "bare new Error in src/: $(grep -rn 'new Error(' src --include='*.ts' | wc -l)"
