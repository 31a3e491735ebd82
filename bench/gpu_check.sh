#!/usr/bin/env bash
# The GPU half of the cuda device, as one command for a lent GPU machine (an H100/H200 with nvcc 13 and
# Python 3.12, no brian2, no network): install the carried wheels and spikelearn, run the `cuda` tests
# (cpp vs cuda agreement) and the cpp-vs-cuda benchmark. Sized for < 8 minutes of device time:
#
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=540)
#
# .whl/ must hold the wheels the machine lacks (brian2 and brian2cuda; everything else spikelearn needs
# to run and test is in that image), downloaded here first (README, "The cuda device"):
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl brian2==2.10.1 brian2cuda==1.0b1
#
# Environment: GPU_CHECK_TESTS (pytest -m expression, default "cuda and not long"; "cuda and long" runs
# the remaining scenarios in a second call), GPU_CHECK_BENCH (arguments of bench/cuda_bench.py; "skip"
# skips it), OUT (results folder; the device tool sets it). Results: $OUT/device.txt, pytest.log,
# junit.xml, bench.log, cuda_bench.json.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/results/gpu-check}
mkdir -p "$OUT"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1 PYTHONSAFEPATH=1
export SPIKELEARN_CACHE=${SPIKELEARN_CACHE:-/tmp/spikelearn-cache}
TESTS=${GPU_CHECK_TESTS:-cuda and not long}
BENCH=${GPU_CHECK_BENCH:---sizes 1000,100000,1000000 --recurrent 10000 --timeout 120}
start=$SECONDS

{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2; python3 --version; nproc; } 2>&1 | tee "$OUT/device.txt"

# the carried wheels (brian2, brian2cuda), then spikelearn from this tree (offline: no build isolation,
# the image's setuptools); a carried spikelearn wheel is used only if that build fails
wheels=$(ls .whl/*.whl 2>/dev/null | grep -v '/spikelearn-')
[ -n "$wheels" ] || { echo "no wheels in .whl/ (carry it: carry=[\".whl\"])" | tee -a "$OUT/device.txt"; exit 1; }
# shellcheck disable=SC2086
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $wheels \
  || { echo "wheel install failed" | tee -a "$OUT/device.txt"; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --target /tmp/site . \
  || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/spikelearn-*.whl \
  || { echo "spikelearn install failed" | tee -a "$OUT/device.txt"; exit 1; }
export PYTHONPATH=/tmp/site
python3 -c "import brian2, brian2cuda, spikelearn; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)" \
  2>&1 | tee -a "$OUT/device.txt"
echo "setup: $((SECONDS - start)) s" | tee -a "$OUT/device.txt"

# the cuda tests: at most 5 minutes (a test still running then is reported as not finished)
timeout 300 python3 -m pytest tests/test_cuda.py -m "$TESTS" -rA -v -p no:cacheprovider \
  --junitxml="$OUT/junit.xml" 2>&1 | tee "$OUT/pytest.log"
echo "pytest exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$OUT/device.txt"

# the benchmark with what is left (each point has its own timeout)
if [ "$BENCH" != "skip" ]; then
  left=$((470 - (SECONDS - start)))
  if [ "$left" -gt 60 ]; then
    # shellcheck disable=SC2086  # BENCH is a list of arguments
    timeout "$left" python3 bench/cuda_bench.py $BENCH --out "$OUT/cuda_bench.json" 2>&1 | tee "$OUT/bench.log"
  else
    echo "benchmark skipped: only $left s left" | tee -a "$OUT/device.txt"
  fi
fi
echo "total: $((SECONDS - start)) s" | tee -a "$OUT/device.txt"
