"Trustworthy predictions end to end: recalibration and TTA in a run (a fold ensemble cannot be recalibrated honestly: refused); predict reproduces the test scores, labels at the reported thresholds, writes CAM overlays and PPV/NPV at another prevalence."
import json
from pathlib import Path
import numpy as np, pandas as pd, pytest
from brainct_nb.demo import make_demo_dataset
from brainct_nb import pipeline as P
from brainct_nb.cli import main as cli_main
from brainct_nb.data import read_csv

FAST = dict(epochs_head=1, epochs_ft=3, patience_ft=2)

def _demo_run(tmp_path_factory, name, **scoring):
    "The protocol on 120 demo studies (3 folds, 32 px, 1+3 epochs) with the given calibration, tta and ensemble."
    root = tmp_path_factory.mktemp(name)
    data = make_demo_dataset(root/'data', n=120, prevalence=.15, seed=12)
    (root/'fast.json').write_text(json.dumps(FAST))
    return P.run_all(data_root=str(data), seed=3, k_folds=3, out_size=32, pretrained=False, num_workers=0,
                     config_json=str(root/'fast.json'), out_dir=str(root/'outputs'), **scoring)

@pytest.fixture(scope='module')
def run(tmp_path_factory): return _demo_run(tmp_path_factory, 'trust', calibration='platt', tta=True, ensemble='final')

def test_recalibration_is_fitted_on_oof_and_carried(run):
    d = run.dir
    oof = read_csv(d/'cv_oof_predictions.csv')                                       # every score exactly as written (#34)
    np.testing.assert_allclose(oof.prob_model, oof.prob_tta)                                                  # tta: the mirror averaged in
    rc = P.Recalibrator.from_dict(json.loads((d/'bundle.json').read_text())['calibration'])
    ref = P.Recalibrator.fit(oof.Label, oof.prob_model, 'platt')                                             # refit on OOF: the same map
    # the OOF scores read back are the very numbers the map was fitted on, so the refit is the same map to the last bit
    # (once float32 scores written as 8-digit decimals made an ill-conditioned refit differ by 5e-8: issue #34)
    np.testing.assert_array_equal(rc(oof.prob_model), ref(oof.prob_model))
    np.testing.assert_array_equal(oof.prob, rc(oof.prob_model))
    tp = read_csv(d/'test_predictions.csv')
    np.testing.assert_array_equal(tp.prob, rc(tp.prob_model))                                                # applied to the test scores
    cal = json.loads((d/'calibration.json').read_text())
    assert cal['method'] == 'platt' and {'OOF, model output', 'test, model output', 'test, platt'} <= set(cal['sets'])
    sel = json.loads((d/'threshold_selection.json').read_text())
    assert 'Platt' in sel['scale'] and 'mirror' in sel['scale']
    out = cal['test_outside_support']                                                  # counted and reported
    assert out['support'] == rc.support and out['n'] == rc.n_outside(tp.prob_model) and out['of'] == len(tp)
    assert json.loads((d/'test_metrics.json').read_text())['calibration_outside_support']['n'] == out['n']
    summary = read_csv(d/'cv_thresholds_summary.csv')
    assert np.isclose(summary.threshold.diff().dropna(), .01).all()                   # the fine grid on a recalibrated scale

def test_tta_effect_and_variants_reported(run):
    d = run.dir
    cvm = json.loads((d/'cv_metrics.json').read_text())
    te = cvm['tta_effect']; assert te['n_pos'] > 0 and 0 <= te['with_tta']['pooled_auprc'] <= 1
    v = read_csv(d/'test_scoring_variants.csv')
    assert len(v) == 6 and set(v.ensemble) == {'final', 'folds', 'both'} and v.n_models.tolist() == [1, 1, 3, 3, 4, 4]
    meta = json.loads((d/'bundle.json').read_text())
    assert meta['ensemble'] == 'final' and meta['tta'] is True

def test_operating_points_in_bundle_and_test_metrics(run):
    d = run.dir
    meta, tm = json.loads((d/'bundle.json').read_text()), json.loads((d/'test_metrics.json').read_text())
    assert set(meta['operating_points']) == {'chosen', 'high_sensitivity', 'high_specificity', 'youden'}
    assert meta['operating_points']['chosen']['threshold'] == meta['threshold'] == tm['threshold']
    for k, pt in meta['operating_points'].items():
        assert tm['operating_points'][k]['threshold'] == pt['threshold']
        assert pt['test_sensitivity'] == tm['operating_points'][k]['sensitivity']['value']
    card = (d/'model_card.md').read_text()
    for s in ('## Intended use', '## Training and evaluation data', '## Calibration', '## Subgroups (test set)', 'TRIPOD+AI', 'CLAIM',
              'Mitchell', 'high_specificity', 'Data fingerprint'):
        assert s in card, s
    assert json.loads((d/'run_status.json').read_text())['state'] == 'finished'

def test_predict_reproduces_test_scores_labels_cams_and_prevalence(run, tmp_path, capsys):
    d = run.dir; tp = read_csv(d/'test_predictions.csv', dtype={'ID': str})
    data = Path(run.params.data_root)/'CTs'
    paths = [str(data/f'{i}.dcm') for i in tp.ID]
    meta = json.loads((d/'bundle.json').read_text())
    for op in ('chosen', 'high_sensitivity'):
        out = tmp_path/f'{op}.csv'
        assert cli_main(['predict', '--run', str(d), '--dicoms', *paths, '--out', str(out), '--operating-point', op,
                         '--cam', str(tmp_path/'cams'), '--prevalence', '0.061']) == 0
        pr = read_csv(out)
        np.testing.assert_allclose(pr.probability, tp.prob, atol=1e-6)                  # ensemble + TTA + recalibration, as in the run
        thr = meta['operating_points'][op]['threshold']
        assert (pr.threshold == thr).all() and (pr.label == (pr.probability >= thr)).all()
        if op == 'chosen': assert (pr.label.values == tp.pred.values).all()             # the reported threshold, exactly
    pngs = sorted((tmp_path/'cams').glob('*_cam.png'))
    assert len(pngs) == len(paths) and all(p.stat().st_size > 1000 for p in pngs)
    o = capsys.readouterr().out
    assert 'PPV/NPV at prevalence 0.061' in o and 'high_specificity' in o
    from brainct_nb.predict import prevalence_table
    from brainct_nb.bundle import Bundle
    t = prevalence_table(Bundle.read(d), .061); t2 = prevalence_table(Bundle.read(d), .3)
    ok = t['ppv_at_0.061'].notna()                                                     # NaN where no study is called positive
    assert ok.any() and (t['ppv_at_0.061'][ok] < t2['ppv_at_0.3'][ok]).all()            # rarer finding, lower PPV
    assert cli_main(['predict', '--run', str(d), '--dicoms', paths[0], '--operating-point', 'nope']) == 2
    assert "operating point 'nope' is not in the bundle" in capsys.readouterr().err
    assert cli_main(['predict', '--run', str(d), '--dicoms', paths[0], '--prevalence', '6.1']) == 2
    assert 'prevalence must be a fraction' in capsys.readouterr().err


@pytest.mark.parametrize('calibration', ['isotonic', 'platt'])
def test_recalibrating_a_fold_ensemble_is_refused(calibration, tmp_path, capsys):
    "The map is fitted on single fold models' OOF scores; an ensemble's compressed scores once all became 0.0 (isotonic)."
    rc = cli_main(['run', '--demo-n', '200', '--k-folds', '2', '--out-size', '32', '--pretrained', 'false', '--out-dir', str(tmp_path),
                   '--calibration', calibration, '--tta', '--ensemble', 'both'])
    err = capsys.readouterr().err
    assert rc == 2 and 'no out-of-fold counterpart' in err and f"calibration={calibration!r} with ensemble='both'" in err
    assert not list(tmp_path.glob('run_*/test_predictions.csv'))


@pytest.fixture(scope='module')
def run_ensemble(tmp_path_factory): return _demo_run(tmp_path_factory, 'trust_ens', calibration='none', tta=True, ensemble='both')

def test_fold_ensemble_bundle_and_predict_reproduce_the_test_scores(run_ensemble, tmp_path):
    d = run_ensemble.dir
    meta = json.loads((d/'bundle.json').read_text())
    assert meta['ensemble'] == 'both' and len(meta['fold_weights']) == 3 and meta['calibration']['method'] == 'none'
    tp = read_csv(d/'test_predictions.csv')
    from brainct_nb.predict import predict_dicoms
    pr = predict_dicoms(d, [str(Path(run_ensemble.params.data_root)/'CTs'/f'{i}.dcm') for i in tp.ID])
    np.testing.assert_allclose(pr.probability, tp.prob, atol=1e-6)

def test_an_ensemble_of_backbones_travels_in_the_bundle_and_predict_reproduces_it(tmp_path_factory, tmp_path):
    "members: a second backbone (another normalisation) trained like the final model; the bundle lists it with its SHA-256; predict averages it exactly as the run did; the variants table measures it."
    pytest.importorskip('timm')
    r = _demo_run(tmp_path_factory, 'trust_mem', calibration='none', ensemble='members', members='efficientnet_lite0')
    d = r.dir; meta = json.loads((d/'bundle.json').read_text())
    (m,) = meta['member_weights']
    assert m['arch'] == 'efficientnet_lite0' and m['norm_mean'] == [.5, .5, .5] and len(m['sha256']) == 64 and (d/m['file']).exists()
    assert meta['ensemble'] == 'members' and meta['fold_weights'] == []
    tp = read_csv(d/'test_predictions.csv')
    from brainct_nb.predict import predict_dicoms
    pr = predict_dicoms(d, [str(Path(r.params.data_root)/'CTs'/f'{i}.dcm') for i in tp.ID])
    np.testing.assert_allclose(pr.probability, tp.prob, atol=1e-6)
    v = read_csv(d/'test_scoring_variants.csv')
    assert set(v.ensemble) == {'final', 'folds', 'both', 'members'} and (v[v.ensemble == 'members'].n_models == 2).all()
    rep = v[(v.ensemble == 'members') & ~v.tta].iloc[0]
    from sklearn.metrics import roc_auc_score
    assert abs(rep.roc_auc - roc_auc_score(tp.Label, tp.prob)) < 1e-9           # the configured variant is the reported one
    with pytest.raises(ValueError, match="ensemble='members' averages the ensemble members, but members is not set"):
        P.start_run(data_root=r.params.data_root, ensemble='members', calibration='none', pretrained=False)
