"The CLI's help is instant and complete: built from RunParams' documentation without torch; run.ipynb's parameters agree."
import ast, json, subprocess, sys
from dataclasses import fields
from pathlib import Path
from brainct_nb.params import RunParams, param_docs

ROOT = Path(__file__).resolve().parents[1]

def test_help_imports_nothing_heavy():
    code = ("import sys; from brainct_nb.cli import build_parser; ap = build_parser(); ap.format_help(); "
            "[a.choices['run'].format_help() for a in ap._subparsers._group_actions]; "
            "print(sorted({'torch', 'fastai', 'sklearn', 'ray', 'dcurves', 'pydicom', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == '[]', out

def test_every_run_flag_is_explained():
    from brainct_nb.cli import build_parser
    run = build_parser()._subparsers._group_actions[0].choices['run']
    for a in run._actions:
        if a.dest in ('help', 'debug'): continue
        assert a.help and not a.help.startswith('default:') and len(a.help) > 25, (a.dest, a.help)
    assert len([a for a in run._actions if a.dest not in ('help', 'debug')]) == len(fields(RunParams))

def test_run_notebook_parameters_are_runparams():
    nb = json.loads((ROOT/'nbs'/'run.ipynb').read_text())
    cell = next(c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', []))
    got = {t.targets[0].id: ast.literal_eval(t.value) for t in ast.parse(''.join(cell['source'])).body if isinstance(t, ast.Assign)}
    got.pop('PAPERMILL_OUTPUT_PATH')
    want = {k: d for k, (_, d) in param_docs().items() if k != 'verbose'}
    assert got == want

def test_pull_and_listen_say_what_is_missing(tmp_path, capsys):
    from brainct_nb.cli import main
    assert main(['pull', '--dicomweb', 'http://127.0.0.1:1/dicom-web', '--spool', str(tmp_path/'s')]) == 2
    assert '--run is required' in capsys.readouterr().err
    assert main(['listen', '--report', '--spool', str(tmp_path/'s')]) == 0
    assert 'no studies yet' in capsys.readouterr().out
