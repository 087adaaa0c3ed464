"""Write the expected head boxes of every real slice we have (tests/data/head_boxes.csv) and draw them for a check by eye.

    .venv/bin/python tools/head_boxes.py --draw /tmp/boxes     # draws pages of 20 slices with the boxes, writes nothing
    .venv/bin/python tools/head_boxes.py --write               # (re)writes tests/data/head_boxes.csv from today's head_bbox

The table is the reference `tests/test_windowing_real.py` holds head_bbox to: rewrite it only after looking at every
page, and say in the commit what changed and why."""
import argparse, glob, sys, warnings
from pathlib import Path
import numpy as np, pandas as pd
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent/'shared'/'data'/'real-head-ct'
OUT = ROOT/'tests'/'data'/'head_boxes.csv'

def real_slices():
    "(set, file name, path) of the GE series, the RSNA series and pydicom-data's head slice."
    from pydicom.data import get_testdata_file
    out = [('ge-hispeed-series', Path(p).name, p) for p in sorted(glob.glob(str(DATA/'ge-hispeed-series'/'*.dcm')))]
    out += [('rsna-series-unlabelled', Path(p).name, p) for p in sorted(glob.glob(str(DATA/'rsna-series-unlabelled'/'*.dcm')))]
    out.append(('pydicom-data', '693_UNCR.dcm', get_testdata_file('693_UNCR.dcm')))
    return out

def note(hu, ok, box):
    if not ok: return 'no head in view (vertex or headrest only): full image, flagged'
    t, b, l, r = box
    return 'whole head inside; headrest outside' + ('; small cap of the vertex' if (b - t)*(r - l) < .15*hu.size else '')

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--draw'); ap.add_argument('--write', action='store_true'); a = ap.parse_args()
    warnings.filterwarnings('ignore', module='pydicom')
    from brainct_nb.dicom import read_hu
    from brainct_nb.windowing import head_bbox
    rows = []
    for s, name, p in real_slices():
        hu = read_hu(p); box, ok = head_bbox(hu, return_ok=True)
        rows.append(dict(set=s, file=name, top=box[0], bottom=box[1], left=box[2], right=box[3], head_found=ok, note=note(hu, ok, box)))
    df = pd.DataFrame(rows)
    if a.write: df.to_csv(OUT, index=False); print(f'{len(df)} boxes -> {OUT}')
    if a.draw:
        import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
        Path(a.draw).mkdir(parents=True, exist_ok=True)
        sl = real_slices()
        for k in range(0, len(sl), 20):
            fig, axs = plt.subplots(4, 5, figsize=(15, 12))
            for ax in axs.flat: ax.axis('off')
            for ax, (s, name, p), (_, r) in zip(axs.flat, sl[k:k+20], df.iloc[k:k+20].iterrows()):
                ax.imshow(np.clip(read_hu(p), -200, 400), cmap='gray')
                ax.add_patch(plt.Rectangle((r.left, r.top), r.right-r.left, r.bottom-r.top, fill=False, ec='lime' if r.head_found else 'red'))
                ax.set_title(f'{s[:4]} {name[:12]} {r.top},{r.bottom},{r.left},{r.right}', fontsize=8)
            fig.tight_layout(); fig.savefig(Path(a.draw)/f'boxes_{k//20:02d}.png', dpi=45); plt.close(fig)
if __name__ == '__main__': main()
