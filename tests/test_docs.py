"The set-up a newcomer gets and the docs build: README commands = CI, README = index.ipynb, docs pre-processing clean."
import json, re, subprocess, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def _block(md, heading):
    sec = md.split(f'## {heading}\n', 1)[1]
    return re.search(r'```sh\n(.*?)```', sec, re.S).group(1).strip().splitlines()

def test_readme_commands_are_what_ci_runs():
    md, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text().splitlines()
    install, test = _block(md, 'Install'), _block(md, 'Test')
    assert install and test
    for line in install + test: assert line in ci, f"README command not in .ci/run: {line}"
    assert '[dev,effnet,ray,pacs]' in install[0]                         # the EfficientNet tests run for a newcomer too

def test_readme_is_the_index_notebook():
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    assert len(nb['cells']) == 1 and ''.join(nb['cells'][0]['source']).strip() == (ROOT/'README.md').read_text().strip()

def test_docs_preprocessing_is_clean():
    from nbdev.serve import proc_nbs
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        cache = Path(proc_nbs(str(ROOT/'nbs'), n_workers=0, force=True))
    bad = [str(x.message).split('---')[1].strip()[:80] for x in w if 'Found cells containing imports' in str(x.message)]
    assert not bad, bad
    nbs = {p.name for p in (ROOT/'nbs').glob('*.ipynb')}
    assert nbs <= {p.name for p in cache.glob('*.ipynb')}

def test_nbdev_workflows_and_no_run_output_in_nbs():
    wf = ROOT/'.github'/'workflows'
    assert 'fastai/workflows/nbdev-ci@master' in (wf/'test.yaml').read_text()
    assert 'fastai/workflows/quarto-ghp@master' in (wf/'deploy.yaml').read_text()
    try: tracked = subprocess.run(['git', 'ls-files', 'nbs'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError): pytest.skip('not a git checkout')
    assert not [f for f in tracked if f.endswith(('.npy', '.dcm', '.pt')) or '/outputs/' in f or f.endswith('sidebar.yml')]
    figs = [f for f in tracked if f.startswith('nbs/images/')]                 # the README's figure(s), small
    assert set(Path(f).suffix for f in tracked if f not in figs) <= {'.ipynb', '.yml', '.css'}
    assert all(Path(f).suffix in ('.jpg', '.png') and (ROOT/f).stat().st_size < 200_000 for f in figs), figs

def test_readme_figures_are_committed():
    "The README's images point at files in this repository (raw GitHub URLs resolve on GitHub and in the docs site)."
    md = (ROOT/'README.md').read_text()
    urls = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', md)
    assert urls
    for u in urls:
        rel = u.split('/brainct_nb/main/', 1)[1] if u.startswith('https://raw.githubusercontent.com/') else u
        assert (ROOT/rel).exists(), u

def test_run_notebook_has_every_parameter():
    "run.ipynb's parameters cell and its start_run call cover every RunParams field (the CLI is generated from the same dataclass)."
    import ast
    from dataclasses import fields
    from brainct_nb.pipeline import RunParams
    nb = json.loads((ROOT/'nbs'/'run.ipynb').read_text())
    params = next(c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', []))
    names = {t.id for n in ast.parse(''.join(params['source'])).body if isinstance(n, ast.Assign) for t in n.targets}
    call = ''.join(next(c for c in nb['cells'] if 'start_run(' in ''.join(c['source']))['source'])
    want = {f.name for f in fields(RunParams)} - {'verbose'}
    assert want <= names, want - names
    assert all(f'{n}={n}' in call for n in want), [n for n in want if f'{n}={n}' not in call]
    assert nb['metadata']['kernelspec']['name'] == 'python3'

def test_run_notebook_follows_steps():
    "run.ipynb calls the steps in the order of pipeline.STEPS (which run_all and brainct run follow), each once."
    from brainct_nb.pipeline import STEPS
    nb = json.loads((ROOT/'nbs'/'run.ipynb').read_text())
    calls = re.findall(r'\b(step_\w+)\(run', '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code'))
    assert calls == [s.__name__ for s in STEPS], calls
