#!/usr/bin/env bash
# The GPU check, prepared to run unattended in one ~10-minute call on a bare GPU machine (see nbs/09_bench.ipynb):
#   tools/gpu_check.sh            on the GPU machine, with .whl/ carried (tools/gpu_wheels.sh makes it here)
#   tools/gpu_check.sh --dry-run  here or in CI: tiny sizes on the CPU, the same code path, under 2 minutes
# Parts, each under its own time budget so a run cut short still leaves what it measured under $OUT:
#   install (wheels -> /tmp/site), env (device, driver, versions), tests (pytest -m gpu), bench (raw model vs
#   seed-style vs ours at batches 16/64/256, with torch.compile), protocol (the whole run on 5,122 synthetic
#   512x512 studies at out_size 256, each step timed). Everything goes to $OUT: gpu_check.log, bench.md, steps.json.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0; [ "${1:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-$(mktemp -d)}; mkdir -p "$OUT"
PY=${PY:-$( [ -x .venv/bin/python ] && [ $DRY = 1 ] && echo .venv/bin/python || echo python3 )}
LOG="$OUT/gpu_check.log"; : > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }
WORST=0
part() {   # part NAME BUDGET_S CMD...: run CMD under a time limit, log it, go on; the script exits with the worst rc
  local name=$1 budget=$2; shift 2; local t0=$(date +%s)
  say "== $name (budget ${budget}s)"
  timeout --kill-after=10 "$budget" "$@" >> "$LOG" 2>&1; local rc=$?
  say "== $name: rc=$rc in $(( $(date +%s) - t0 ))s$( [ $rc = 124 ] && echo ' (time budget reached)')"
  [ $rc -gt $WORST ] && WORST=$rc
  return 0
}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" BRAINCT_HOME="$OUT/.home" MPLBACKEND=Agg
if [ -d .whl ] && ! "$PY" -c "import fastai, pydicom" 2>/dev/null; then
  part install 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation --upgrade --target /tmp/site .whl/*
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
if [ $DRY = 1 ]; then
  DEV=cpu; export BRAINCT_TEST_DEVICE=cpu
  BENCH=(bench --quick --n 16 --out-size 32 --batch-sizes 4 --device cpu --out "$OUT/bench.md")
  N=150; RUN=(--out-size 32 --k-folds 2 --num-workers 2 --device cpu --pretrained false --config-json "$OUT/tiny.json")
  echo '{"epochs_head": 1, "epochs_ft": 1}' > "$OUT/tiny.json"; B=(60 60 120 120)
else
  DEV=cuda; export BRAINCT_TEST_DEVICE=cuda
  BENCH=(bench --n 1024 --out-size 256 --batch-sizes 16,64,256 --device cuda --compile --out "$OUT/bench.md")
  N=5122; RUN=(--out-size 256 --k-folds 5 --num-workers 16 --device cuda --pretrained false); B=(60 150 50 180)
fi
part env 20 "$PY" -c "
import torch, platform, sys, brainct_nb
print('python', sys.version.split()[0], platform.machine(), '| torch', torch.__version__, '| cuda', torch.version.cuda, '| brainct_nb', brainct_nb.__version__)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0); print('device', p.name, f'{p.total_memory/2**30:.0f} GiB', 'bf16', torch.cuda.is_bf16_supported())
    import subprocess; print(subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'], capture_output=True, text=True).stdout.strip())
else: print('no CUDA device: CPU only')"
part tests "${B[0]}" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py
part bench "${B[1]}" "$PY" tools/brainct_main.py "${BENCH[@]}"
part data "${B[2]}" "$PY" tools/gpu_demo_data.py "$OUT/data" "$N" "$( [ $DRY = 1 ] && echo 2 || echo 16 )"
DMON=; if [ $DRY = 0 ] && command -v nvidia-smi >/dev/null; then   # GPU load and memory every 2 s while the protocol runs
  nvidia-smi dmon -s um -d 2 > "$OUT/dmon.log" 2>&1 & DMON=$!; fi
part protocol "${B[3]}" "$PY" tools/brainct_main.py run --data-root "$OUT/data" --out-dir "$OUT/runs" "${RUN[@]}"
[ -n "$DMON" ] && kill $DMON 2>/dev/null
"$PY" - "$LOG" "$OUT/steps.json" <<'PYEOF'
import json, re, sys
log = open(sys.argv[1]).read().split('== protocol (budget', 1)[-1]
steps = {m[0]: float(m[1]) for m in re.findall(r'^\[(\w+)\] done in ([\d.]+)s', log, re.M)}
parts = {m[0]: dict(rc=int(m[1]), seconds=int(m[2])) for m in re.findall(r'^== (\w+): rc=(\d+) in (\d+)s', open(sys.argv[1]).read(), re.M)}
json.dump(dict(parts=parts, protocol_steps_s=steps), open(sys.argv[2], 'w'), indent=1); print(json.dumps(dict(parts=parts, protocol_steps_s=steps)))
PYEOF
find "$OUT/runs" -name model_card.md -exec cp {} "$OUT/" \; 2>/dev/null || true
rm -rf "$OUT/data" "$OUT/runs" "$OUT/.home" "$OUT/tiny.json"
say "figures and logs in $OUT"
[ $WORST = 0 ] || say "FAILED: a part exited with rc=$WORST (see the '== part: rc=' lines above)"
exit $WORST
