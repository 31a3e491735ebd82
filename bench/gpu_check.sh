#!/usr/bin/env bash
# The GPU half of the cuda device, for a lent GPU machine (an H100/H200 with nvcc 13, Python 3.12 and 16
# cores, no brian2, no network), in one or two device-tool calls of < 10 minutes each:
#
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=590)                      # call 1
#   run(command="GPU_CHECK_STAGE=timing bash bench/gpu_check.sh", carry=[".whl"], timeout_s=N)  # call 2
#
# Call 1 ("all"): set-up; CUDA MPS (several processes share the GPU at once instead of taking turns,
# which had made 8 side-by-side runs each several times slower); then side by side:
#   - the smoke test (explicit input spikes on cpp and cuda; unless cuda built and ran, all stops);
#   - every scenario of GPU_CHECK_AGREE on cpp and cuda at once (bench/gpu_agree.py: every claim that
#     passes on cpp must pass on cuda, within spikelearn.agreement's tolerances), slowest first;
#   - GPU_CHECK_BIG (balanced-stdp-1e8: 1.01e8 plastic synapses) on cuda with its claims, built first;
#   - niced, the builds of the timing stage (bench/cuda_profile.py, bench/cuda_bench.py).
# Everything still running at GPU_CHECK_END (s) gets SIGTERM (a run is kept as incomplete) and is
# reported as not finished. If time is left, the timing stage follows on the then quiet machine.
# Call 2 ("timing", on the same warm machine: the builds are in /tmp): the per-step profile and the
# benchmark's runs, one at a time, nothing else running, until GPU_CHECK_END.
#
# Environment: GPU_CHECK_STAGE (all | timing), GPU_CHECK_AGREE (scenario names), GPU_CHECK_BIG
# (scenario; "skip"), GPU_CHECK_BIG_SET (its --set overrides, space-separated), GPU_CHECK_PROFILE
# (modes of cuda_profile.py; "skip"), GPU_CHECK_BENCH (arguments of cuda_bench.py; "skip"), GPU_CHECK_PACK
# (arguments of pack_bench.py --device cuda: packed Song ensembles, K = 8, 64, 1000 vs separate; "skip"),
# GPU_CHECK_END (default 555), GPU_CHECK_MPS (1), SPIKELEARN_BUILD_JOBS (make -j per build, 3).
# Results in $OUT (at most 8 files): device.txt (machine, set-up, the time of each event), agree.jsonl
# (one line per scenario), big.json (the big run: metrics, claims, timings), profile.json, bench.json, pack.json,
# gpu.csv (GPU memory and utilisation every second), logs.tgz (every log).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/results/gpu-check}
mkdir -p "$OUT"
WORK=/tmp/gpu-check
LOGS=$WORK/logs
mkdir -p "$LOGS" "$WORK/agree"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1
export SPIKELEARN_CACHE=${SPIKELEARN_CACHE:-/tmp/spikelearn-cache}
export SPIKELEARN_BUILD_JOBS=${SPIKELEARN_BUILD_JOBS:-3}
PY=${GPU_CHECK_PYTHON:-python3}
STAGE=${GPU_CHECK_STAGE:-all}
END=${GPU_CHECK_END:-555}
AGREE=${GPU_CHECK_AGREE:-nudged-train reward-estimation reward-discrimination stdp-window-ou song-stdp \
adversarial-digits poisson-sampling poisson-sampling-prior-match dendritic-posterior}
BIG=${GPU_CHECK_BIG:-balanced-stdp-1e8}
BIG_SET=${GPU_CHECK_BIG_SET:-}
PROFILE=${GPU_CHECK_PROFILE:-empty,song-bare,song-monitors,song-profiled,song-spikelearn}
BENCH=${GPU_CHECK_BENCH:---devices cuda,cpp,cpp-all --sizes 1000,10000,100000,1000000 --stdp-scale 0.2 \
--recurrent "" --balanced 800,8000,80000 --balanced-duration 0.5 --hpc-duration 1}
PROFILE_DIR=$WORK/profile
BENCH_CACHE=$WORK/bench-cache
PACK=${GPU_CHECK_PACK:---scenarios song-stdp --packs 8,64,1000}
start=$SECONDS

log() { echo "[$((SECONDS - start)) s] $*" | tee -a "$OUT/device.txt"; }
left() { local l=$((END - (SECONDS - start))); echo $((l > 1 ? l : 1)); }  # never 0: timeout 0 is no limit
finish() {
  for f in "$WORK"/agree/*.json; do [ -f "$f" ] && { cat "$f"; echo; }; done >"$OUT/agree.jsonl"
  [ -f "$WORK/profile.json" ] && cp "$WORK/profile.json" "$OUT/"
  [ -f "$WORK/bench.json" ] && cp "$WORK/bench.json" "$OUT/"
  [ -f "$WORK/big.json" ] && cp "$WORK/big.json" "$OUT/"
  [ -n "${poller:-}" ] && kill "$poller" 2>/dev/null
  tar -czf "$OUT/logs.tgz" -C "$WORK" logs 2>/dev/null
  log "total"
}

{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2; $PY --version; nproc; free -g | head -2; } 2>&1 | tee -a "$OUT/device.txt"
log "stage $STAGE"
if [ -z "${GPU_CHECK_NO_INSTALL:-}" ]; then
  wheels=$(ls .whl/*.whl 2>/dev/null)
  [ -n "$wheels" ] || { log "no wheels in .whl/ (carry it: carry=[\".whl\"])"; exit 1; }
  # shellcheck disable=SC2086
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $wheels \
    || { log "wheel install failed"; exit 1; }
  $PY -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --upgrade \
    --target /tmp/site . || { log "spikelearn install failed"; exit 1; }
fi
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH
$PY -c "import brian2, brian2cuda, spikelearn; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)" \
  2>&1 | tee -a "$OUT/device.txt"
[ "${PIPESTATUS[0]}" = 0 ] || { log "imports failed"; exit 1; }
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -l 1 >>"$OUT/gpu.csv" 2>&1 &
poller=$!
log "set-up done"

timing() {  # the profile, then the benchmark's runs: one at a time, on builds made before
  if [ "$PROFILE" != "skip" ] && [ "$(left)" -gt 30 ]; then
    log "profile runs"
    timeout "$(left)" $PY bench/cuda_profile.py --device cuda --modes "$PROFILE" --workdir "$PROFILE_DIR" \
      --out "$WORK/profile.json" --jobs 1 >"$LOGS/profile.log" 2>&1
    log "profile done (exit $?)"
  fi
  if [ "$BENCH" != "skip" ] && [ "$(left)" -gt 30 ]; then
    log "benchmark runs"
    # shellcheck disable=SC2086
    eval timeout "$(left)" $PY bench/cuda_bench.py $BENCH --cache "$BENCH_CACHE" --timeout 240 \
      --out "$WORK/bench.json" >"$LOGS/bench.log" 2>&1
    log "benchmark done (exit $?)"
  fi
  if [ "$PACK" != "skip" ] && [ "$(left)" -gt 60 ]; then
    log "packed-ensemble runs"
    # shellcheck disable=SC2086
    eval timeout "$(left)" $PY bench/pack_bench.py --device cuda $PACK --out "$WORK/pack" >"$LOGS/pack.log" 2>&1
    log "packed-ensemble runs done (exit $?)"
    cp "$WORK/pack.json" "$OUT/" 2>/dev/null || true
  fi
}

if [ "$STAGE" = timing ]; then
  timing
  finish
  exit 0
fi

# -- MPS: the GPU shared by every process at once ----------------------------------------------------
if [ "${GPU_CHECK_MPS:-1}" = 1 ]; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d 2>>"$OUT/device.txt"; then
    # a CUDA client must work through it, else without it
    if timeout 60 $PY -c "import cupy; assert int(cupy.arange(10).sum()) == 45" >>"$OUT/device.txt" 2>&1; then
      log "MPS started"
    else
      echo quit | nvidia-cuda-mps-control
      unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
      log "MPS started but a client failed: stopped, going on without it"
    fi
  else
    log "MPS not started"
  fi
fi

# -- the smoke test, the agreement runs, the big run, the timing stage's builds: side by side ----------
SMOKE=tests/test_cuda.py::test_explicit_spikes_same_on_cpp_and_cuda
timeout "$(left)" $PY -m pytest "$SMOKE" -m cuda -rA -p no:cacheprovider >"$LOGS/smoke.log" 2>&1 &
smoke=$!

agree_one() {
  local t0=$SECONDS
  [ "$(left)" -gt 60 ] || { log "agree $1: not started (deadline)"; return; }
  timeout -s TERM "$(left)" $PY bench/gpu_agree.py "$1" --out "$WORK/agree" --timeout "$(($(left) - 5))" \
    >"$LOGS/agree-$1.log" 2>&1
  log "agree $1: exit $? after $((SECONDS - t0)) s"
}
export -f agree_one log left
export start END WORK LOGS OUT PY
printf '%s\n' $AGREE | xargs -P 10 -I{} bash -c 'agree_one "$1"' _ {} &
agree=$!

big=
if [ "$BIG" != "skip" ]; then
  (
    sets=()
    for kv in $BIG_SET; do sets+=(--set "$kv"); done
    t0=$SECONDS
    timeout "$(left)" spikelearn run "$BIG" --device cuda --build-only --no-progress --out "$WORK/big" "${sets[@]}" \
      >"$LOGS/big-build.log" 2>&1
    log "big $BIG: built (exit $?) in $((SECONDS - t0)) s"
    t0=$SECONDS
    timeout -s TERM "$(left)" spikelearn run "$BIG" --device cuda --no-progress --out "$WORK/big" "${sets[@]}" \
      >"$LOGS/big-run.log" 2>&1
    rc=$?
    log "big $BIG: run exit $rc after $((SECONDS - t0)) s"
    $PY - "$WORK/big" "$((SECONDS - t0))" "$rc" >"$WORK/big.json" <<'EOF'
import json, pathlib, re, sys
root, wall, rc = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
runs = sorted(p for p in root.glob("*/*") if (p / "status.json").exists() and "." not in p.name)
out = {"wall_s": wall, "exit": rc}
if runs:
    d = runs[-1]
    out["status"] = json.loads((d / "status.json").read_text())
    if (d / "metrics.json").exists():
        out["metrics"] = json.loads((d / "metrics.json").read_text())
    ran = re.findall(r"program ran ([0-9.]+) s \(its simulation loop ([0-9.]+) s", (d / "log.txt").read_text())
    out["program_s"], out["loop_s"] = (float(ran[-1][0]), float(ran[-1][1])) if ran else (None, None)
print(json.dumps(out, indent=1))
EOF
  ) &
  big=$!
fi

builds=()
if [ "$PROFILE" != "skip" ]; then
  nice -n 10 timeout "$(left)" $PY bench/cuda_profile.py --device cuda --modes "$PROFILE" --workdir "$PROFILE_DIR" \
    --out "$WORK/profile-builds.json" --jobs 4 --build-only >"$LOGS/profile-build.log" 2>&1 &
  builds+=($!)
fi
if [ "$BENCH" != "skip" ]; then
  # shellcheck disable=SC2086
  eval nice -n 10 timeout "$(left)" $PY bench/cuda_bench.py $BENCH --build-only --jobs 4 --timeout 400 \
    --cache "$BENCH_CACHE" >"$LOGS/bench-build.log" 2>&1 &
  builds+=($!)
fi

wait $smoke
if ! grep -q " 1 passed" "$LOGS/smoke.log" && ! grep -q "AssertionError" "$LOGS/smoke.log"; then
  log "smoke test did not run on cuda: stopping"
  tail -30 "$LOGS/smoke.log"
  pkill -TERM -P $$
  finish
  exit 1
fi
log "smoke test: $(grep -Eo '[0-9]+ (passed|failed)' "$LOGS/smoke.log" | tr '\n' ' ')"

# wait for the agreement runs and the big run, until the deadline
while [ "$(left)" -gt 0 ] && { kill -0 "$agree" 2>/dev/null || { [ -n "$big" ] && kill -0 "$big" 2>/dev/null; }; }; do
  sleep 2
done
log "agreement and big runs: $(ls "$WORK"/agree/*.json 2>/dev/null | wc -l) reported"
for pid in ${agree:-} ${big:-} "${builds[@]}"; do
  while kill -0 "$pid" 2>/dev/null && [ "$(left)" -gt 1 ]; do sleep 1; done
done
log "builds for the timing stage done"
[ "$(left)" -gt 60 ] && timing
finish
