"""Model selection on a labelled folder with the project's own grid (`run_grid` with `repeats`: every candidate on the same
r x K folds of the training split, then the winner's verification CV), written as a CSV that `03_model` shows.

    .venv/bin/python tools/real_grid.py DATA_ROOT TAG [--size 128] [--repeats 3] [--grid JSON] [--arch efficientnet_lite0]

Writes bench_results/real_grid_<TAG>_<date>.csv (one row per candidate: mean +- std over the r x K folds, paired difference
to candidate 0, seconds per fold) and ..._folds.csv (every fold of every candidate)."""
import argparse, json, platform, time
from datetime import datetime
from pathlib import Path
import torch
from brainct_nb.pipeline import start_run, step_validate, step_features, step_split, step_cv

GRID = [{}, {'arch': 'efficientnet_lite1'}, {'arch': 'efficientnet_lite2'}, {'arch': 'resnet18', 'pretrained': False},
        {'hu_jitter': [10, .1]}, {'mixup': .4}, {'ft_trainable_attrs': 'all', 'lr_ft': 1e-3, 'lr_ft_div': 10}]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('data_root'); ap.add_argument('tag'); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--grid', default=json.dumps(GRID))
    ap.add_argument('--arch', default='efficientnet_lite0'); ap.add_argument('--out-dir', default='/tmp/real_grid')
    a = ap.parse_args(); t0 = time.time()
    run = start_run(data_root=a.data_root, arch=a.arch, out_size=a.size, run_grid=True, grid_json=a.grid, repeats=a.repeats,
                    out_dir=a.out_dir, calibration='none')
    step_validate(run); step_features(run); step_split(run); step_cv(run)
    bench = Path(__file__).resolve().parents[1]/'bench_results'; stem = f"real_grid_{a.tag}_{datetime.now():%Y-%m-%d}"
    t = __import__('pandas').read_csv(run.dir/'grid_search.csv')
    cvm = json.loads((run.dir/'cv_metrics.json').read_text())
    t['data'], t['size'], t['machine'] = a.tag, a.size, f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    t['verification'] = ''
    t.loc[0, 'verification'] = f"ROC-AUC {cvm['roc_auc_mean']:.3f} ± {cvm['roc_auc_std']:.3f}, AUPRC {cvm['auprc_mean']:.3f} ± {cvm['auprc_std']:.3f}"
    t.to_csv(bench/f'{stem}.csv', index=False)
    __import__('shutil').copy(run.dir/'grid_folds.csv', bench/f'{stem}_folds.csv')
    print(t.drop(columns=['machine']).round(3).to_string()); print(f"{time.time() - t0:.0f}s; {run.dir}")

if __name__ == '__main__': main()
