#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for a bounded time, starting from the seeds
# in fuzz/corpus/<target>/, and fails if any target crashes, printing the input that did it.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 seconds, every target)
#
# Needs the nightly toolchain for the sanitizer flags (falls back to RUSTC_BOOTSTRAP=1 on stable)
# and installs cargo-fuzz if it is missing. FUZZ_SANITIZER picks the sanitizer (address by
# default; `none` runs about twice as many inputs). What libFuzzer learns goes to fuzz/work/,
# which later runs start from too; the checked-in seeds are never written to. See fuzz/README.md.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-30}"
shift $(( $# > 0 ? 1 : 0 ))
sanitizer="${FUZZ_SANITIZER:-address}"

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly)
else
  echo "fuzz: no nightly toolchain, building on stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <("${cargo[@]}" fuzz list)
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "fuzz: no targets found"; exit 1; }

echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
"${cargo[@]}" fuzz build --sanitizer "$sanitizer" || exit 1

failed=()
summary=()
for target in "${targets[@]}"; do
  work="fuzz/work/$target"
  artifacts="fuzz/artifacts/$target"
  log="fuzz/work/$target.log"
  mkdir -p "$work" "$artifacts"
  flags=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
    -artifact_prefix="$root/$artifacts/")
  [[ -f "fuzz/dict/$target.dict" ]] && flags+=(-dict="fuzz/dict/$target.dict")
  before="$(ls "$artifacts")"
  echo
  echo "=== fuzz: $target for ${seconds}s ==="
  # The working corpus comes first: libFuzzer adds what it finds to the first directory only.
  "${cargo[@]}" fuzz run --sanitizer "$sanitizer" "$target" "$work" "fuzz/corpus/$target" \
    -- "${flags[@]}" >"$log" 2>&1
  status=$?
  execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')"
  grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$log" | tail -1
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    summary+=("$(printf '%-14s FAILED (exit %s) after %s executions' "$target" "$status" "${execs:-?}")")
    echo "--- fuzz: $target failed; the end of its log ($log):"
    tail -60 "$log"
    new="$(comm -13 <(echo "$before") <(ls "$artifacts"))"
    for file in $new; do
      echo "--- fuzz: crashing input: $artifacts/$file"
      echo "    reproduce: cargo +nightly fuzz run --sanitizer $sanitizer $target $artifacts/$file"
      od -A d -t x1 -v "$artifacts/$file" | head -20
    done
  else
    summary+=("$(printf '%-14s ok, %s executions in %ss' "$target" "${execs:-?}" "$seconds")")
  fi
done

echo
echo "=== fuzz summary ==="
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: ${#failed[@]} target(s) crashed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
