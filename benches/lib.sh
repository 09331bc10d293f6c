# Shared by the bench scripts (sourced): a scratch directory and the list
# of server PIDs, both cleaned up on exit, and `need`, which stops the
# script with a message naming the first missing tool.
# The sourcing script sets NAME (for messages) first.

TMP=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# need TOOL...: exits 1, naming it, unless every TOOL is on PATH.
need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$NAME: $tool not found" >&2; exit 1; }
    done
}
