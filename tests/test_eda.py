"The exploratory notebook runs under papermill on the demo data and shows its figures and tables."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_eda_runs_under_papermill(tmp_path):
    out = tmp_path/'eda_out.ipynb'
    r = subprocess.run([str(Path(sys.executable).parent/'papermill'), str(ROOT/'nbs'/'eda.ipynb'), str(out), '-p', 'demo_n', '80',
                        '-p', 'out_dir', str(tmp_path/'o'), '--cwd', str(tmp_path)], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != 'MPLBACKEND'})     # the inline backend, as for a user
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads(out.read_text())
    kinds = [k for c in nb['cells'] for o in c.get('outputs', []) for k in o.get('data', {})]
    assert kinds.count('image/png') >= 3 and kinds.count('text/html') >= 3
    assert (tmp_path/'o'/'cache').is_dir() and (tmp_path/'o'/'eda_demo_data'/'labels1.csv').exists()
