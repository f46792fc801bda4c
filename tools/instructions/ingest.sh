#!/usr/bin/env bash
# Instructions per ingest, wasm and native, counted by valgrind's callgrind: repeatable on a
# machine whose timings drift by 2x between runs (BENCHMARKS.md, issue 19). The bench runs N1
# and then N2 events; (count(N2) - count(N1)) / (N2 - N1) is the cost of one ingest, setup and
# the one-off compile excluded. The host emulator's share (the `NativeHost` calls of the native
# run) is reported too, so the guest's own instructions can be compared.
#
# Usage: tools/instructions/ingest.sh [COMPONENT.wasm]   (default: the build's component)
# Needs: valgrind; `cargo bench --bench ingest --no-run` built. Takes ~10 minutes the first time
# (wasmtime compiles the component under valgrind once; the artifact is kept in a private cache:
# one compiled for the real CPU is refused there, valgrind's CPU lacks AVX-512).
set -euo pipefail
cd "$(dirname "$0")/../.."
component=${1:-target/guest-build/wasm32-wasip2/guest/aiclearance.wasm}
bench=$(ls -t target/release/deps/ingest-* | grep -v '\.d$' | head -1)
cache=${INSTRUCTIONS_CACHE:-target/instructions-cache}
mkdir -p "$cache"
n1=${N1:-100}
n2=${N2:-300}
out=$(mktemp -d)
run() { # engine events -> total instructions
    AICLEARANCE_COMPONENT="$component" HOST_SIM_CACHE_DIR="$cache" HOST_SIM_ALLOCATOR=on-demand \
        BENCH_ENGINE="$1" BENCH_EVENTS="$2" \
        valgrind --tool=callgrind --callgrind-out-file="$out/$1-$2.out" "$bench" --bench \
        >"$out/$1-$2.log" 2>&1 || { cat "$out/$1-$2.log" >&2; exit 1; }
    grep -q "ingest $1: p50" "$out/$1-$2.log" || { echo "the $1 run did not ingest" >&2; exit 1; }
    sed -n 's/.*I *refs: *//p' "$out/$1-$2.log" | tr -d ','
}
host() { # instructions inside the emulator's host calls (native run)
    callgrind_annotate --inclusive=yes --threshold=100 "$out/native-$1.out" 2>/dev/null |
        grep 'NativeHost as aiclearance::host::Host>::' |
        awk '{gsub(",", "", $1); s += $1} END {print s + 0}'
}
run wasm 1 >/dev/null # compiles the component into the cache, so neither count below holds it
w1=$(run wasm "$n1"); w2=$(run wasm "$n2")
x1=$(run native "$n1"); x2=$(run native "$n2")
h1=$(host "$n1"); h2=$(host "$n2")
python3 - "$n1" "$n2" "$w1" "$w2" "$x1" "$x2" "$h1" "$h2" "$component" <<'PY'
import sys
n1, n2, w1, w2, x1, x2, h1, h2 = map(int, sys.argv[1:9])
d = n2 - n1
wasm, native, host = (w2 - w1) / d, (x2 - x1) / d, (h2 - h1) / d
print(f"component {sys.argv[9]}")
print(f"instructions per ingest: wasm {wasm:,.0f}, native {native:,.0f} (host emulator {host:,.0f} of each)")
print(f"guest share: wasm {wasm - host:,.0f}, native {native - host:,.0f}, ratio {(wasm - host) / (native - host):.2f}x")
PY
rm -rf "$out"
