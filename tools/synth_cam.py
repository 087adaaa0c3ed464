"""Where does the model look? Grad-CAM of a finished run's final model on the positive slices of its *test* studies of a
`brainct synth` dataset, against the lesion masks the generator wrote (#36 item 5c): the fraction of each map's mass
inside the lesion (occupancy >= 0.5, mapped through the same head box and letterbox as the crop), beside the lesion's
share of the crop (what a map spread evenly would score) and of the head.

    .venv/bin/python tools/synth_cam.py RUN_DIR SYNTH_DATA [TAG]  -> bench_results/synth_cam_<TAG or date>.csv and .jpg
    (the slices with the largest lesions, map and mask outline), a summary printed
"""
import json, sys, warnings
from datetime import date
from pathlib import Path
import numpy as np, pandas as pd
warnings.simplefilter('ignore')
from brainct_nb.dicom import read_hu
from brainct_nb.windowing import head_bbox, letterbox
from brainct_nb.bundle import load_bundle
from brainct_nb.trust import grad_cam

ROOT = Path(__file__).resolve().parents[1]

def main(run_dir, data, tag=None):
    tag = tag or str(date.today())
    run_dir, data = Path(run_dir), Path(data)
    model, meta = load_bundle(run_dir)
    if meta.context: raise SystemExit("a context-0 run, please: Grad-CAM here reads one slice")
    sp = pd.read_csv(run_dir/'features_split.csv', dtype={'ID': str})
    sl = pd.read_csv(data/'slices.csv', dtype={'ID': str})
    test = sl.merge(sp[['ID', 'split']], on='ID')
    test = test[(test.split == 'test') & (test.Label == 1)]
    rows, size, shown = [], meta.out_size, []
    for study, g in test.groupby('study'):
        m = np.load(data/'masks'/f'{study}.npz'); pos = {i: k for k, i in enumerate(m['ID'])}
        crops, masks, heads = [], [], []
        for i in g.ID:
            hu = read_hu(data/'CTs'/f'{i}.dcm'); box = head_bbox(hu)
            crops.append(letterbox(hu, box, size))
            masks.append(letterbox(m['occupancy'][pos[i]].astype(np.float32), box, size, fill=0) >= 128)
            heads.append(letterbox((hu > -300).astype(np.float32)*1000, box, size, fill=0) >= 500)
        cams, probs = grad_cam(model, np.stack(crops), meta.window_ranges, meta.stats)
        for i, cr, c, mk, hd, p in zip(g.ID, crops, cams, masks, heads, probs):
            if not mk.any(): continue
            w = c/max(c.sum(), 1e-9); shown.append((int(mk.sum()), i, cr, c, mk, float(p)))
            rows.append(dict(study=study, ID=i, lesion_px=int(mk.sum()), prob=float(p), cam_in_lesion=float(w[mk].sum()),
                             lesion_share_of_crop=float(mk.mean()), lesion_share_of_head=float(mk.sum()/max(hd.sum(), 1))))
    t = pd.DataFrame(rows); t.to_csv(ROOT/'bench_results'/f'synth_cam_{tag}.csv', index=False)
    figure(sorted(shown, key=lambda r: -r[0])[:6], ROOT/'bench_results'/f'synth_cam_{tag}.jpg', size)
    s = dict(slices=len(t), studies=int(t.study.nunique()), median_cam_in_lesion=float(t.cam_in_lesion.median()),
             median_lesion_share_of_crop=float(t.lesion_share_of_crop.median()),
             median_lesion_share_of_head=float(t.lesion_share_of_head.median()),
             share_of_slices_above_chance=float((t.cam_in_lesion > t.lesion_share_of_head).mean()),
             run=run_dir.name, out_size=size)
    print(json.dumps(s, indent=1)); return s

def figure(shown, path, size):
    "The slices with the largest lesions: the crop at 0-80 HU, the map over it, the lesion mask's outline in white."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    from brainct_nb.trust import cam_overlay
    fig, axs = plt.subplots(1, len(shown), figsize=(2.2*len(shown), 2.5), squeeze=False)
    for ax, (n, i, cr, c, mk, p) in zip(axs[0], shown):
        w = c/max(c.sum(), 1e-9)
        cam_overlay(ax, cr, c/max(c.max(), 1e-9), f'p {p:.2f}; {100*w[mk].sum():.1f}% of map\nin {100*mk.mean():.1f}% of crop')
        ax.contour(mk, levels=[.5], colors='white', linewidths=.8)
    fig.suptitle(f'Grad-CAM at {size} px on synthetic test lesions (outline: the lesion mask)', fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=64, pil_kwargs=dict(quality=85)); plt.close(fig)

if __name__ == '__main__': main(*sys.argv[1:4])
