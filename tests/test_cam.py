"Grad-CAM looks where the planted finding is: a ResNet-18 trained from scratch on demo phantoms with bleeds, its maps checked against the generator's lesion masks."
import numpy as np, pytest, torch
from fastai.vision.core import imagenet_stats
from brainct_nb.demo import head_phantom
from brainct_nb.windowing import preprocess_hu, letterbox, window_ranges
from brainct_nb.data import ct_dataloaders
from brainct_nb.train import load_config, train_two_stage, SCRATCH_OVERRIDES, seed_everything, predict_crops
from brainct_nb.model import ct_model
from brainct_nb.trust import grad_cam

S = 128                      # layer4 of a ResNet-18 is a 4x4 grid here (2x2 at the demo's 64 px: too coarse to localise)

def phantom_crop(rng, finding='bleed', head=None):
    "A crop as the pipeline makes it, with the finding's mask carried through the same crop and letterbox."
    hu, mask = head_phantom(2*S, rng, finding, head=head, return_mask=True)
    crop, info = preprocess_hu(hu, S)
    box = (info['box_top'], info['box_bottom'], info['box_left'], info['box_right'])
    return crop, letterbox(mask.astype(np.float32)*1000, box, S, fill=0) > 500

@pytest.fixture(scope='module')
def model():
    torch.set_num_threads(2)
    n = 500
    crops = np.stack([phantom_crop(np.random.default_rng([5, i]), 'bleed' if i % 2 else None)[0] for i in range(n)])
    y = np.arange(n) % 2
    dls = ct_dataloaders(crops, y, np.arange(400), np.arange(400, n), bs=16, device='cpu')
    seed_everything(0)
    cfg = load_config({**SCRATCH_OVERRIDES, 'epochs_ft': 8})
    learn, hist, _ = train_two_stage(dls, cfg, ct_model('resnet18', dropout_p=cfg.dropout_p), verbose=False)
    return learn.model.eval()

def test_cam_sits_on_the_planted_bleed(model):
    R, ST = window_ranges(), imagenet_stats
    cases = [c for c in (phantom_crop(np.random.default_rng([99, j])) for j in range(30)) if c[1].sum() >= 20][:24]
    crops, masks = np.stack([c for c, _ in cases]), np.stack([m for _, m in cases])
    cams, probs = grad_cam(model, crops, R, ST)
    assert (probs > .5).mean() > .9                                  # the model finds the bleeds...
    # ...and uses them: replacing the bleed by normal brain drops the probability
    healed = crops.copy()
    for c, m in zip(healed, masks): c[m] = np.int16(np.median(c[(c > 20) & (c < 45)]))
    assert np.median(predict_crops(model, healed, R, ST)) < .5
    head = crops > -200                                              # an empty map (the model saw nothing) counts as a miss
    enrich = np.array([cam[m].mean()/cam[h].mean() if cam.max() > 0 else 0. for cam, m, h in zip(cams, masks, head)])
    hot_hits = np.array([(m & (cam >= np.quantile(cam, .95))).any() for cam, m in zip(cams, masks)])
    print(f"CAM inside the bleed / inside the head: median {np.median(enrich):.2f}; hottest 5% touches the bleed in {hot_hits.mean():.0%}")
    assert np.median(enrich) > 1.1 and hot_hits.mean() >= .5

def test_cam_moves_with_the_finding(model):
    "The same head with the bleed in different places: the map's centre of mass follows the bleed."
    R, ST = window_ranges(), imagenet_stats
    head = dict(ry=.36, rx=.29, ang=0., cy=-.03, cx=0., skull=.03, bone=1300, brain=30, vent=.8)
    cases = [c for c in (phantom_crop(np.random.default_rng([7, j]), head=head) for j in range(30)) if c[1].sum() >= 20][:24]
    crops, masks = np.stack([c for c, _ in cases]), np.stack([m for _, m in cases])
    cams, _ = grad_cam(model, crops, R, ST)
    keep = cams.reshape(len(cams), -1).max(1) > 0                     # a map needs a finding seen to have a centre
    assert keep.mean() > .9
    cams, masks = cams[keep], masks[keep]
    yy, xx = np.mgrid[:S, :S]
    def centre(w): return np.array([(yy*w).sum()/w.sum(), (xx*w).sum()/w.sum()])
    lesion = np.stack([centre(m.astype(float)) for m in masks])
    hot = np.stack([centre(np.where(c >= np.quantile(c, .9), c, 0)) for c in cams])
    # own-bleed distance vs the distance to the other cases' bleeds
    d = np.linalg.norm(hot[:, None] - lesion[None], axis=-1)
    own, other = np.diag(d), (d.sum(1) - np.diag(d))/(len(d) - 1)
    r = [np.corrcoef(hot[:, k], lesion[:, k])[0, 1] for k in (0, 1)]
    print(f"hot-region centre vs bleed centre: correlation rows {r[0]:.2f}, cols {r[1]:.2f}; closer to its own bleed in {(own < other).mean():.0%}")
    assert min(r) > .5 and (own < other).mean() >= .6
