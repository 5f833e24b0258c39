#!/usr/bin/env bash
# Fuzzes each target in turn (fuzz/README.md): RUNS executions or SECONDS
# seconds, whichever comes first, one process (the machine has 2 shared
# cores), growing fuzz/work/<target>/ and keeping crashes in
# fuzz/artifacts/<target>/. Prints each target's final libFuzzer stats.
# Usage, from the repository root: fuzz/scripts/run.sh [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10000000}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-1200}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(sse openai anthropic sagemaker bedrock_invoke bedrock_converse eventstream config dataset settings results)
fi
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "artifacts/$t"
    # Seed from the committed corpus too, so a rerun starts where the last left off.
    [ -d "corpus/$t" ] && cp -n corpus/"$t"/* "work/$t/" 2>/dev/null
    cargo +nightly fuzz run -s none "$t" "work/$t" -- \
        -runs="$RUNS" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" > "logs/$t.log" 2>&1
    echo "$t: exit $? $(grep -E 'stat::number_of_executed_units' "logs/$t.log" | tail -1) crashes=$(ls "artifacts/$t" | wc -l)"
done
