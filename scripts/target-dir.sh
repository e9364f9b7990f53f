# shellcheck shell=bash
# Sourced by the build and test scripts: one cargo target directory outside the clone, so
# repeated runs build incrementally (CARGO_TARGET_DIR, default ~/.cache/techverse-target).
#
# Cargo decides freshness by comparing source mtimes with the last build, and it names path
# crates relative to the workspace root, so two checkouts sharing the directory look alike: a
# build from an older checkout after one from another could reuse the other's artifacts. When
# the directory was last used by a different checkout, this one's sources are touched first.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/techverse-target}"
mkdir -p "$CARGO_TARGET_DIR"
techverse_tree="$(pwd -P)"
if [ "$(cat "$CARGO_TARGET_DIR/.techverse-tree" 2>/dev/null)" != "$techverse_tree" ]; then
    find shared backend frontend -name '*.rs' -exec touch {} +
    touch Cargo.toml shared/Cargo.toml backend/Cargo.toml frontend/Cargo.toml
    printf '%s\n' "$techverse_tree" >"$CARGO_TARGET_DIR/.techverse-tree"
fi
