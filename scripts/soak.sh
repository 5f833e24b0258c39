#!/usr/bin/env bash
# A soak test: `llmbench run` open loop against `llmbench sim`, both on
# 127.0.0.1, logging the resident memory (VmRSS) of each every 10 s.
# Usage: scripts/soak.sh [DURATION] [RATE]   (defaults: 60m 200/s)
# Build first: cargo build --release -p llmbench --bin llmbench
# Writes into $SOAK_DIR (default target/soak): rss.log, run.log, sim.log, results/.
set -u
cd "$(dirname "$0")/.."
DURATION=${1:-60m}
RATE=${2:-200/s}
BIN=${LLMBENCH_BIN:-target/release/llmbench}
DIR=${SOAK_DIR:-target/soak}
PORT=${SOAK_PORT:-18777}
[ -x "$BIN" ] || { echo "$BIN is missing: cargo build --release -p llmbench --bin llmbench" >&2; exit 2; }
mkdir -p "$DIR"
# A simulator without a capacity limit (this repo's llmbench.toml caps it
# at 16 streams, about 90 req/s), so that every request succeeds and the
# client's memory is measured at the rate asked for, not under a queue.
printf '[sim]\nttft = "40ms"\nitl = "4ms"\n' > "$DIR/sim.toml"
"$BIN" sim --port "$PORT" --config "$DIR/sim.toml" > "$DIR/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null' EXIT
sleep 2
LLMBENCH_HOME="$DIR/results" "$BIN" run --url "http://127.0.0.1:$PORT/v1" --model soak-model \
    --rate "$RATE" --arrival constant --duration "$DURATION" \
    --input-tokens 100..200 --output-tokens 32 --warm-up 0 > "$DIR/run.log" 2>&1 &
RUN=$!
start=$(date +%s)
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null; }
peak() { awk '/VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null; }
: > "$DIR/rss.log"
tick=0 client_peak=0
while kill -0 $RUN 2>/dev/null; do
    # The peak is read every second, so the writing at the end is caught too.
    p=$(peak $RUN); [ -n "$p" ] && client_peak=$p
    [ $((tick % 10)) -eq 0 ] && echo "$(( $(date +%s) - start )) s client_rss_kib=$(rss $RUN) sim_rss_kib=$(rss $SIM)" >> "$DIR/rss.log"
    tick=$((tick + 1))
    sleep 1
done
wait $RUN
echo "run exit $? client_peak_kib=$client_peak (the highest resident memory, read up to its last second)" >> "$DIR/rss.log"
cat "$DIR/rss.log"
