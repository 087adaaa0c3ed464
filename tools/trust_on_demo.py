"""Summarise what recalibration, TTA and the fold ensemble do on finished runs (the numbers shown in nbs/05b_trust.ipynb).

Usage: .venv/bin/python tools/trust_on_demo.py RUN_DIR [RUN_DIR ...] [--out bench_results/trust_demo.md]
For each run: OOF AUPRC/ROC-AUC without and with TTA; test AUPRC/ROC-AUC of every ensemble x TTA choice; and Brier/ECE
of the model output before and after Platt and isotonic recalibration fitted on that run's OOF predictions (OOF figures
after recalibration are in-sample; the test figures are the honest ones). Every figure says how many positives it rests on.
"""
import argparse, json, platform
from datetime import date
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from brainct_nb.calibration import Recalibrator, calibration_stats

def summarise(d:Path) -> str:
    args = json.loads((d/'run_args.json').read_text())
    oof = pd.read_csv(d/'cv_oof_predictions.csv'); tp = pd.read_csv(d/'test_predictions.csv')
    raw_col = 'prob_model' if 'prob_model' in tp else 'prob'
    L = [f"### {d.name}: calibration={args.get('calibration')}, tta={args.get('tta')}, ensemble={args.get('ensemble')}, seed {args['seed']}", '',
         f"OOF: {len(oof)} studies, {int(oof.Label.sum())} positives. Test: {len(tp)} studies, {int(tp.Label.sum())} positives.", '',
         '| OOF scoring | AUPRC | ROC-AUC |', '|---|---|---|']
    for name, col in (('one view', 'prob_plain'), ('mirror averaged in (TTA)', 'prob_tta')):
        L.append(f"| {name} | {average_precision_score(oof.Label, oof[col]):.3f} | {roc_auc_score(oof.Label, oof[col]):.3f} |")
    v = pd.read_csv(d/'test_scoring_variants.csv')
    L += ['', '| test scoring | models | AUPRC | ROC-AUC |', '|---|---|---|---|']
    L += [f"| ensemble={r.ensemble}, tta={r.tta} | {r.n_models} | {r.auprc:.3f} | {r.roc_auc:.3f} |" for r in v.itertuples()]
    base = oof['prob_model']
    L += ['', '| calibration (fitted on OOF) | OOF Brier | OOF ECE | test Brier | test ECE | test slope |', '|---|---|---|---|---|---|']
    for m in ('none', 'platt', 'isotonic'):
        r = Recalibrator.fit(oof.Label, base, m)
        so, st = calibration_stats(oof.Label, r(base)), calibration_stats(tp.Label, r(tp[raw_col]))
        L.append(f"| {m}{' (OOF in-sample)' if m != 'none' else ''} | {so['brier']:.4f} | {so['ece']:.4f} | {st['brier']:.4f} | {st['ece']:.4f} | {st['slope']:.2f} |")
    L.append(f"\nReference Brier (predict the prevalence for everyone): OOF {oof.Label.mean()*(1-oof.Label.mean()):.4f}, test {tp.Label.mean()*(1-tp.Label.mean()):.4f}.")
    return '\n'.join(L)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('runs', nargs='+'); ap.add_argument('--out', default='bench_results/trust_demo.md')
    a = ap.parse_args()
    text = (f"## Trustworthy predictions on the demo ({date.today()}, {platform.machine()} CPU, {len(a.runs)} run(s))\n\n"
            + '\n\n'.join(summarise(Path(r)) for r in a.runs) + '\n')
    Path(a.out).write_text(text); print(text)
