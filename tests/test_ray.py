"executor='ray' on a local 2-CPU Ray instance: same results as local, a killed worker retried, a data error surfaced as itself, interrupted folds resumed."
import json, os, sys
from functools import partial
from pathlib import Path
import numpy as np, pandas as pd, pytest
ray = pytest.importorskip('ray', reason="the 'ray' extra is not installed")
from brainct_nb.demo import make_demo_dataset
from brainct_nb.dicom import DatasetError
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropStore
from brainct_nb.train import load_config
from brainct_nb.model import ct_model
from brainct_nb.cv import run_cv, cv_plan, fit_fold, FitProgress, CVOptions
from brainct_nb.executor import LocalExecutor, RayExecutor
from brainct_nb.cli import main as cli_main

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])       # the helpers below travel to the workers by value
CFG = dict(epochs_head=1, epochs_ft=1, patience_ft=1, ft_trainable_attrs='all', lr_ft=2e-3)

@pytest.fixture(scope='module')
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('ray')
    d = make_demo_dataset(root/'demo', n=60, prevalence=.25, seed=8)
    rep = validate_dataset(d); store = CropStore(root/'store', 32, b'ray'); f = store.build(rep.studies); f = f[f.ok].reset_index(drop=True)
    return dict(root=root, data=d, crops=store.crops(f), labels=f.Label.values, ids=f.ID.values)

def _model(cfg): return ct_model('resnet18', dropout_p=cfg.dropout_p)

def _cv(data, ex, out=None, **kw):
    return run_cv(data['crops'], data['labels'], data['ids'], k=2, cfg=load_config(CFG), seed=3, bs=16, device='cpu',
                  model_fn=_model, out_dir=out, executor=ex, **kw)

def test_same_results_as_local(cluster, data):
    a, b = _cv(data, LocalExecutor(cpus_per_fit=1)), _cv(data, RayExecutor(cpus_per_fit=1))
    np.testing.assert_array_equal(a.oof.prob.values, b.oof.prob.values)
    pd.testing.assert_frame_equal(a.folds.drop(columns='seconds'), b.folds.drop(columns='seconds'))

def _kill_once(marker, *args):
    if not os.path.exists(marker):
        Path(marker).write_text('killed'); os._exit(1)                   # the worker process dies in the middle of the run
    return fit_fold(*args)

def test_killed_worker_is_retried_with_the_same_result(cluster, data, tmp_path):
    ex = RayExecutor(cpus_per_fit=1)
    plan = cv_plan(data['crops'], data['labels'], data['ids'], k=2, opts=CVOptions(local=False), cfg=load_config(CFG), seed=3, bs=16, device='cpu',
                   model_fn=_model, threads=1)
    marker = tmp_path/'killed_once'
    task = [(plan['tasks'][0],)]                                          # one FoldTask
    got = ex.map(partial(_kill_once, str(marker)), task)[0]
    want = LocalExecutor(cpus_per_fit=1).map(fit_fold, task)[0]
    assert marker.exists()                                                # it did die once...
    np.testing.assert_array_equal(got[0].prob.values, want[0].prob.values)   # ...and the retry gave the same fold

def _bad_data(i): raise DatasetError(f"study ID_{i}: labels file says 2")

def test_data_error_surfaces_as_itself(cluster):
    with pytest.raises(DatasetError, match='study ID_7: labels file says 2'): RayExecutor().map(_bad_data, [(7,)])

class _StopAfterOne(FitProgress):
    def fit_done(self, name, summary=''):
        super().fit_done(name, summary); raise KeyboardInterrupt

def test_interrupted_folds_are_resumed(cluster, data, tmp_path):
    out = tmp_path/'cv'
    with pytest.raises(KeyboardInterrupt): _cv(data, RayExecutor(cpus_per_fit=1), out, progress=_StopAfterOne(2))
    finished = sorted(p.name for p in out.glob('fold*.json'))
    assert finished                                                         # the fold(s) done before Ctrl-C are on disk
    stamps = {n: (out/n).stat().st_mtime_ns for n in finished}
    res = _cv(data, LocalExecutor(cpus_per_fit=1), out, resume=True)      # resume works across executors
    for n, t in stamps.items(): assert (out/n).stat().st_mtime_ns == t
    np.testing.assert_array_equal(res.oof.prob.values, _cv(data, LocalExecutor(cpus_per_fit=1)).oof.prob.values)  # the fold CSVs read back exactly

def test_cli_run_with_ray_equals_local(cluster, data, tmp_path):
    (tmp_path/'fast.json').write_text(json.dumps(CFG))
    base = ['run', '--data-root', str(data['data']), '--seed', '5', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
            '--config-json', str(tmp_path/'fast.json'), '--cpus-per-fit', '1', '--num-workers', '0']
    assert cli_main(base + ['--out-dir', str(tmp_path/'local')]) == 0
    assert cli_main(base + ['--out-dir', str(tmp_path/'ray'), '--executor', 'ray']) == 0
    a, b = [sorted((tmp_path/x).glob('run_*'))[-1] for x in ('local', 'ray')]
    for f in ('cv_oof_predictions.csv', 'cv_thresholds_summary.csv', 'threshold_selection.json', 'test_predictions.csv'):
        assert (a/f).read_bytes() == (b/f).read_bytes(), f
    ta, tb = (json.loads((x/'test_metrics.json').read_text()) for x in (a, b))
    assert ta['auprc'] == tb['auprc'] and ta['roc_auc'] == tb['roc_auc']
    ex = json.loads((b/'effective_config.json').read_text())['execution']
    assert ex['executor'] == 'ray' and ex['resources']['CPU'] == 2 and len(ex['task_seconds']) >= 2
