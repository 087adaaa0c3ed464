"Issue #40: Ray across nodes on loopback (ray.cluster_utils.Cluster, 1 CPU per node, 127.0.0.1 only): per-fit resources sized to one node, a request no node holds fails at once, and a study run on a 3-node cluster equals the local run at the same thread count, its log naming the node of every fold."
import json, os, re
from pathlib import Path
import numpy as np, pytest
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
ray = pytest.importorskip('ray', reason="the 'ray' extra is not installed")
from ray.cluster_utils import Cluster
from brainct_nb.cli import main as cli_main
from brainct_nb.data import read_csv

FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)

@pytest.fixture(scope='module')
def cluster():
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, include_dashboard=False))
    nodes = [c.add_node(num_cpus=1) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c, nodes
    ray.shutdown(); c.shutdown()

def _run(tmp_path, name, *extra):
    (tmp_path/'fast.json').write_text(json.dumps(FAST))
    args = ['run', '--demo', 'series', '--demo-n', '40', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
            '--seed', '1', '--config-json', str(tmp_path/'fast.json'), '--out-dir', str(tmp_path/name), *extra]
    assert cli_main(args) == 0
    return next((tmp_path/name).glob('run_*'))

def test_a_request_no_node_can_hold_fails_at_once(cluster, tmp_path, capsys):
    c, _ = cluster
    rc = cli_main(['run', '--demo-n', '40', '--executor', 'ray', '--ray-address', c.address, '--cpus-per-fit', '3',
                   '--out-dir', str(tmp_path), '--pretrained', 'false'])
    err = capsys.readouterr().err
    assert rc == 2 and '--cpus-per-fit 3' in err and 'no node of this Ray cluster can hold one fit' in err and '1 CPU' in err

def test_three_nodes_equal_local_and_name_the_node_of_each_fold(cluster, tmp_path, capsys):
    c, _ = cluster
    local = _run(tmp_path, 'local', '--cpus-per-fit', '1')
    capsys.readouterr()
    remote = _run(tmp_path, 'ray', '--executor', 'ray', '--ray-address', c.address)          # default: 1 CPU, one node's
    log = capsys.readouterr().out
    for f in ('cv_oof_predictions.csv', 'test_predictions.csv', 'cv_oof_slice_predictions.csv'):
        a, b = read_csv(local/f), read_csv(remote/f)
        np.testing.assert_array_equal(a.select_dtypes('number').values, b.select_dtypes('number').values)
    assert re.findall(r'task \d+/\d+ ran on node \w+', log)
    nodes = set(re.findall(r'ran on node (\w+)', log))
    assert len(nodes) >= 2, log[-3000:]                                                     # the folds spread over nodes

