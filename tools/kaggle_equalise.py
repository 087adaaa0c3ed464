"""The kaggle-head-ct set with its size shortcut removed: every image resampled in HU (antialiased) so that its longer
side is SIDE px, then padded with air to SIDE x SIDE, before it is written as DICOM in the seed's layout.

In the files as they are, positive images are larger (median 226k vs 81k pixels) and carry less background: image size
alone ranks the classes with ROC-AUC 0.80. After this every image has the same size and passes through the same
resolution, so neither size nor source sharpness from resolution can be learned. Prints the size/background AUCs before
and after (they must fall to chance).

    .venv/bin/python tools/kaggle_equalise.py [SRC] [DST] [--side 256]
"""
import argparse, shutil
from pathlib import Path
import numpy as np, pandas as pd, pydicom, torch, torch.nn.functional as F
from sklearn.metrics import roc_auc_score

AIR = -1024

def equalise(hu:np.ndarray, side:int) -> np.ndarray:
    "`hu` resampled (bilinear, antialiased, in HU) to a longer side of `side` px and centred on a `side` x `side` air canvas."
    h, w = hu.shape; s = side/max(h, w); nh, nw = max(1, round(h*s)), max(1, round(w*s))
    t = F.interpolate(torch.from_numpy(hu.astype(np.float32))[None, None], (nh, nw), mode='bilinear', antialias=True, align_corners=False)[0, 0]
    out = np.full((side, side), AIR, np.float32); y, x = (side - nh)//2, (side - nw)//2
    out[y:y+nh, x:x+nw] = t.numpy(); return np.round(out).astype(np.int16)

def shortcut_aucs(root:Path) -> dict:
    "ROC-AUC of image size (pixels) and of the air fraction alone, per the labels (0.5 = no shortcut)."
    lab = pd.read_csv(root/'labels1.csv', dtype={'ID': str}); rows = []
    for i in lab.ID:
        d = pydicom.dcmread(root/'CTs'/f'{i}.dcm'); a = d.pixel_array*float(d.RescaleSlope) + float(d.RescaleIntercept)
        rows.append((a.size, float((a <= -900).mean())))
    n, air = np.array(rows).T
    return dict(size=roc_auc_score(lab.Label, n), air_fraction=roc_auc_score(lab.Label, air))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('src', nargs='?', default=str(Path(__file__).resolve().parents[2]/'shared/data/kaggle-head-ct'))
    ap.add_argument('dst', nargs='?', default='/tmp/kaggle-head-ct-equalised'); ap.add_argument('--side', type=int, default=256)
    a = ap.parse_args(); src, dst = Path(a.src), Path(a.dst)
    (dst/'CTs').mkdir(parents=True, exist_ok=True); shutil.copy(src/'labels1.csv', dst/'labels1.csv')
    for f in sorted((src/'CTs').glob('*.dcm')):
        d = pydicom.dcmread(f); slope, icpt = float(d.RescaleSlope), float(d.RescaleIntercept)
        hu = equalise(d.pixel_array*slope + icpt, a.side)
        d.PixelData = np.round((hu - icpt)/slope).astype(np.int16).tobytes(); d.Rows = d.Columns = a.side
        d.save_as(dst/'CTs'/f.name)
    print(f"{src} -> {dst} ({a.side} px)"); print('shortcut ROC-AUC as the files are:', shortcut_aucs(src))
    print('after equalising:', shortcut_aucs(dst))

if __name__ == '__main__': main()
