"""Wall time of the same tiny series-demo study run (40 studies, 2 folds, 32 px, 1+1 epochs, 1 CPU per fit, context 1,
learned aggregator) locally, on one Ray node (2 CPUs) and on a 3-node loopback cluster (1 CPU each); the cluster run's
task placement. Writes bench_results/ray_walltimes_<date>.json. usage: python tools/ray_walltimes.py"""
import contextlib, datetime, io, json, os, platform, re, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
import ray
from ray.cluster_utils import Cluster
from brainct_nb.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)

def run(tmp, name, *extra):
    (tmp/'fast.json').write_text(json.dumps(FAST))
    args = ['run', '--demo', 'series', '--demo-n', '40', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false',
            '--seed', '4', '--context', '1', '--aggregation', 'gru', '--config-json', str(tmp/'fast.json'),
            '--cpus-per-fit', '1', '--out-dir', str(tmp/name), *extra]
    buf = io.StringIO(); t0 = time.time()
    with contextlib.redirect_stdout(buf): assert cli_main(args) == 0
    d = next((tmp/name).glob('run_*'))
    ex = json.loads((d/'effective_config.json').read_text())['execution']
    return dict(wall_s=round(time.time() - t0, 1), tasks=len(ex['task_seconds']),
                task_s_sum=round(sum(ex['task_seconds']), 1), log=buf.getvalue())

def main():
    tmp = Path(tempfile.mkdtemp()); res = {}
    res['local'] = run(tmp, 'local')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    res['ray_one_node'] = run(tmp, 'ray1', '--executor', 'ray'); ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, include_dashboard=False))
    for _ in range(2): c.add_node(num_cpus=1)
    c.wait_for_nodes(); ray.init(address=c.address, log_to_driver=False)
    res['ray_three_nodes'] = run(tmp, 'ray3', '--executor', 'ray', '--ray-address', c.address)
    ray.shutdown(); c.shutdown()
    log = res['ray_three_nodes']['log']; table, pending = [], []
    for line in log.splitlines():                       # a task line belongs to the step whose '[step] done' follows it
        t = re.search(r'task (\d+)/(\d+) ran on node (\w+) worker (\w+) in (\d+)s', line)
        if t: pending.append(dict(task=f'{t[1]}/{t[2]}', node=t[3], worker=t[4], seconds=int(t[5])))
        m = re.search(r'\[(\w+)\] done', line)
        if m: table += [dict(step=m[1], **r) for r in pending]; pending = []
    (ROOT/'bench_results'/f"ray_walltimes_{datetime.date.today().isoformat()}_three_nodes.log").write_text(log)
    for k in res: res[k].pop('log')
    out = dict(date=datetime.date.today().isoformat(), machine=f'{platform.machine()}, {os.cpu_count()} CPUs',
               data='series demo (phantoms), 40 studies', runs=res, three_node_placement=table)
    f = ROOT/'bench_results'/f"ray_walltimes_{out['date']}.json"; f.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))

if __name__ == '__main__': main()
