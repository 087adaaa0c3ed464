"""Inserted lesions looked at by eye (#36 item 2) and two realism checks, from a `brainct synth` dataset:

- a figure: one inserted lesion of each type (crop around it) above real bleeds from kaggle-head-ct, all at the same
  window (0-80 HU), written to bench_results/synth_vs_real_<date>.jpg;
- per positive study: the lesion core's mean HU, and the noise (robust SD of the high-pass residual) inside the lesion
  against the uniform brain around it (20-45 HU, 4 px from any edge, as `measure_look` reads it) (an inserted region must not be smoother than its surroundings; CT-GAN's lesson), written to
  bench_results/synth_realism_<date>.csv with a summary per type printed.

    .venv/bin/python tools/synth_figures.py SYNTH_DATA [KHCT_DIR]
"""
import json, sys, warnings
from datetime import date
from pathlib import Path
import numpy as np, pandas as pd, pydicom
from scipy import ndimage as ndi
warnings.simplefilter('ignore')
import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
from brainct_nb.dicom import read_hu

ROOT = Path(__file__).resolve().parents[1]
WIN = (0, 80)

def study_volume(data, study, ids):
    return np.stack([read_hu(data/'CTs'/f'{i}.dcm') for i in ids])

def realism(data):
    "One row per lesion-bearing study: type(s), core mean HU, residual SD inside the core and in the brain around it."
    st = pd.read_csv(data/'studies.csv'); rows = []
    for r in st[st.Label == 1].itertuples():
        m = np.load(data/'masks'/f'{r.study}.npz'); occ = m['occupancy']/255.; vol = study_volume(data, r.study, m['ID'])
        core = ndi.binary_erosion(occ > .99, structure=np.ones((1, 5, 5)))
        if core.sum() < 30: continue
        ring = ndi.binary_dilation(occ > 0, structure=np.ones((1, 15, 15))) & ~ndi.binary_dilation(occ > 0, structure=np.ones((1, 5, 5)))
        ring &= ndi.binary_erosion((vol > 20) & (vol < 45), structure=np.ones((1, 9, 9)))   # uniform brain, as measured
        res = vol - ndi.gaussian_filter(vol, (0, 2, 2))
        sd = lambda r: float(1.4826*np.median(np.abs(r - np.median(r))))            # robust: an edge is not noise
        kinds = '+'.join(l['type'] for l in json.loads(r.lesions))
        rows.append(dict(study=r.study, types=kinds, core_voxels=int(core.sum()), core_mean_hu=float(vol[core].mean()),
                         noise_inside=sd(res[core]), noise_around=sd(res[ring]) if ring.sum() > 30 else np.nan))
    t = pd.DataFrame(rows); t['noise_ratio'] = t.noise_inside/t.noise_around
    return t

def figure(data, khct, out):
    st = pd.read_csv(data/'studies.csv'); picks = {}
    for r in st[st.Label == 1].itertuples():
        ls = json.loads(r.lesions)
        if len(ls) == 1 and ls[0]['type'] not in picks: picks[ls[0]['type']] = r
    kinds = [k for k in ('iph', 'sdh', 'edh', 'ivh', 'sah') if k in picks]
    real = []
    if khct is not None and (khct/'labels1.csv').exists():
        lab = pd.read_csv(khct/'labels1.csv', dtype={'ID': str}); real = list(lab.ID[lab.Label == 1][:len(kinds) or 5])
    fig, ax = plt.subplots(2, max(len(kinds), len(real), 1), figsize=(2.4*max(len(kinds), len(real), 1), 5))
    ax = np.atleast_2d(ax)
    for j, k in enumerate(kinds):
        r = picks[k]; m = np.load(data/'masks'/f'{r.study}.npz'); occ = m['occupancy']
        z = int(np.argmax((occ > 127).sum((1, 2)))); hu = read_hu(data/'CTs'/f"{m['ID'][z]}.dcm")
        ys, xs = np.where(occ[z] > 12); cy, cx = int(ys.mean()), int(xs.mean()); h = 80
        y0, x0 = int(np.clip(cy - h, 0, hu.shape[0] - 2*h)), int(np.clip(cx - h, 0, hu.shape[1] - 2*h))
        ax[0, j].imshow(hu[y0:y0 + 2*h, x0:x0 + 2*h], cmap='gray', vmin=WIN[0], vmax=WIN[1])
        l = json.loads(r.lesions)[0]
        ax[0, j].set_title(f"inserted {k.upper()}\n{l['volume_ml']} mL, {l['level_hu']:.0f} HU", fontsize=8)
    for j, i in enumerate(real):
        ax[1, j].imshow(read_hu(khct/'CTs'/f'{i}.dcm'), cmap='gray', vmin=WIN[0], vmax=WIN[1])
        ax[1, j].set_title(f'real bleed ({i})', fontsize=8)
    for a in ax.ravel(): a.axis('off')
    fig.suptitle(f'top: synthetic-on-real (brainct synth); bottom: kaggle-head-ct positives; window {WIN[0]}-{WIN[1]} HU',
                 fontsize=9)
    fig.tight_layout(); fig.savefig(out, dpi=70, pil_kwargs=dict(quality=70))

if __name__ == '__main__':
    data = Path(sys.argv[1]); khct = Path(sys.argv[2]) if len(sys.argv) > 2 else None; tag = str(date.today())
    figure(data, khct, ROOT/'bench_results'/f'synth_vs_real_{tag}.jpg')
    t = realism(data); t.to_csv(ROOT/'bench_results'/f'synth_realism_{tag}.csv', index=False)
    t['first_type'] = t.types.str.split('+').str[0]
    print(t.groupby('first_type')[['core_mean_hu', 'noise_inside', 'noise_around', 'noise_ratio']].median().round(2).to_string())
