#!/usr/bin/env bash
# The GPU figures in one run (under 8 minutes on 1 NVIDIA GPU and 16 cores, no network):
#   1. the renderer benchmark at 720p and 1080p on the NVIDIA EGL driver (bench/render.py),
#   2. the golden images with their tolerance (tests/farm_worker, -k golden),
#   3. bench/run.py: direct against the farm with 1, 2, 4 and 8 render workers sharing the GPU
#      (embedded: one GL context per worker thread) and the encoders on the cores.
# Everything lands under $OUT (./out/device when OUT is unset): logs, JSON, a summary.
#
# Nothing can be fetched on a GPU machine: Python packages come from a wheelhouse in .whl/ and
# GL loaders from Debian packages in .gl/, both made here beforehand by bench/device-prepare.sh
# and carried along (device tool: carry [".whl", ".gl"]). ffmpeg must be on the machine; where
# it is not, steps 1-2 still run and step 3 is skipped, saying so.
#
#   DEVICE_QUICK=1 bench/device.sh   # tiny sizes: the script's own smoke test, on CPU too
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out/device}
mkdir -p "$OUT"
exec > >(tee "$OUT/device.log") 2>&1
quick=${DEVICE_QUICK:-}
started=$(date +%s)
step() { echo "== $(($(date +%s) - started)) s: $*"; }

step "machine"
{ uname -a; nproc; free -g; nvidia-smi 2>/dev/null || echo "no nvidia-smi"; } | tee "$OUT/machine.txt"

step "GL loaders"
if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [[ -d /usr/local/nvidia/share/glvnd/egl_vendor.d ]]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

step "Python packages"
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/framefarm-site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/framefarm-site:$PWD"
elif [[ -x .venv/bin/python ]]; then
  PY=.venv/bin/python
  export PYTHONPATH="$PWD"
else
  scripts/bootstrap && PY=.venv/bin/python
  export PYTHONPATH="$PWD"
fi
"$PY" -c "import moderngl, dramatiq, pydantic, fpng; print('packages ok')" || exit 1
"$PY" - <<'PYCODE' | tee "$OUT/gl.txt"
from farm_worker.gl import create_context, describe
ctx = create_context()
print("GL renderer:", describe(ctx))
PYCODE

status=0
step "1. renderer benchmark (720p, 1080p)"
frames=120 rss=300
[[ -n $quick ]] && frames=5 rss=20
timeout 240 "$PY" bench/render.py --frames "$frames" --rss-frames "$rss" \
  --json "$OUT/render.json" >"$OUT/render.md" || status=1
cat "$OUT/render.md"

step "2. golden images (tolerance as in CI)"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider tests/farm_worker/test_renderer.py -k golden \
  --junitxml="$OUT/golden.xml" | tee "$OUT/golden.txt" || status=1

step "3. farm against direct: 1, 2, 4, 8 workers on one GPU"
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
  size=(--width 1280 --height 720 --fps 60 --end-beat 16)
  [[ -n $quick ]] && size=(--quick)
  timeout 300 "$PY" bench/run.py "${size[@]}" --repeat 1 --long-modes '' \
    --modes direct,embedded-1,embedded-2,embedded-4,embedded-8 \
    --json "$OUT/run.json" >"$OUT/run.md" || status=1
  cat "$OUT/run.md"
else
  echo "SKIPPED: no ffmpeg/ffprobe on this machine (see bench/device.sh)" | tee "$OUT/run.md"
  status=1
fi
step "done (exit $status)"
exit $status
