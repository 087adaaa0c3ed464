"`tools/gpu_check.sh --dry-run`: the GPU check's every part, on the CPU at tiny sizes, so the script cannot rot between GPU runs."
import importlib.metadata as md, json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_gpu_check_dry_run(tmp_path):
    mods = tmp_path/'mods'; mods.mkdir()
    # no real series beside the clone (a clean clone, issue #33 item 7): the bench once read deleted files then
    env = {**os.environ, 'OUT': str(tmp_path), 'PY': sys.executable, 'TRACE_MODS_DIR': str(mods),
           'BRAINCT_REAL_DATA': str(tmp_path/'no-real-data'),
           'PYTHONPATH': os.pathsep.join([str(ROOT/'tools'/'import_trace')] + ([os.environ['PYTHONPATH']] if 'PYTHONPATH' in os.environ else []))}
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

    # the packages the GPU check imports, less the GPU image's own, are exactly those tools/gpu_wheels.sh carries
    # (fastprogress 1.1 imports python-fasthtml: a run on the GPU machine once stopped at that import)
    norm = lambda n: re.sub(r'[-_.]+', '-', n.lower())
    dists = md.packages_distributions()
    imported = {norm(d) for f in mods.glob('*.txt') for m in f.read_text().split() for d in dists.get(m, [])}
    assert len(list(mods.glob('*.txt'))) >= 5 and 'fastai' in imported            # every part's processes were traced
    image = {norm(l) for l in (ROOT/'tools'/'gpu_image_packages.txt').read_text().split('\n') if l and not l.startswith('#')}
    names = re.search(r'NAMES="([^"]+)"', (ROOT/'tools'/'gpu_wheels.sh').read_text())[1].split()
    missing = sorted(imported - image - {norm(n) for n in names} - {'brainct-nb'})
    assert not missing, f'imported by the GPU check, absent from the GPU image and not carried by gpu_wheels.sh: {missing}'


def test_gpu_check_exits_with_its_worst_part(tmp_path):
    "A part that fails makes the whole script fail (it once exited 0 with its bench part at rc=2)."
    env = {**os.environ, 'OUT': str(tmp_path), 'PY': 'false'}                     # every part fails at once
    r = subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh'), '--dry-run'], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and 'FAILED: a part exited with rc=1' in (tmp_path/'gpu_check.log').read_text()
