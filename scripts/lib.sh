# Shared paths for the scripts in this folder. Sourced, not run.
# Large downloads live outside the repository, in ROLEBRIDGE_CACHE.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ROLEBRIDGE_CACHE:-$HOME/.cache/rolebridge}
JARS=$CACHE/jars
VENV=$CACHE/venv
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
RELEASE_DIR=$ROOT/target/release
JAR=$RELEASE_DIR/rolebridge-$VERSION.jar
SO=$RELEASE_DIR/librolebridge.so
export ROLEBRIDGE_CACHE=$CACHE

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Class paths of the real Hadoop and AWS SDK jars (see scripts/deps.sh).
cp_of() { local d=$1; ls "$JARS/$d"/*.jar | tr '\n' ':' | sed 's/:$//'; }
