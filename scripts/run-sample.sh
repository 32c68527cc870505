#!/usr/bin/env bash
# `make run`: delivers the bundled sample exports (examples/landing) one version at a time, as
# the reference pipeline's README uploads them, and runs snapdelta after each delivery with its
# embedded defaults (local landing folder, SQLite registry, change files).
set -euo pipefail
bin=${1:-build/snapdelta}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/sample
rm -rf "$work"
mkdir -p "$work/landing"
cd "$root/examples/landing"
for version_dir in $(find . -mindepth 3 -maxdepth 3 -type d | sort); do
  echo "== delivering ${version_dir#./}"
  mkdir -p "$work/landing/$version_dir"
  cp -p "$version_dir"/* "$work/landing/$version_dir/"
  "$root/$bin" run --landing "$work/landing" --home "$work/home"
done
echo
"$root/$bin" status --home "$work/home"
echo
echo "change files: $work/home/changes  (one JSON event per line)"
