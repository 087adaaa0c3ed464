"`tools/gpu_check.sh --dry-run`: the GPU check's every part, on the CPU at tiny sizes, so the script cannot rot between GPU runs."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_gpu_check_dry_run(tmp_path):
    env = {**os.environ, 'OUT': str(tmp_path), 'PY': sys.executable}
    r = subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh'), '--dry-run'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = (tmp_path/'gpu_check.log').read_text()
    assert r.returncode == 0, r.stderr[-2000:]
    steps = json.loads((tmp_path/'steps.json').read_text())
    for part in ('env', 'tests', 'bench', 'data', 'protocol'):
        assert steps['parts'][part]['rc'] == 0, (part, log[-4000:])
    assert '3 passed' in log                                       # the gpu-marked tests ran (device: cpu)
    bench = (tmp_path/'bench.md').read_text()
    assert 'train bs 4: ours' in bench and 'head box, today' in bench
    assert {'validate', 'features', 'cv', 'final', 'model_card'} <= set(steps['protocol_steps_s'])
    assert not (tmp_path/'data').exists() and not (tmp_path/'runs').exists()    # only figures and logs come back
