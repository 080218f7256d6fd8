#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets of fuzz/ (cargo-fuzz + libFuzzer) on the stable toolchain.
#
#   tools/fuzz.sh                     every target, 60 s each
#   tools/fuzz.sh ci                  what .ci/run does: every target, 270 s in all (each its share)
#   tools/fuzz.sh 3600                every target, an hour each
#   tools/fuzz.sh 600 http_bodies     the named targets, 600 s each
#
# Builds with `cargo fuzz build -s none` (no sanitizer: AddressSanitizer needs nightly's
# `-Zsanitizer`; safe Rust needs it little, and a panic, an overflow or a failed assertion aborts
# the target all the same). Installs cargo-fuzz if it is missing. Each target reads the committed
# seeds in fuzz/seeds/<target>/ and grows its own corpus in fuzz/corpus/<target>/ (gitignored),
# so later runs start where earlier ones stopped. A crashing input is written to
# fuzz/artifacts/<target>/; reproduce it with
#   cargo fuzz run -s none <target> fuzz/artifacts/<target>/crash-...
# Exits non-zero when any target crashed, after running all of them, and prints the executions
# of each target.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(csv_reader parquet_reader timestamp agentdb_filter http_bodies)
# The CI budget per target, in seconds: 270 in all, leaving room in the 5 minutes for the
# processes' start (the HTTP target trains its two tiny models first) and corpus loading.
declare -A CI_SECONDS=([csv_reader]=60 [parquet_reader]=50 [timestamp]=30 [agentdb_filter]=40 [http_bodies]=90)
# Per-target dictionaries (libFuzzer `-dict`).
declare -A DICT=([csv_reader]=csv [parquet_reader]=csv [timestamp]=timestamp [agentdb_filter]=json [http_bodies]=json)

mode="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${ALL_TARGETS[@]}")
fi
if [[ "$mode" != ci && ! "$mode" =~ ^[0-9]+$ ]]; then
    echo "usage: tools/fuzz.sh [ci|SECONDS] [TARGET...]   (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
fi

start=$SECONDS
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi
cargo fuzz --version

# The fuzz crate's lock file is committed: refuse a stale one, as the workspace's --locked does.
cargo metadata --manifest-path fuzz/Cargo.toml --locked --format-version 1 >/dev/null

# Release with debug assertions and overflow checks (cargo fuzz's default), no sanitizer,
# 16 codegen units: the build (candle, parquet, SQLite) is long on 2 cores with 1.
FLAGS=(-s none --codegen-units 16)
echo "== cargo fuzz build ${FLAGS[*]}"
cargo fuzz build "${FLAGS[@]}"
build_s=$((SECONDS - start))
echo "built in ${build_s} s"

failed=()
summary=()
for t in "${targets[@]}"; do
    if [[ "$mode" == ci ]]; then
        secs="${CI_SECONDS[$t]:?unknown target $t}"
    else
        secs="$mode"
    fi
    # The log stays out of the artifacts directory, where cargo fuzz looks for the crash file.
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" fuzz/target/logs
    log="fuzz/target/logs/$t.log"
    echo "== fuzz $t for ${secs} s"
    t0=$SECONDS
    set +e
    cargo fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -dict="fuzz/dicts/${DICT[$t]}.dict" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    if [[ $rc -ne 0 ]]; then
        failed+=("$t")
        echo "!! $t failed (exit $rc); the end of its log ($log):"
        tail -n 60 "$log"
        ls -1t "fuzz/artifacts/$t" | sed "s|^|   artifact: fuzz/artifacts/$t/|" || true
    else
        tail -n 3 "$log"
    fi
    summary+=("$(printf '%-16s %4s s  %12s executions  %s  exit %s' "$t" "$((SECONDS - t0))" "${execs:-?}" "${cov:-}" "$rc")")
done

echo "== fuzz summary (build ${build_s} s, total $((SECONDS - start)) s)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
