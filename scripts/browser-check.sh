#!/usr/bin/env bash
# Loads llmbench's HTML report in a real browser (headless Chromium):
#
#  1. renders a report from a fixture run (examples/report.rs) and opens the
#     index and every benchmark page: no console message (errors, CSP
#     violations), no failed resource load, the page's own text is there;
#     saves screenshots (light and dark); then the same checks on the
#     committed sample (reports/sample/), whose run history adds trend pages
#     and whose priced targets add the cost-against-latency section;
#  2. renders a report whose ids, model names, prompts, error messages and
#     outputs hold `<script>alert(1)</script>` and an `<img onerror>`: the
#     payload shows as text, no script element or image exists in the DOM,
#     and the title the payload would set is untouched;
#  3. proves the detectors can fail: control pages with a console error, a
#     report page with an image and a stylesheet added, and an unescaped
#     script must each be caught.
#
# Failed loads are caught through the pages' Content-Security-Policy
# (`default-src 'none'`): every fetch a page attempts, of any kind, is
# blocked and logged as a console message, and only inline styles and data:
# images are allowed, which cannot fail. The check insists the policy is there.
#
# Exit status 0 only if every check passed. Needs the `chromium` package.
# Output (screenshots, DOM dumps, logs): $BROWSER_CHECK_OUT (default
# target/browser-check).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "browser-check: chromium not found (apt-get install -y chromium)" >&2
    exit 1
fi
OUT=${BROWSER_CHECK_OUT:-target/browser-check}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }

# One headless run with a fresh profile; stdout and stderr to the given files.
chrome() {
    local out=$1 err=$2
    shift 2
    local profile
    profile=$(mktemp -d)
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" >"$out" 2>"$err" || true
    rm -rf "$profile"
}

# Problems Chromium logged while loading a page: console messages (errors,
# CSP violations, uncaught exceptions) and failed loads.
problems() {
    grep -E 'CONSOLE|net::ERR_|Refused to|Uncaught|Failed to load' "$1" || true
}

# Loads a page, dumps its DOM; returns the DOM path in $dom and the log in $log.
load() {
    local url=$1 name=$2
    dom="$OUT/$name.dom.html"
    log="$OUT/$name.log"
    chrome "$dom" "$log" --dump-dom "$url"
}

check_page() {
    local file=$1 name=$2 expect=$3
    load "file://$file" "$name"
    local p
    p=$(problems "$log")
    if [ -n "$p" ]; then fail "$name: the browser logged: $p"; else pass "$name: no console message, no failed load"; fi
    if grep -qF -- "$expect" "$dom"; then pass "$name: rendered (\"$expect\")"; else fail "$name: \"$expect\" not in the DOM"; fi
    if grep -qF "content=\"default-src 'none'" "$dom"; then pass "$name: loads nothing (CSP default-src 'none')"; else fail "$name: no CSP: failed loads would go unnoticed"; fi
}

# Did anything in the page run? A script element, an image (onerror), or
# the title the payload sets.
executed() {
    grep -qiE '<script|<img|<title>pwned' "$1"
}

echo "== browser-check: the report example"
# As `cargo test --workspace` builds it (in CI it already has: nothing to
# build). `cargo build --example report` resolves other features and built
# it, and much of what it links, a second time.
example=$(cargo test --workspace --no-run --message-format=json 2>/dev/null \
    | grep '"kind":\["example"\]' | grep '"name":"report"' \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1 || true)
[ -n "$example" ] && [ -x "$example" ] || { echo "browser-check: the report example was not built" >&2; exit 1; }

echo "== 1. a fixture run"
"$example" --benches 2 --targets 3 --requests 800 --root "$OUT/clean" >/dev/null
check_page "$OUT/clean/report/index.html" index "Every benchmark × target"
for page in "$OUT"/clean/report/bench/*.html; do
    check_page "$page" "$(basename "$page" .html)" "Metric definitions"
done
shot="$OUT/index.png"
chrome /dev/null "$OUT/shot.log" --hide-scrollbars --window-size=1280,2000 --screenshot="$shot" "file://$OUT/clean/report/index.html"
if [ -s "$shot" ]; then pass "screenshot $shot"; else fail "no screenshot"; fi
first=$(ls "$OUT"/clean/report/bench/*.html | head -n 1)
chrome /dev/null "$OUT/shot.log" --hide-scrollbars --window-size=1280,2000 --screenshot="$OUT/bench.png" "file://$first"
chrome /dev/null "$OUT/shot.log" --hide-scrollbars --force-dark-mode --blink-settings=preferredColorScheme=0 \
    --window-size=1280,2000 --screenshot="$OUT/bench-dark.png" "file://$first"
if [ -s "$OUT/bench.png" ] && [ -s "$OUT/bench-dark.png" ]; then pass "screenshots $OUT/bench.png, $OUT/bench-dark.png"; else fail "no page screenshots"; fi

echo "== 1b. the committed sample (reports/sample): index, benchmark and trend pages"
check_page "$PWD/reports/sample/index.html" sample-index "Trends across runs"
for page in reports/sample/bench/*.html; do
    check_page "$PWD/$page" "sample-$(basename "$page" .html)" "Cost against latency"
done
for page in reports/sample/trends/*.html; do
    check_page "$PWD/$page" "sample-trend-$(basename "$page" .html)" "Across runs"
done
chrome /dev/null "$OUT/shot.log" --hide-scrollbars --window-size=1280,1500 --screenshot="$OUT/sample-index.png" \
    "file://$PWD/reports/sample/index.html"
if [ -s "$OUT/sample-index.png" ]; then pass "screenshot $OUT/sample-index.png (reports/report-screenshot.png's view)"; else fail "no sample screenshot"; fi

echo "== 2. hostile strings"
"$example" --benches 2 --targets 2 --requests 200 --hostile --root "$OUT/hostile" >/dev/null
for page in "$OUT/hostile/report/index.html" "$OUT"/hostile/report/bench/*.html; do
    name="hostile-$(basename "$page" .html)"
    load "file://$page" "$name"
    if executed "$dom"; then fail "$name: injected markup is live in the DOM"; else pass "$name: no script, image or title change"; fi
    if grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$dom"; then pass "$name: the payload shows as text"; else fail "$name: escaped payload not found"; fi
    p=$(problems "$log")
    if [ -n "$p" ]; then fail "$name: the browser logged: $p"; else pass "$name: no console message"; fi
done

echo "== 3. the detectors catch what they look for"
controls="$OUT/controls"
mkdir -p "$controls"
printf '<!doctype html><title>ok</title><p>x</p><script>console.error("boom")</script>' >"$controls/console.html"
sed 's|<main>|<main><img src="missing.png" alt=""><link rel="stylesheet" href="https://example.invalid/x.css">|' \
    "$OUT/clean/report/index.html" >"$controls/missing.html"
printf '<!doctype html><title>ok</title><p>%s</p>' "<script>document.title='pwned'</script>" >"$controls/unescaped.html"
load "file://$controls/console.html" control-console
if [ -n "$(problems "$log")" ]; then pass "a console error is detected"; else fail "a console error went unnoticed"; fi
load "file://$controls/missing.html" control-missing
if [ "$(problems "$log" | wc -l)" -ge 2 ]; then pass "loads attempted by a report page are detected"; else fail "a load went unnoticed"; fi
load "file://$controls/unescaped.html" control-unescaped
if executed "$dom"; then pass "an executed script is detected"; else fail "an executed script went unnoticed"; fi

echo "browser-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
