"""The side-by-side table of `nbs/03_model.ipynb`: the whole protocol on the demo data (600 studies, 64 px, seed 42) for
ResNet-18 from scratch and the ImageNet EfficientNet-Lite0/1/2 with their default recipe (the backbones of the grid in
`03_model`'s real-anatomy section). Writes bench_results/model_side_by_side_<date>.md.

Usage: .venv/bin/python tools/model_side_by_side.py [OUT_DIR]   (about 10-15 minutes on a 2-core CPU)
"""
import platform, sys, tempfile, time
from datetime import datetime
from pathlib import Path
import pandas as pd, torch
from brainct_nb.pipeline import run_all
from brainct_nb.bench import md_table

RUNS = [('ResNet-18, from scratch', 'scratch recipe (all layers, lr_ft 2e-3, 2 + 10 epochs)', dict(arch='resnet18', pretrained=False)),
        ('EfficientNet-Lite0, ImageNet', "default (head 3e-3, then block5-6 + head at 1e-4)", dict(arch='efficientnet_lite0')),
        ('EfficientNet-Lite1, ImageNet', "default (head 3e-3, then block5-6 + head at 1e-4)", dict(arch='efficientnet_lite1')),
        ('EfficientNet-Lite2, ImageNet', "default (head 3e-3, then block5-6 + head at 1e-4)", dict(arch='efficientnet_lite2'))]

def main(out_dir=None):
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for backbone, recipe, kw in RUNS:
            t0 = time.time(); r = run_all(seed=42, out_dir=out_dir or d, **kw)
            cv, tm = r.cv.metrics, r.test.metrics
            rows.append({'backbone': backbone, 'recipe': recipe, 'CV AUPRC': f"{cv['auprc_mean']:.3f} ± {cv['auprc_std']:.3f}",
                         'CV ROC-AUC': f"{cv['roc_auc_mean']:.3f} ± {cv['roc_auc_std']:.3f}",
                         f"test AUPRC / ROC-AUC ({tm['n_pos']} positives)": f"{tm['auprc']['value']:.3f} / {tm['roc_auc']['value']:.3f}",
                         'wall time': f"{int(time.time() - t0)//60} min {int(time.time() - t0)%60:02d} s"})
    hw = f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
    md = (f"# Side by side on the demo data\n\n{datetime.now():%Y-%m-%d %H:%M}; {hw}; torch {torch.__version__}; `run_all(seed=42)` on the "
          "600-study demo at 64 px (5-fold CV with inner early stopping, threshold, final model, one test evaluation)\n\n" + md_table(pd.DataFrame(rows)))
    out = Path(__file__).resolve().parents[1]/'bench_results'/f'model_side_by_side_{datetime.now():%Y-%m-%d}.md'
    out.write_text(md); print(md)

if __name__ == '__main__': main(sys.argv[1] if len(sys.argv) > 1 else None)
