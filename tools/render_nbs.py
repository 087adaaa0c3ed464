"""Execute the numbered notebooks (and eda, scaling_out) in place so the docs site shows their figures and tables (`#| slow` cells skipped).

Usage: .venv/bin/python tools/render_nbs.py [NB ...]; then `nbdev_clean`. Outputs are kept small: stderr streams
(library warnings) are dropped, figures are JPEG at 64 dpi, and text outputs over 4,000 characters are cut.
"""
import re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

NBS = Path(__file__).resolve().parents[1]/'nbs'
SKIP = re.compile(r'^#\|\s*(slow|notest)\b', re.M)

def _small(outs):
    keep = []
    for o in outs:
        if o.get('name') == 'stderr': continue
        if o.get('output_type') == 'stream' and len(''.join(o.get('text', ''))) > 4000:
            o['text'] = ''.join(o['text'])[:4000] + '\n... (cut)\n'
        keep.append(o)
    return keep

def render(fn:Path):
    nb = read_nb(fn); t0 = time.time()
    k = CaptureShell(fn, mpl_format='jpeg')
    k.run_cell("import matplotlib; matplotlib.rcParams['figure.dpi'] = 64; matplotlib.rcParams['savefig.pil_kwargs'] = {'quality': 80}")
    with working_directory(fn.parent):
        k.run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != 'code' or bool(SKIP.search(c.source)))
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = _small(c.get('outputs', []))
    write_nb(nb, fn)
    print(f"{fn.name}: {time.time() - t0:.0f}s, {sum(len(c.get('outputs', [])) for c in nb.cells)} outputs")

if __name__ == '__main__':
    names = sys.argv[1:] or sorted(p.name for p in NBS.glob('[0-9]*.ipynb')) + ['eda.ipynb', 'scaling_out.ipynb']
    for n in names: render(NBS/n)
