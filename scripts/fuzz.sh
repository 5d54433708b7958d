#!/usr/bin/env bash
# scripts/fuzz.sh run SECONDS TARGET... - fuzz each target for SECONDS,
# growing its corpus in tests/fuzz/corpus/NAME/ (commit what is worth keeping).
set -uo pipefail
cd "$(dirname "$0")/.."
shift # "run"
secs=$1
shift
for t in "$@"; do
    name=$(basename "$t")
    mkdir -p "tests/fuzz/corpus/$name" build/fuzz-artifacts
    echo "== $name for ${secs}s"
    "$t" -max_total_time="$secs" -max_len=4096 -artifact_prefix=build/fuzz-artifacts/ \
        "tests/fuzz/corpus/$name" || exit 1
done
