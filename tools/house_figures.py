"""The house's figures, measured the way issue #23 measured them: exported cells (lines, top-level definitions), test
cells (how many hidden), code lines over 120 characters, module sizes, public functions with many parameters.
    python tools/house_figures.py [NBS PKG]
    python tools/house_figures.py --before CHECKOUT --out bench_results/house_figures_DATE.csv   # side by side"""
import ast, json, re, sys
from pathlib import Path

def code_cells(nb_dir):
    for p in sorted(Path(nb_dir).glob('*.ipynb')):
        for c in json.loads(p.read_text())['cells']:
            if c['cell_type'] == 'code': yield p.stem, c.get('id'), ''.join(c['source'])

def n_defs(src):
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
    except SyntaxError: return 0
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)

def figures(nb_dir='nbs', pkg='brainct_nb'):
    exp, tests, hidden, lines, long = [], 0, 0, 0, 0
    for nb, cid, src in code_cells(nb_dir):
        body = [l for l in src.splitlines() if not l.startswith('#|')]
        lines += len(body); long += sum(len(l) > 120 for l in body)
        flags = ' '.join(l for l in src.splitlines() if l.startswith('#|'))
        if re.search(r'#\|\s*export', flags): exp.append((len(body), n_defs(src), f'{nb}#{cid}'))
        elif re.search(r'\btest_\w+\(|\bassert\b', src) and 'default_exp' not in flags:
            tests += 1; hidden += bool(re.search(r'#\|\s*hide', flags))
    many = []
    for p in sorted(Path(pkg).glob('*.py')):
        if p.name.startswith('_'): continue
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not n.name.startswith('_'):
                k = len(n.args.args) + len(n.args.kwonlyargs) - bool(n.args.args and n.args.args[0].arg in ('self', 'cls'))
                if k > 10: many.append(f'{p.stem}.{n.name} ({k})')
    mods = sorted(((p.stat().st_size, p.name) for p in Path(pkg).glob('*.py') if not p.name.startswith('_')), reverse=True)
    big = max(exp)
    return dict(exported_cells=len(exp), mean_lines=round(sum(e[0] for e in exp)/len(exp), 1),
                defs_per_cell=round(sum(e[1] for e in exp)/len(exp), 2), over_40_lines=sum(e[0] > 40 for e in exp),
                largest=f'{big[2]} ({big[0]} lines)', test_cells=tests, hidden_test_cells=hidden,
                pct_lines_over_120=round(100*long/lines, 1), code_lines=lines,
                largest_modules=[f'{n} {s/1024:.0f} KB' for s, n in mods[:3]], public_functions_over_10_params=many)

NBDEV = dict(mean_lines=12, defs_per_cell=1.1, hidden_test_cells='41 of 114', pct_lines_over_120=3.4)   # issue #23's reading

def compare(before, out):
    "Figures of the checkout `before` and of this one, with nbdev's where issue #23 gives them, as a CSV."
    import pandas as pd
    a, b = figures(Path(before)/'nbs', Path(before)/'brainct_nb'), figures()
    rows = [dict(measure=k, before=a[k], now=b[k], nbdev=NBDEV.get(k, '')) for k in b]
    df = pd.DataFrame(rows); df.to_csv(out, index=False); print(df.to_string(index=False))

if __name__ == '__main__':
    if sys.argv[1:2] == ['--before']: compare(sys.argv[2], sys.argv[sys.argv.index('--out') + 1])
    else:
        for k, v in figures(*sys.argv[1:]).items(): print(f'{k}: {v}')
