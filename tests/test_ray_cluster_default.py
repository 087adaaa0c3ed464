"Issue #40 item 4: at the default settings (no --cpus-per-fit, no thread count), a study run on a 3-node loopback Ray cluster whose nodes are the size of this machine equals the local run exactly: both fit with one node's CPUs as threads."
import json, os, re
import numpy as np, pytest
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
ray = pytest.importorskip('ray', reason="the 'ray' extra is not installed")
from ray.cluster_utils import Cluster
from brainct_nb.cli import main as cli_main
from brainct_nb.data import read_csv

FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)
CPUS = os.cpu_count() or 1

@pytest.fixture(scope='module')
def cluster():
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=CPUS, include_dashboard=False))
    for _ in range(2): c.add_node(num_cpus=CPUS)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown(); c.shutdown()

def _run(tmp_path, name, *extra):
    (tmp_path/'fast.json').write_text(json.dumps(FAST))
    args = ['run', '--demo', 'series', '--demo-n', '40', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
            '--seed', '2', '--config-json', str(tmp_path/'fast.json'), '--out-dir', str(tmp_path/name), *extra]
    assert cli_main(args) == 0
    return next((tmp_path/name).glob('run_*'))

def test_default_settings_local_equals_a_three_node_cluster(cluster, tmp_path, capsys):
    local = _run(tmp_path, 'local')                                                  # no executor flags at all
    capsys.readouterr()
    remote = _run(tmp_path, 'ray', '--executor', 'ray', '--ray-address', cluster.address)
    log = capsys.readouterr().out
    for f in ('cv_oof_predictions.csv', 'test_predictions.csv', 'cv_oof_slice_predictions.csv'):
        a, b = read_csv(local/f), read_csv(remote/f)
        np.testing.assert_array_equal(a.select_dtypes('number').values, b.select_dtypes('number').values)
    la, ra = (json.loads((d/'effective_config.json').read_text()) for d in (local, remote))
    assert la['execution']['threads_per_fit'] == ra['execution']['threads_per_fit'] == CPUS
    assert len(set(re.findall(r'ran on node (\w+)', log))) >= 2
