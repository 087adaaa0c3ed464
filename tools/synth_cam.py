"""Where does the model look? Grad-CAM of a finished run's final model on the positive slices of its *test* studies of a
`brainct synth` dataset, against the lesion masks the generator wrote (#36 item 5c): the fraction of each map's mass
inside the lesion (occupancy >= 0.5, mapped through the same head box and letterbox as the crop), beside the lesion's
share of the crop (what a map spread evenly would score) and of the head.

    .venv/bin/python tools/synth_cam.py RUN_DIR SYNTH_DATA   -> bench_results/synth_cam_<date>.csv, a summary printed
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

def main(run_dir, data):
    run_dir, data = Path(run_dir), Path(data)
    model, meta = load_bundle(run_dir)
    if meta.context: raise SystemExit("a context-0 run, please: Grad-CAM here reads one slice")
    sp = pd.read_csv(run_dir/'features_split.csv', dtype={'ID': str})
    sl = pd.read_csv(data/'slices.csv', dtype={'ID': str})
    test = sl.merge(sp[['ID', 'split']], on='ID')
    test = test[(test.split == 'test') & (test.Label == 1)]
    rows, size = [], meta.out_size
    for study, g in test.groupby('study'):
        m = np.load(data/'masks'/f'{study}.npz'); pos = {i: k for k, i in enumerate(m['ID'])}
        crops, masks, heads = [], [], []
        for i in g.ID:
            hu = read_hu(data/'CTs'/f'{i}.dcm'); box = head_bbox(hu)
            crops.append(letterbox(hu, box, size))
            masks.append(letterbox(m['occupancy'][pos[i]].astype(np.float32), box, size, fill=0) >= 128)
            heads.append(letterbox((hu > -300).astype(np.float32)*1000, box, size, fill=0) >= 500)
        cams, probs = grad_cam(model, np.stack(crops), meta.window_ranges, meta.stats)
        for i, c, mk, hd, p in zip(g.ID, cams, masks, heads, probs):
            if not mk.any(): continue
            w = c/max(c.sum(), 1e-9)
            rows.append(dict(study=study, ID=i, lesion_px=int(mk.sum()), prob=float(p), cam_in_lesion=float(w[mk].sum()),
                             lesion_share_of_crop=float(mk.mean()), lesion_share_of_head=float(mk.sum()/max(hd.sum(), 1))))
    t = pd.DataFrame(rows); t.to_csv(ROOT/'bench_results'/f'synth_cam_{date.today()}.csv', index=False)
    s = dict(slices=len(t), studies=int(t.study.nunique()), median_cam_in_lesion=float(t.cam_in_lesion.median()),
             median_lesion_share_of_crop=float(t.lesion_share_of_crop.median()),
             median_lesion_share_of_head=float(t.lesion_share_of_head.median()),
             share_of_slices_above_chance=float((t.cam_in_lesion > t.lesion_share_of_head).mean()),
             run=run_dir.name, out_size=size)
    print(json.dumps(s, indent=1)); return s

if __name__ == '__main__': main(*sys.argv[1:3])
