# Sourced by the bench scripts: where the repository and the built binaries are.
# Sets BENCH_DIR, ROOT, BUILD_DIR (absolute; default build) and SNAPDELTA.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
SNAPDELTA=$BUILD_DIR/snapdelta
