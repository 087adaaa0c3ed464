"The model learns: on a small demo set, CPU, fixed seed, the held-out AUPRC is several times the prevalence."
import numpy as np, pytest
from sklearn.metrics import average_precision_score
from fastai.vision.core import imagenet_stats
from brainct_nb.demo import make_demo_dataset
from brainct_nb.dataset import validate_dataset
from brainct_nb.data import stratified_group_split, ct_dataloaders
from brainct_nb.store import CropStore
from brainct_nb.train import load_config, SCRATCH_OVERRIDES, train_two_stage, predict_crops, seed_everything
from brainct_nb.model import ct_model
from brainct_nb.windowing import window_ranges

def test_demo_fit_beats_prevalence(tmp_path):
    rep = validate_dataset(make_demo_dataset(tmp_path/'demo', n=300, prevalence=.15, seed=5))
    store = CropStore(tmp_path/'store', 48, b'learn'); f = store.build(rep.studies, num_workers=2); f = f[f.ok].reset_index(drop=True)
    y = f.Label.values; tr, te = stratified_group_split(y, f.ID.values, .25, 0)
    crops = store.crops(f)
    cfg = load_config(SCRATCH_OVERRIDES)
    dls = ct_dataloaders(crops, y, tr, [], bs=16, device='cpu'); seed_everything(0)
    learn, hist, _ = train_two_stage(dls, cfg, ct_model('resnet18', dropout_p=cfg.dropout_p), epochs=(1, 8), verbose=False)
    p = predict_crops(learn.model, crops[te], window_ranges(), imagenet_stats)
    auprc, prev = average_precision_score(y[te], p), y[te].mean()
    print(f"held-out AUPRC {auprc:.3f} on {int(y[te].sum())} positives of {len(te)} (prevalence {prev:.3f})")
    assert auprc > 3*prev, (auprc, prev)
