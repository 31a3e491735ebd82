#!/usr/bin/env bash
# The GPU half of the cuda device, as one command for a lent GPU machine (an H100/H200 with nvcc 13,
# Python 3.12 and 16 cores, no brian2, no network): install the carried wheels and spikelearn, run every
# `cuda` test (cpp vs cuda agreement, one per built-in scenario) side by side, then the cpp-vs-cuda
# benchmark alone. Sized for one call of < 9.5 minutes:
#
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=590)
#
# .whl/ must hold the wheels the machine lacks (brian2, brian2cuda, elephant, neo, quantities; everything
# else spikelearn needs to run and test is in that image), downloaded here first (docs/developer/cuda.md, "On a lent GPU
# machine").
#
# Schedule (seconds from the start): set-up; then until GPU_CHECK_TESTS_END (370) the tests, at most
# GPU_CHECK_PARALLEL (8) at a time, slowest first, each in its own pytest process killed at that deadline
# (reported as not finished), with the benchmark's builds beside them (`--build-only`, niced); then until
# GPU_CHECK_END (540) the benchmark's runs, one point at a time on an otherwise idle machine. The first
# test (explicit input spikes, a small network) is a smoke test: unless it passes or fails on a
# disagreement (so cuda built and ran), everything stops at once: a broken set-up costs a minute or two,
# not the whole call. Environment: GPU_CHECK_BENCH (arguments
# of bench/cuda_bench.py; "skip" skips it), SPIKELEARN_BUILD_JOBS (make -j per build, default 3), OUT
# (results folder; the device tool sets it), GPU_CHECK_TESTS (test names to run instead of the full
# queue, e.g. "test_song_stdp_statistics_agree_on_cpp_and_cuda test_scenario_agrees_on_cpp_and_cuda[nudged-train]"). Results in $OUT: device.txt (machine, set-up, timings),
# tests.txt (one line per test: outcome, exit status, seconds), logs.tgz (each test's pytest log and
# junit XML, the benchmark's build log), bench.log, cuda_bench.json.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/results/gpu-check}
mkdir -p "$OUT"
LOGS=$(mktemp -d)/logs
mkdir -p "$LOGS"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1
export SPIKELEARN_CACHE=${SPIKELEARN_CACHE:-/tmp/spikelearn-cache}
export SPIKELEARN_BUILD_JOBS=${SPIKELEARN_BUILD_JOBS:-3}
PY=${GPU_CHECK_PYTHON:-python3}
TESTS_END=${GPU_CHECK_TESTS_END:-370}
END=${GPU_CHECK_END:-540}
PARALLEL=${GPU_CHECK_PARALLEL:-8}
BENCH=${GPU_CHECK_BENCH:---sizes 1000,100000,1000000 --recurrent 10000}
BENCH_CACHE=$(mktemp -d)/bench-cache
start=$SECONDS

log() { echo "[$((SECONDS - start)) s] $*" | tee -a "$OUT/device.txt"; }
archive() { tar -czf "$OUT/logs.tgz" -C "$(dirname "$LOGS")" logs; }

{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2; $PY --version; nproc; free -g | head -2; } 2>&1 | tee "$OUT/device.txt"

# the carried wheels, then spikelearn from this tree (offline: no build isolation, the image's setuptools)
if [ -z "${GPU_CHECK_NO_INSTALL:-}" ]; then
  wheels=$(ls .whl/*.whl 2>/dev/null)
  [ -n "$wheels" ] || { log "no wheels in .whl/ (carry it: carry=[\".whl\"])"; exit 1; }
  # shellcheck disable=SC2086
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $wheels \
    || { log "wheel install failed"; exit 1; }
  $PY -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --target /tmp/site . \
    || { log "spikelearn install failed"; exit 1; }
  export PYTHONPATH=/tmp/site
fi
$PY -c "import brian2, brian2cuda, elephant, spikelearn; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)" \
  2>&1 | tee -a "$OUT/device.txt"
[ "${PIPESTATUS[0]}" = 0 ] || { log "imports failed"; exit 1; }
log "set-up done"

# -- stage 1: the cuda tests, side by side, with the benchmark's builds ---------------------------------
agree=tests/test_cuda.py::test_scenario_agrees_on_cpp_and_cuda
SMOKE=tests/test_cuda.py::test_explicit_spikes_same_on_cpp_and_cuda
QUEUE=(  # slowest first (simulated steps x network size), so that the long ones start at once
  "$agree[nudged-train]" "$agree[reward-discrimination]" "$agree[reward-estimation]" "$agree[stdp-window-ou]"
  "$agree[dynamic-inversion-learning]" tests/test_cuda.py::test_song_stdp_statistics_agree_on_cpp_and_cuda
  "$agree[adversarial-wake-sleep-spiking]" "$agree[poisson-sampling]" "$agree[poisson-sampling-coupled]"
  "$agree[dendritic-swissroll]" "$agree[dendritic-posterior]" "$agree[dynamic-inversion-spiking]"
  "$agree[dendritic-prior]" "$agree[nudged-gradient]" "$agree[surprise-oscillation]"
  "$agree[adversarial-wake-sleep]" "$agree[dendritic-prior-T50]" "$agree[dynamic-inversion]"
  "$agree[stdp-window-gradient]"
)
if [ -n "${GPU_CHECK_TESTS:-}" ]; then  # a selection, e.g. GPU_CHECK_TESTS="test_scenario_agrees_on_cpp_and_cuda[nudged-train]"
  read -ra names <<<"$GPU_CHECK_TESTS"
  QUEUE=("${names[@]/#/tests/test_cuda.py::}")
fi

one_test() {  # one test in its own pytest process, killed at the stage's deadline
  local id=$1 name left t0 rc
  name=$(echo "${id#*::}" | tr -c 'A-Za-z0-9_.\n-' '_')
  left=$((TESTS_END - (SECONDS - start)))
  if [ "$left" -lt 20 ]; then echo "$id NOT STARTED (deadline)" >>"$OUT/tests.txt"; return; fi
  t0=$SECONDS
  timeout "$left" $PY -m pytest "$id" -m cuda -rA -v -p no:cacheprovider --junitxml="$LOGS/$name.xml" \
    >"$LOGS/$name.log" 2>&1
  rc=$?
  local outcome
  outcome=$(grep -Eo '[0-9]+ (passed|failed|skipped|error)' "$LOGS/$name.log" | tr '\n' ' ')
  [ "$rc" = 124 ] && outcome="NOT FINISHED (killed at the deadline)"
  echo "$id ${outcome:-?} exit $rc $((SECONDS - t0)) s" | tee -a "$OUT/tests.txt"
}
export -f one_test
export start TESTS_END LOGS OUT PY

bench_builds=
if [ "$BENCH" != "skip" ]; then
  # shellcheck disable=SC2086  # BENCH is a list of arguments
  timeout $((TESTS_END - (SECONDS - start))) nice -n 10 $PY bench/cuda_bench.py $BENCH --build-only --jobs 4 \
    --timeout 300 --cache "$BENCH_CACHE" >"$LOGS/bench-build.log" 2>&1 &
  bench_builds=$!
fi
printf '%s\n' "${QUEUE[@]}" | xargs -P "$((PARALLEL - 1))" -I{} bash -c 'one_test "$1"' _ {} &
queue=$!
one_test "$SMOKE"
# stop unless it passed, or failed on a disagreement (an AssertionError: cuda built and ran)
if ! grep -q "^$SMOKE 1 passed" "$OUT/tests.txt" && ! grep -q "AssertionError" "$LOGS"/*explicit_spikes*.log; then
  log "smoke test did not run on cuda: stopping"
  tail -40 "$LOGS"/*explicit_spikes*.log
  archive
  exit 1
fi
wait $queue
log "stage 1 (tests) done: $(grep -c ' 1 passed ' "$OUT/tests.txt") of $((${#QUEUE[@]} + 1)) passed"
if [ -n "$bench_builds" ]; then
  wait "$bench_builds"
  log "benchmark builds done (exit $?)"
fi

# -- stage 2: the benchmark's runs, one point at a time, nothing else running ---------------------------
if [ "$BENCH" != "skip" ]; then
  left=$((END - (SECONDS - start)))
  if [ "$left" -gt 30 ]; then
    # shellcheck disable=SC2086
    timeout "$left" $PY bench/cuda_bench.py $BENCH --cache "$BENCH_CACHE" --timeout 120 \
      --out "$OUT/cuda_bench.json" 2>&1 | tee "$OUT/bench.log"
  else
    log "benchmark skipped: only $left s left"
  fi
fi
archive
log "total"
