"Issue #38: the study protocol on Ray. Every fan-out (ingestion shards, study folds with context, per-fold aggregator fits, grid candidates x repeats x folds, the final model with its members) runs through the executor and gives what a local run gives; on a loopback cluster a worker node removed mid-CV has its fold retried elsewhere, and a driver interrupted mid-CV resumes with its finished folds."
import json, os, re, signal, subprocess, sys, threading, time
from pathlib import Path
import numpy as np, pytest
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
ray = pytest.importorskip('ray', reason="the 'ray' extra is not installed")
from ray.cluster_utils import Cluster
from brainct_nb.cli import main as cli_main
from brainct_nb.data import read_csv

FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)
OUTS = ('cv_oof_predictions.csv', 'cv_oof_slice_predictions.csv', 'test_predictions.csv')

def _args(tmp_path, name, *extra):
    (tmp_path/'fast.json').write_text(json.dumps(FAST))
    return ['run', '--demo', 'series', '--demo-n', '40', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
            '--seed', '4', '--config-json', str(tmp_path/'fast.json'), '--cpus-per-fit', '1',
            '--out-dir', str(tmp_path/name), *extra]

def _run(tmp_path, name, *extra):
    assert cli_main(_args(tmp_path, name, *extra)) == 0
    return next((tmp_path/name).glob('run_*'))

def _same(a, b, files=OUTS):
    for f in files:
        x, y = (read_csv(d/f).drop(columns=['seconds'], errors='ignore') for d in (a, b))     # all but timings
        np.testing.assert_array_equal(x.select_dtypes('number').values, y.select_dtypes('number').values, err_msg=f)

class TestOneNode:
    @pytest.fixture(scope='class', autouse=True)
    @classmethod
    def ray_local(cls):
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        yield
        ray.shutdown()

    def test_context_and_learned_aggregator_equal_local(self, tmp_path, capsys):
        extra = ('--context', '1', '--aggregation', 'gru', '--members', 'seeds:1', '--ensemble', 'members', '--calibration', 'none')
        local = _run(tmp_path, 'local', *extra); capsys.readouterr()
        remote = _run(tmp_path, 'ray', '--executor', 'ray', *extra)
        log = capsys.readouterr().out
        _same(local, remote, OUTS + ('cv_aggregations.csv',))
        ex = json.loads((remote/'effective_config.json').read_text())['execution']
        # ingestion shards + 2 folds + 2 fold aggregators + final model and its member + the final aggregator
        assert len(ex['task_seconds']) >= 2 + 2 + 2 + 1, ex['task_seconds']
        assert re.search(r'task \d+/\d+ ran on node', log)

    def test_grid_with_repeats_and_two_backbones_equals_local(self, tmp_path):
        grid = ('--run-grid', '--repeats', '2', '--grid-json',
                json.dumps([{}, {'arch': 'efficientnet_lite0', 'pretrained': False}]))
        local, remote = _run(tmp_path, 'local', *grid), _run(tmp_path, 'ray', '--executor', 'ray', *grid)
        _same(local, remote, OUTS + ('grid_folds.csv',))
        assert len(read_csv(remote/'grid_folds.csv')) == 2*2*2                      # candidates x repeats x folds

@pytest.fixture(scope='module')
def workers():
    "A loopback cluster whose head runs no task and two 1-CPU workers: each of the two folds sits on its own node."
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=0, include_dashboard=False))
    nodes = [c.add_node(num_cpus=1) for _ in range(2)]
    c.wait_for_nodes()
    yield c, nodes
    c.shutdown()

def _wait_for(pred, timeout=300):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout: raise AssertionError('timed out')
        time.sleep(.2)

def test_a_worker_node_removed_mid_cv_has_its_fold_retried(workers, tmp_path, capsys):
    c, nodes = workers
    local = _run(tmp_path, 'local'); capsys.readouterr()
    ray.init(address=c.address, log_to_driver=False)
    try:
        rc = {}
        t = threading.Thread(target=lambda: rc.setdefault('rc', cli_main(_args(
            tmp_path, 'ray', '--executor', 'ray', '--ray-address', c.address))))
        t.start()
        _wait_for(lambda: list((tmp_path/'ray').glob('run_*/cv')))             # the folds are running, one per node
        time.sleep(2)
        gone = nodes[0]; c.remove_node(gone)
        t.join(900)
    finally: ray.shutdown()
    log = capsys.readouterr().out
    assert rc.get('rc') == 0
    remote = next((tmp_path/'ray').glob('run_*'))
    _same(local, remote)                                                         # retried elsewhere, the same numbers
    cv_part = log.split('[figures] done')[1].split('[cv] done')[0]                # the CV map's placement lines
    assert set(re.findall(r'ran on node (\w+)', cv_part)) == {nodes[1].node_id[:8]}, cv_part[-1500:]

def test_an_interrupted_driver_resumes_with_its_finished_folds(workers, tmp_path, monkeypatch, capsys):
    "Ctrl-C in the driver right after the first fold came back (raised where the driver reports it), then --resume latest."
    from brainct_nb.cv import FitProgress
    c, _ = workers
    if len(c.list_all_nodes()) < 3: c.add_node(num_cpus=1); c.wait_for_nodes()
    args = _args(tmp_path, 'ray', '--executor', 'ray', '--ray-address', c.address, '--k-folds', '3')
    real = FitProgress.fit_done
    def ctrl_c_after_a_fold(self, name, summary=''):
        real(self, name, summary)
        if 'fold' in name: raise KeyboardInterrupt
    ray.init(address=c.address, log_to_driver=False)
    try:
        monkeypatch.setattr(FitProgress, 'fit_done', ctrl_c_after_a_fold)
        assert cli_main(args) == 130                                              # interrupted, the run marked so
        monkeypatch.undo()
        done = sorted(x.name for x in (tmp_path/'ray').glob('run_*/cv/fold*.json'))
        assert done and json.loads(next((tmp_path/'ray').glob('run_*/run_status.json')).read_text())['state'] == 'interrupted'
        capsys.readouterr()
        assert cli_main(args + ['--resume', 'latest']) == 0
        out = capsys.readouterr().out
    finally: ray.shutdown()
    assert out.count('finished earlier, reused') >= len(done) >= 1
    local = _run(tmp_path, 'local', '--k-folds', '3')
    _same(local, next((tmp_path/'ray').glob('run_*')))
