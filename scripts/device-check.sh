#!/usr/bin/env bash
# The GPU lane in one run (docs/gpu-lane.md): on a machine with a CUDA GPU and no network, install ddoctor from
# the wheels carried in .whl/ (only what the machine lacks), run the `gpu` tests and the commands of issue 19,
# and leave a log, the JSON reports and the GPU failure logs in OUTDIR, all inside a time budget: every step
# runs under `timeout`, clamped to what is left.
#
# Usage: scripts/device-check.sh OUTDIR
#   DDOCTOR_PYTHON=python3       the interpreter to install for (through PYTHONPATH) and to run everything with
#   DDOCTOR_WHEELS=.whl          ddoctor's wheel and those of the packages the machine lacks (device-prepare.sh)
#   DDOCTOR_SITE=<temp folder>   where the wheels are installed (removed at the end unless given)
#   DDOCTOR_DEVICE_BUDGET_S=480  seconds for all steps together
#   DDOCTOR_DEVICE_DRY_RUN=1     a rehearsal on a machine without a GPU: the same steps, small sizes, no --hf
# Exit: 0 the run passed, 1 a test, report or diagnosis failed (OUTDIR/summary.json says which), 2 bad usage
# or the install failed.
set -uo pipefail

if [[ $# -ne 1 || -z $1 || $1 == -* ]]; then
    echo "usage: scripts/device-check.sh OUTDIR (the variables it reads are described at its top)" >&2
    exit 2
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
PY=${DDOCTOR_PYTHON:-python3}
WHEELS=${DDOCTOR_WHEELS:-$REPO/.whl}
DRY=${DDOCTOR_DEVICE_DRY_RUN:-0}
BUDGET=${DDOCTOR_DEVICE_BUDGET_S:-480}
DEADLINE=$((SECONDS + BUDGET))
LOG=$OUT/device-check.log
LANE=$REPO/scripts/device_lane.py
export PYTHONUNBUFFERED=1 NO_COLOR=1 COLUMNS=120
if [[ -n ${DDOCTOR_SITE:-} ]]; then
    SITE=$DDOCTOR_SITE
    mkdir -p "$SITE" || exit 2
else
    SITE=$(mktemp -d "${TMPDIR:-/tmp}/ddoctor-site.XXXXXX") || exit 2
    trap 'rm -rf "$SITE"' EXIT
fi
: >"$LOG"
: >"$OUT/steps.tsv"

say() { printf '%s\n' "$*" | tee -a "$LOG"; }

# step NAME LIMIT_S [--out FILE] CMD...: run CMD under `timeout` (at most what is left of the budget) with its
# output in the log, or its stdout in FILE with --out; record NAME's exit status and seconds in steps.tsv.
step() {
    local name=$1 limit=$2 out="" rc=0 start left
    shift 2
    if [[ $1 == --out ]]; then
        out=$2
        shift 2
    fi
    left=$((DEADLINE - SECONDS))
    if ((left < 10)); then
        say "=== $name: not run, the ${BUDGET} s budget is spent"
        printf '%s\tskipped\t0\n' "$name" >>"$OUT/steps.tsv"
        return 1
    fi
    ((limit > left)) && limit=$left
    say "=== $name (at most ${limit} s): $*"
    start=$SECONDS
    if [[ -n $out ]]; then
        timeout -k 10 "$limit" "$@" >"$out" 2>"$OUT/.stderr" || rc=$?
        tee -a "$LOG" <"$OUT/.stderr"
        rm -f "$OUT/.stderr"
    else
        timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$LOG"
        rc=${PIPESTATUS[0]}
    fi
    ((rc == 124 || rc == 137)) && say "=== $name: stopped after ${limit} s"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >>"$OUT/steps.tsv"
    say "=== $name: exit $rc after $((SECONDS - start)) s"
    return "$rc"
}

not_run() {
    say "=== $1: not run ($2)"
    printf '%s\tskipped\t0\n' "$1" >>"$OUT/steps.tsv"
}

# finish [CODE]: write and print the summary, then exit with CODE or, without one, the summary's verdict.
finish() {
    local rc args=()
    [[ $DRY == 1 ]] && args=(--dry-run)
    step summary 30 "$PY" "$LANE" summary "$OUT" "${args[@]}"
    rc=$?
    exit "${1:-$rc}"
}

say "ddoctor GPU lane: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n); python: $PY; wheels: $WHEELS;" \
    "dry run: $DRY; budget: $BUDGET s"
step python 30 "$PY" -c 'import platform, sys; print(sys.version); print(platform.platform())'
if [[ $DRY == 1 ]]; then
    not_run nvidia-smi "dry run"
else
    step nvidia-smi 30 nvidia-smi
    step nvidia-smi-q 30 --out "$OUT/nvidia-smi-q.txt" nvidia-smi -q
fi

step install 180 "$PY" "$LANE" install --wheels "$WHEELS" --site "$SITE" --report "$OUT/install.json" || finish 2
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
step verify 60 "$PY" -c 'import sys, ddoctor
if not ddoctor.__file__.startswith(sys.argv[1]):
    sys.exit(f"ddoctor is imported from {ddoctor.__file__}, not from the wheel installed in {sys.argv[1]}")
print("ddoctor", ddoctor.__version__, "from", ddoctor.__file__)' "$SITE" || finish 2

cd "$REPO" || finish 2
step pytest-gpu 420 env DDOCTOR_GPU_OUT="$OUT/gpu" "$PY" -m pytest tests/gpu -m gpu -v -rs -p no:cacheprovider \
    --junitxml="$OUT/pytest-gpu.xml"

# report NAME FILE CMD...: the gpu tests leave each command's report in gpu/; where they did not (a dry run,
# or tests that stopped early), the command itself writes it into OUTDIR.
report() {
    local name=$1 file=$2
    shift 2
    if [[ -s $OUT/gpu/$file ]]; then
        not_run "$name" "the gpu tests wrote gpu/$file"
    else
        step "$name" 240 --out "$OUT/$file" "$@"
    fi
}
LIVE_ARGS=()
[[ $DRY == 1 ]] && LIVE_ARGS=(--live-max-bytes 1048576)
report check-v check-v.txt "$PY" -m ddoctor check -v --no-color
report check-json check.json "$PY" -m ddoctor check -v --format json
report check-live check-live.json "$PY" -m ddoctor check live -v --format json "${LIVE_ARGS[@]}"
report smoke smoke.json "$PY" -m ddoctor smoke --format json
if [[ $DRY == 1 ]]; then
    not_run smoke-hf "dry run"
else
    report smoke-hf smoke-hf.json "$PY" -m ddoctor smoke --hf --format json
fi
for text in "$OUT/check-v.txt" "$OUT/gpu/check-v.txt"; do
    [[ -s $text ]] && tee -a "$LOG" <"$text" >/dev/null
done
shopt -s nullglob
for log in "$OUT"/gpu/logs/*.log; do
    name=${log##*/}
    step "diagnose-${name%.log}" 30 "$PY" -m ddoctor diagnose --no-color "$log"
done
finish
