"SIGTERM on `brainct run` leaves a resumable `interrupted` run; two builds of one crop store at once store each crop once."
import json, os, signal, subprocess, sys, time
import multiprocessing as mp
from pathlib import Path
import pandas as pd, pytest
from brainct_nb.demo import make_demo_dataset
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropStore

def test_sigterm_marks_the_run_interrupted(tmp_path):
    cmd = [str(Path(sys.executable).parent/'brainct'), 'run', '--demo-n', '200', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
           '--out-dir', str(tmp_path), '--num-workers', '0']
    pr = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, 'BRAINCT_HOME': str(tmp_path/'home')})
    t0 = time.time()
    while time.time() - t0 < 240:                                          # wait until CV is under way
        if list(tmp_path.glob('run_*/cv')) or pr.poll() is not None: break
        time.sleep(.5)
    assert pr.poll() is None, pr.communicate()
    pr.send_signal(signal.SIGTERM); out, err = pr.communicate(timeout=120)
    assert pr.returncode == 143, (out[-500:], err[-2000:])
    st = json.loads(next(tmp_path.glob('run_*/run_status.json')).read_text())
    assert st['state'] == 'interrupted' and 'resume' in err

def _build(args):
    root, data = args
    rep = validate_dataset(data); CropStore(root, 32, b'salt').build(rep.studies)

def test_two_builds_at_once_store_each_crop_once(tmp_path):
    data = make_demo_dataset(tmp_path/'data', n=80, prevalence=.2, seed=5)
    with mp.get_context('fork').Pool(2) as pool: pool.map(_build, [(tmp_path/'store', data)]*2)
    s = CropStore(tmp_path/'store', 32, b'salt')
    rows = pd.concat([pd.read_parquet(p) for p in s.dir.glob('shard_*.parquet')])
    assert rows.content_sha1.is_unique and len(rows) == 80
