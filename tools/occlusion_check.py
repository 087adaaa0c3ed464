"""Does the score fall when the bleed is covered? Occlusion on the out-of-fold images of a finished CV (each image scored
by the fold model that never saw it): every non-overlapping patch of side S/8 inside the head has its brain pixels (0-80 HU:
not air, not the skull, which saturates at 80 HU in this set) set to normal brain (30 HU) in turn. kaggle-head-ct has no lesion masks, so the tool reports what can be measured without them:

- the drop of the score when the single most influential patch is covered, for positives and for negatives, against
  covering a random in-head patch (a model that reads image size or blur barely cares which patch is covered);
- how hyperdense the most influential patch is: its share of 55-79 HU pixels (fresh blood; bone saturates at 80 HU in
  this set) against the image's other in-head patches;
- the score with every blood-range pixel inside the brain (55-79 HU, more than 3 px from saturated bone: "the bleed
  covered" without a mask) in-painted with the mean of the normal brain around them, against the same number of
  other brain pixels in-painted alike (the control);
- a figure of the positives with their occlusion maps, to be looked at.

    .venv/bin/python tools/occlusion_check.py RUN_DIR DATA_ROOT TAG

Writes bench_results/occlusion_<TAG>_<date>.csv (one row per OOF image) and .png, prints the summary."""
import argparse, json
from datetime import datetime
from pathlib import Path
import numpy as np, pandas as pd, torch
from brainct_nb.dicom import project_salt
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropCache
from brainct_nb.model import arch_stats
from brainct_nb.bundle import model_from_weights
from brainct_nb.train import predict_crops
from brainct_nb.windowing import window_ranges, HEAD_HU

BRAIN_HU, BLOOD = 30, (55, 79)

def occlusion(model, crop, stats, n=8):
    "(score, drop map (n, n): score - score with that patch's brain pixels (0-80 HU; not air, not the saturated skull) set to 30 HU, NaN outside the head, patch blood share)."
    s = crop.shape[0]//n; head = crop > HEAD_HU; views, cells = [crop], []
    for i in range(n):
        for j in range(n):
            sl = np.s_[i*s:(i+1)*s, j*s:(j+1)*s]
            if head[sl].mean() < .5: continue
            v = crop.copy(); soft = (crop[sl] > 0) & (crop[sl] < 80)                # brain only: air and the saturated skull stay
            v[sl] = np.where(soft, BRAIN_HU, v[sl]); views.append(v)
            cells.append((i, j, float(((crop[sl] >= BLOOD[0]) & (crop[sl] <= BLOOD[1]) & head[sl]).mean())))
    p = predict_crops(model, np.stack(views), window_ranges(), stats)
    drop = np.full((n, n), np.nan); blood = np.full((n, n), np.nan)
    for (i, j, b), q in zip(cells, p[1:]): drop[i, j], blood[i, j] = p[0] - q, b
    return float(p[0]), drop, blood

def blood_cover(crop, rng, size=15):
    "(crop with the blood-range brain pixels in-painted with the local mean of the normal brain around them, crop with as many other brain pixels in-painted alike, their count)."
    from scipy import ndimage as ndi
    bone = ndi.binary_dilation(crop >= 80, iterations=3); brain = (crop > 0) & (crop < 80) & ~bone
    blood = brain & (crop >= BLOOD[0]) & (crop <= BLOOD[1]); normal = (brain & ~blood).astype(float)
    local = ndi.uniform_filter(crop*normal, size)/np.maximum(ndi.uniform_filter(normal, size), 1e-6)
    fill = np.where(ndi.uniform_filter(normal, size) > .05, local, BRAIN_HU)
    a = crop.copy(); a[blood] = np.round(fill[blood]); b = crop.copy()
    idx = rng.choice(np.flatnonzero(brain & ~blood), min(int(blood.sum()), int((brain & ~blood).sum())), replace=False)
    b.flat[idx] = np.round(fill.flat[idx]); return a, b, int(blood.sum())

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('run'); ap.add_argument('data_root'); ap.add_argument('tag')
    a = ap.parse_args(); d = Path(a.run); args = json.loads((d/'run_args.json').read_text())
    cvd = d/'cv'/('verify' if (d/'cv'/'verify').exists() else ''); oof = pd.read_csv(d/'cv_oof_predictions.csv', dtype={'ID': str})
    cfg = json.loads((d/'cv_metrics.json').read_text())['config']; arch = json.loads((d/'effective_config.json').read_text()).get('arch', args['arch'])
    rep = validate_dataset(a.data_root); size = int(json.loads((d/'effective_config.json').read_text()).get('out_size') or args['out_size'])
    cache = CropCache(Path(args['out_dir'])/'cache', size, project_salt()); feats = cache.build(rep.studies).set_index('ID')
    stats, rows, figs = arch_stats(arch), [], []
    rng = np.random.default_rng(0)
    for f, g in oof.groupby('fold'):
        model = model_from_weights(cvd/f'fold{f}_model.pt', arch, cfg['dropout_p'])
        crops = cache.crops(feats.loc[g.ID].reset_index())
        for k, r in enumerate(g.itertuples()):
            c = np.asarray(crops[k]); p, drop, blood = occlusion(model, c, stats)
            cov, ctl, nb = blood_cover(c, rng); pc, pk = predict_crops(model, np.stack([cov, ctl]), window_ranges(), stats)
            ok = ~np.isnan(drop); top = np.unravel_index(np.nanargmax(drop), drop.shape)
            rows.append(dict(ID=r.ID, Label=r.Label, fold=f, prob=p, top_drop=float(drop[top]), random_drop=float(rng.choice(drop[ok])),
                             top_blood_share=float(blood[top]), median_blood_share=float(np.nanmedian(blood)), patches=int(ok.sum()),
                             blood_pixels=nb, prob_blood_covered=float(pc), prob_control=float(pk)))
            if r.Label == 1 and len(figs) < 8: figs.append((np.asarray(crops[k]), drop, r.ID, p))
    t = pd.DataFrame(rows); stem = f"occlusion_{a.tag}_{datetime.now():%Y-%m-%d}"
    out = Path(__file__).resolve().parents[1]/'bench_results'; t.to_csv(out/f'{stem}.csv', index=False)
    for lab, h in t.groupby('Label'):
        print(f"{'positive' if lab else 'negative'} ({len(h)}): score {h.prob.median():.2f}; covering the most influential patch drops it by "
              f"{h.top_drop.median():.3f} (median; a random in-head patch {h.random_drop.median():.3f}); score halved in "
              f"{(h.top_drop >= h.prob/2).mean():.0%}; blood share (55-79 HU) of that patch {h.top_blood_share.median():.3f} vs the image's "
              f"median patch {h.median_blood_share.median():.3f}; blood-range brain pixels (median {h.blood_pixels.median():.0f}) in-painted with the local normal brain: "
              f"score {h.prob.median():.2f} -> {h.prob_blood_covered.median():.2f} (control, as many other pixels: {h.prob_control.median():.2f}); "
              f"below 0.5 after covering: {(h.prob_blood_covered < .5).mean():.0%} (before: {(h.prob < .5).mean():.0%})")
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, len(figs), figsize=(1.6*len(figs), 3.4))
    for j, (c, dm, i, p) in enumerate(figs):
        ax[0, j].imshow(np.clip(c, 0, 80), cmap='gray'); ax[0, j].set_title(f"{i}\np={p:.2f}", fontsize=6)
        ax[1, j].imshow(np.clip(c, 0, 80), cmap='gray'); ax[1, j].imshow(np.kron(np.nan_to_num(dm), np.ones((c.shape[0]//8,)*2)), cmap='magma', alpha=.55, vmin=0)
        for x in ax[:, j]: x.axis('off')
    fig.suptitle("positives (OOF): image, and the score drop when each patch's brain pixels are set to 30 HU", fontsize=7); fig.tight_layout()
    fig.savefig(out/f'{stem}.png', dpi=80); print(out/f'{stem}.csv')

if __name__ == '__main__': main()
