"""GPU checks (marker `gpu`): the device path against the CPU's fp32 reference on the same data and weights.

`BRAINCT_TEST_DEVICE` picks the device under test: 'cuda' (default; skipped without a CUDA device) or 'cpu', which
`tools/gpu_check.sh --dry-run` uses so this file runs in CI and cannot rot between GPU runs."""
import os
import numpy as np, pytest, torch
from brainct_nb.demo import head_phantom
from brainct_nb.windowing import letterbox, head_bbox, window_ranges
from brainct_nb.data import ct_dataloaders
from brainct_nb.model import ct_resnet
from brainct_nb.train import load_config, train_two_stage, predict_crops, seed_everything

DEV = os.environ.get('BRAINCT_TEST_DEVICE', 'cuda')
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(DEV == 'cuda' and not torch.cuda.is_available(), reason='no CUDA device')]
R = window_ranges()

@pytest.fixture(scope='module')
def crops():
    rng = np.random.default_rng(0)
    ims = [head_phantom(128, rng, finding='bleed' if k % 4 == 0 else None) for k in range(48)]
    return np.stack([letterbox(im, head_bbox(im), 64) for im in ims]), (np.arange(48) % 4 == 0).astype(np.float32)

def _dls(crops, labels, device, aug=False):
    return ct_dataloaders(crops, labels, np.arange(32), np.arange(32, 48), bs=8, ranges=R, device=device, aug=aug, num_workers=0)

def test_batch_transforms_on_device_match_cpu(crops):
    x, y = crops
    a = _dls(x, y, DEV).valid.one_batch()[0].float().cpu()
    b = _dls(x, y, 'cpu').valid.one_batch()[0].float()
    assert a.shape == b.shape == (8, 3, 64, 64)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)

def test_two_stage_fit_on_device_follows_cpu_fp32(crops):
    "A few batches of both stages (bf16 autocast and channels_last on CUDA): the per-epoch losses stay within 0.05 of fp32."
    x, y = crops; cfg = load_config(dict(epochs_head=1, epochs_ft=1))
    hists = []
    for dev in (DEV, 'cpu'):
        seed_everything(0); model = ct_resnet(pretrained=False, dropout_p=0.)
        _, hist, _ = train_two_stage(_dls(x, y, dev), cfg, model, epochs=(1, 1), verbose=False)
        hists.append(hist)
    for col in ('train_loss', 'valid_loss'):
        np.testing.assert_allclose(hists[0][col].values, hists[1][col].values, atol=.05)

def test_predict_on_device_matches_cpu(crops):
    x, _ = crops; seed_everything(1); model = ct_resnet(pretrained=False).eval()
    stats = ([.5]*3, [.25]*3)
    p_dev = predict_crops(model, x, R, stats, bs=16, device=DEV)
    p_cpu = predict_crops(model.cpu(), x, R, stats, bs=16, device='cpu')
    np.testing.assert_allclose(p_dev, p_cpu, atol=2e-3)
