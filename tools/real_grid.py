"""Model selection on a labelled folder with the project's own grid (`run_grid` with `repeats`: every candidate on the same
r x K folds of the training split, then the winner's verification CV), written as CSVs that `03_model` shows.

    .venv/bin/python tools/real_grid.py DATA_ROOT TAG [--size 128] [--repeats 3] [--grid JSON] [--arch efficientnet_lite0]
    .venv/bin/python tools/real_grid.py --from-run RUN_DIR TAG      # the tables again from a finished grid run
    .venv/bin/python tools/real_grid.py --from-run RUN_DIR TAG --partial   # a grid stopped early: the folds that finished
    .venv/bin/python tools/real_grid.py --from-run RUN_DIR TAG --verify-ensemble 1+0
        # an ensemble on the verification CV's fresh folds: the other members fitted there, the OOF averaged (honest)

DATA_ROOT 'demo' is the built-in demo. Writes bench_results/real_grid_<TAG>_<date>.csv (one row per candidate: mean +- std
over the r x K folds, the paired difference to candidate 0, seconds per fold; then ensembles of the best candidates: their
OOF probabilities averaged per study on the same folds, which is what `members` does for the final model) and
..._folds.csv (every fold of every candidate)."""
import argparse, itertools, json, platform, time
from datetime import datetime
from pathlib import Path
import numpy as np, pandas as pd, torch
from brainct_nb.train import RANKING, ranking
from brainct_nb.cv import fold_summary

GRID = [{}, {'arch': 'efficientnet_lite1'}, {'arch': 'efficientnet_lite2'}, {'arch': 'resnet18', 'pretrained': False},
        {'hu_jitter': [10, .1]}, {'mixup': .4}, {'ft_trainable_attrs': 'all', 'lr_ft': 1e-3, 'lr_ft_div': 10}]

def oof_of(run_dir:Path, i:int, r:int) -> pd.DataFrame:
    "Candidate i's OOF predictions in repeat r (every fold)."
    d = run_dir/'cv'/'grid'/(f'cand{i}' + (f'_rep{r}' if r else ''))
    return pd.concat([pd.read_csv(f, dtype={'ID': str}) for f in sorted(d.glob('fold*_oof.csv'))], ignore_index=True)

def ensembles(run_dir:Path, table:pd.DataFrame, folds:pd.DataFrame, top=3) -> pd.DataFrame:
    "Every pair (and the triple) of the `top` candidates: OOF probabilities averaged per study on the same folds; fold metrics as the grid's."
    best = table.candidate.head(top).astype(int).tolist(); R = int(folds.repeat.max()) + 1; rows = []
    for combo in [c for n in (2, 3) for c in itertools.combinations(best, n)]:
        fr = []
        for r in range(R):
            o = [oof_of(run_dir, i, r).set_index('ID').sort_index() for i in combo]
            avg = o[0].assign(prob=np.mean([x.prob for x in o], axis=0))
            fr += [dict(repeat=r, fold=f, **ranking(g.Label, g.prob)) for f, g in avg.groupby('fold')]
        fr = pd.DataFrame(fr); ref = folds[folds.candidate == 0].set_index(['repeat', 'fold'])
        rows.append(dict(candidate='+'.join(map(str, combo)), overrides=' + '.join(table.set_index('candidate').loc[list(combo), 'overrides']),
                         n_folds=len(fr), repeats=R, **fold_summary(fr, ref),
                         seconds_per_fold=float(table.set_index('candidate').loc[list(combo), 'seconds_per_fold'].sum())))
    return pd.DataFrame(rows)

def finished_folds(run_dir:Path) -> pd.DataFrame:
    "Every finished fold of a grid run, read from its fold files (what `run_grid` returns as `GridResult.folds`)."
    rows = []
    for d in sorted((run_dir/'cv'/'grid').glob('cand*')):
        i, _, r = d.name[4:].partition('_rep')
        rows += [dict(json.loads(f.read_text())['metrics'], candidate=int(i), repeat=int(r or 0)) for f in sorted(d.glob('fold*.json'))]
    return pd.DataFrame(rows)

def partial_tables(run_dir:Path, tag:str):
    "The candidate table of a grid stopped before its end (no verification CV): the folds that finished, paired where both ran."
    from brainct_nb.cv import grid_table
    args = json.loads((run_dir/'run_args.json').read_text()); folds = finished_folds(run_dir)
    t = grid_table(json.loads(args['grid_json']), folds)
    t['verification'] = 'grid stopped early for time: ' + t.n_folds.astype(str) + ' folds finished'
    n = json.loads((run_dir/'features_checks_summary.json').read_text())['split']
    t['data'], t['size'], t['machine'] = tag, args['out_size'], f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    t['studies'] = f"{int(folds[(folds.candidate == 0) & (folds.repeat == 0)].n_oof.sum())} training studies ({n['n_test']} held out)"
    bench = Path(__file__).resolve().parents[1]/'bench_results'; stem = f"real_grid_{tag}_{datetime.now():%Y-%m-%d}"
    t.to_csv(bench/f'{stem}.csv', index=False); folds.to_csv(bench/f'{stem}_folds.csv', index=False)
    print(t.drop(columns=['machine', 'studies']).round(3).to_string())

def tables(run_dir:Path, tag:str, t0=None):
    "The candidate and ensemble tables of a finished grid run, written to bench_results/."
    args = json.loads((run_dir/'run_args.json').read_text()); cvm = json.loads((run_dir/'cv_metrics.json').read_text())
    t = pd.read_csv(run_dir/'grid_search.csv'); folds = pd.read_csv(run_dir/'grid_folds.csv')
    t['verification'] = ''
    t.loc[0, 'verification'] = f"ROC-AUC {cvm['roc_auc_mean']:.3f} ± {cvm['roc_auc_std']:.3f}, AUPRC {cvm['auprc_mean']:.3f} ± {cvm['auprc_std']:.3f}"
    t = pd.concat([t, ensembles(run_dir, t, folds).assign(verification='')], ignore_index=True)
    n = json.loads((run_dir/'features_checks_summary.json').read_text())['split']
    t['data'], t['size'], t['machine'] = tag, args['out_size'], f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    t['studies'] = f"{int(folds[(folds.candidate == 0) & (folds.repeat == 0)].n_oof.sum())} training studies ({n['n_test']} held out)"
    bench = Path(__file__).resolve().parents[1]/'bench_results'; stem = f"real_grid_{tag}_{datetime.now():%Y-%m-%d}"
    t.to_csv(bench/f'{stem}.csv', index=False); folds.to_csv(bench/f'{stem}_folds.csv', index=False)
    print(t.drop(columns=['machine', 'studies']).round(3).to_string()); print(f"{run_dir}" + (f"; {time.time() - t0:.0f}s" if t0 else ''))

def verify_ensemble(run_dir:Path, combo:str, tag:str):
    "The ensemble `combo` (candidates 'i+j') on the verification CV's fresh folds: the winner's OOF from that CV, every other member cross-validated on the same folds, probabilities averaged per study; the selection never saw these folds."
    from brainct_nb.pipeline import start_run, step_validate, step_features, step_split
    from brainct_nb.fitting import candidate_fit, item_crops, _model_fn
    from brainct_nb.lifecycle import _device
    from brainct_nb.cv import run_cv, VERIFY_SEED_OFFSET
    args = json.loads((run_dir/'run_args.json').read_text()); t = pd.read_csv(run_dir/'grid_search.csv')
    grid, win = json.loads(args['grid_json']), int(t.candidate[0]); members = [int(c) for c in combo.split('+')]
    if win not in members: raise SystemExit(f"{combo}: the verification CV holds the grid winner {win}; name ensembles that include it")
    run = start_run(**{**args, 'run_grid': False, 'resume': None, 'out_dir': args['out_dir']})
    step_validate(run); step_features(run); step_split(run)
    feats, sp = run.features.feats, run.split
    tr = feats[feats.ok].merge(sp[['ID', 'group', 'split']], on='ID'); tr = tr[tr.split == 'train'].reset_index(drop=True)
    oof = [pd.concat([pd.read_csv(f, dtype={'ID': str}) for f in sorted((run_dir/'cv'/'verify').glob('fold*_oof.csv'))]).set_index('ID').sort_index()]
    for i in members:
        if i == win: continue
        cfg, fit = candidate_fit(run, grid[i])
        res = run_cv(crops=item_crops(run, tr), labels=tr.Label.values, ids=tr.ID.values, groups=tr.group.values, k=args['k_folds'],
                     seed=args['seed'] + VERIFY_SEED_OFFSET, cfg=cfg, bs=args['batch_size'], device=_device(run),
                     **{'model_fn': fit.get('model_fn') or _model_fn(run), 'stats': fit.get('stats', run.stats), 'ranges': run.ranges})
        oof.append(res.oof.set_index('ID').sort_index())
    assert all((o.fold == oof[0].fold).all() for o in oof)              # the same fresh folds for every member
    rows = []
    for name, prob in [(str(win), oof[0].prob)] + [(combo, np.mean([o.prob for o in oof], axis=0))]:
        a = oof[0].assign(prob=prob)
        fr = pd.DataFrame([ranking(g.Label, g.prob) for _, g in a.groupby('fold')])
        rows.append(dict(model=name, folds=len(fr), **{f'{k}': f"{fr[k].mean():.3f} ± {fr[k].std(ddof=0):.3f}" for k in RANKING},
                         fold_seed=args['seed'] + VERIFY_SEED_OFFSET, data=tag))
    out = pd.DataFrame(rows); bench = Path(__file__).resolve().parents[1]/'bench_results'
    out.to_csv(bench/f"real_grid_{tag}_verify_ensemble_{datetime.now():%Y-%m-%d}.csv", index=False); print(out.to_string(index=False))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('data_root', nargs='?'); ap.add_argument('tag'); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--grid', default=json.dumps(GRID))
    ap.add_argument('--arch', default='efficientnet_lite0'); ap.add_argument('--out-dir', default='/tmp/real_grid')
    ap.add_argument('--from-run', default=None); ap.add_argument('--verify-ensemble', default=None); ap.add_argument('--partial', action='store_true')
    a = ap.parse_args(); t0 = time.time()
    if a.from_run and a.verify_ensemble: return verify_ensemble(Path(a.from_run), a.verify_ensemble, a.tag)
    if a.from_run and a.partial: return partial_tables(Path(a.from_run), a.tag)
    if a.from_run: return tables(Path(a.from_run), a.tag)
    from brainct_nb.pipeline import start_run, step_validate, step_features, step_split, step_cv
    run = start_run(data_root=None if a.data_root == 'demo' else a.data_root, arch=a.arch, out_size=a.size, run_grid=True,
                    grid_json=a.grid, repeats=a.repeats, out_dir=a.out_dir, calibration='none')
    step_validate(run); step_features(run); step_split(run); step_cv(run)
    tables(run.dir, a.tag, t0)

if __name__ == '__main__': main()
