"Issue #33: the cases that gave a wrong answer with exit 0 (or a crash) on the code of 2026-12-04, each now right or refused with its reason."
import json, os, shutil
from pathlib import Path
import numpy as np, pandas as pd, pydicom, pytest
from brainct_nb.data import read_csv
from brainct_nb.demo import make_series_dataset, make_demo_dataset
from brainct_nb import pipeline as P
from brainct_nb.errors import DatasetError
from brainct_nb.dataset import validate_dataset
from brainct_nb.predict import predict, predict_dicoms
from brainct_nb.bundle import BundleError
from brainct_nb.cli import main as cli_main

FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)

def _run(data, out, **kw):
    run = P.start_run(data_root=str(data), seed=3, k_folds=2, batch_size=16, num_workers=0, out_size=32, pretrained=False,
                      config_json=json.dumps(FAST), out_dir=str(out), **kw)
    for step in P.STEPS: step(run)
    return run

@pytest.fixture(scope='module')
def study_run(tmp_path_factory):
    "A study-label run (CTs/study_NNNN/series_1/IM-*.dcm, a label per folder), tiny: what the hostile cases score with."
    root = tmp_path_factory.mktemp('nswa')
    data = make_series_dataset(root/'data', n_studies=20, n_slices=6, size=64, prevalence=.4, seed=4, two_series_frac=0,
                               two_study_frac=0, layout='folders', study_labels=True)
    return _run(data, root/'out'), data

def _study(data, s): return data/'CTs'/f'study_{s:04d}'/'series_1'

def _by_file(df): return df[df.probability.notna()].set_index('file').probability

# 1. a file named twice once moved probabilities onto other files (a merge that multiplied rows, scores set by position)
def test_each_file_scores_the_same_whatever_is_passed_beside_it(study_run, tmp_path, capsys):
    run, data = study_run
    a, b = _study(data, 0), _study(data, 1)
    alone = _by_file(predict_dicoms(run.dir, allow_weak=True, dicoms=a))
    bad = tmp_path/'bad.dcm'; bad.write_text('not dicom')
    first = sorted(a.glob('*.dcm'))[0]; os.symlink(first, tmp_path/'link.dcm')
    pred = predict(run.dir, allow_weak=True, dicoms=[a, first, tmp_path/'link.dcm', bad, b]); df = pred.slices
    assert df.file.is_unique and len(df) == 6 + 1 + 6                               # each file once, the bad one named
    assert 'scored once' in capsys.readouterr().err
    mixed = _by_file(df)
    np.testing.assert_array_equal(mixed.loc[alone.index].values, alone.values)
    st = pred.studies
    assert len(st) == 2 and (st.n_slices == 6).all()
    top = df.loc[df.probability.idxmax()]                                            # top_slices names the right slice
    assert f"#{int(top.slice_index)}" in st.set_index('first_file').top_slices.str.cat()

# 2. a labelled study folder holding a second patient's series gave the folder's label to the other patient
def test_a_labelled_folder_holding_another_patients_files_is_refused(study_run, tmp_path):
    _, data = study_run
    d = tmp_path/'data'; shutil.copytree(data, d)
    shutil.move(str(d/'CTs'/'study_0003'/'series_1'), str(d/'CTs'/'study_0002'/'series_9'))
    run = P.start_run(data_root=str(d), seed=3, k_folds=2, out_size=32, pretrained=False, num_workers=0,
                      out_dir=str(tmp_path/'out'))
    P.step_validate(run)
    with pytest.raises(DatasetError) as e: P.step_features(run)
    msg = str(e.value)
    assert 'study_0002 (12 files)' in msg and 'patients' in msg and '6 files (first study_0002/series_1/IM-0001)' in msg

# 4. predict scored two series of one study as one 12-slice study, and two patients sharing a StudyInstanceUID as one
def test_predict_groups_and_chooses_series_as_training_does(study_run, tmp_path):
    run, data = study_run
    src = tmp_path/'in'; shutil.copytree(_study(data, 5), src/'s5')
    ser = pydicom.uid.generate_uid(); (src/'thin').mkdir()
    for f in sorted((src/'s5').glob('*.dcm')):                                      # a 1 mm reconstruction of the same study
        ds = pydicom.dcmread(f); ds.SeriesInstanceUID = ser; ds.SliceThickness = 1.0; ds.save_as(src/'thin'/f.name)
    uid = pydicom.dcmread(sorted((src/'s5').glob('*.dcm'))[0]).StudyInstanceUID
    (src/'other').mkdir()
    for f in sorted(_study(data, 6).glob('*.dcm')):                                 # another patient, given s5's StudyInstanceUID
        ds = pydicom.dcmread(f); ds.StudyInstanceUID = uid; ds.save_as(src/'other'/f.name)
    df = predict_dicoms(run.dir, allow_weak=True, dicoms=src)
    assert df.probability.isna().sum() == 18 and df.error.notna().sum() == 18
    assert df.error.str.contains('more than one patient or study').sum() == 18       # the study mixes patients: all of it out
    # without the intruder: one study of 6 slices, the thin series named as not used
    shutil.rmtree(src/'other'); pred = predict(run.dir, allow_weak=True, dicoms=src); df, st = pred.slices, pred.studies
    assert len(st) == 1 and st.n_slices.item() == 6
    thin = df[df.file.str.contains('/thin/')]
    assert thin.error.str.startswith('series not used: its study keeps another series').all() and len(thin) == 6

# 5. overlapping nested study labels crashed with pandas' InvalidIndexError
def test_nested_study_labels_are_refused_naming_both(study_run, tmp_path):
    _, data = study_run
    d = tmp_path/'data'; shutil.copytree(data, d)
    lab = pd.read_csv(d/'labels1.csv'); lab = pd.concat([lab, pd.DataFrame(dict(ID=['study_0001/series_1'], Label=[0]))])
    lab.to_csv(d/'labels1.csv', index=False)
    with pytest.raises(DatasetError, match='study_0001 contains study_0001/series_1'): validate_dataset(d)

# 6. files without an extension were silently ignored
def test_a_pacs_style_export_is_read_by_content(study_run, tmp_path):
    run, data = study_run
    d = tmp_path/'data'; (d/'CTs').mkdir(parents=True)
    labels = pd.read_csv(data/'labels1.csv')
    for s in labels.ID:
        for k, f in enumerate(sorted((data/'CTs'/s).rglob('*.dcm'))):
            out = d/'CTs'/s/'SER00001'/f'IM{k:06d}'; out.parent.mkdir(parents=True, exist_ok=True); shutil.copy(f, out)
    shutil.copy(f, d/'CTs'/'DICOMDIR'); (d/'CTs'/'README.txt').write_text('exported by PACS')
    labels.to_csv(d/'labels1.csv', index=False)
    rep = validate_dataset(d)
    assert len(rep.studies) == 6*len(labels) and rep.studies.ID.str.match(r'study_\d{4}/SER00001/IM\d{6}$').all()
    why = rep.excluded.set_index('file').reason
    assert why['DICOMDIR'].startswith('DICOMDIR') and why['README.txt'].startswith('not a DICOM file')
    df = predict_dicoms(run.dir, allow_weak=True, dicoms=d/'CTs'/labels.ID[0])
    assert df.probability.notna().sum() == 6 and not df.file.str.endswith('.dcm').any()
    df = predict_dicoms(run.dir, allow_weak=True, dicoms=d/'CTs'/'DICOMDIR')                                # a file named on purpose is tried...
    assert df.probability.notna().sum() == 1
    df = predict_dicoms(run.dir, allow_weak=True, dicoms=[d/'CTs'])                                          # ...one found in a folder is an index
    assert df.set_index('file').error[str(d/'CTs'/'DICOMDIR')].startswith('DICOMDIR')

# 8. --studies-out under a regular file: the error named --out
def test_studies_out_errors_name_their_flag(study_run, tmp_path, capsys):
    run, data = study_run
    (tmp_path/'f').write_text('x')
    assert cli_main(['predict', '--run', str(run.dir), '--dicoms', str(_study(data, 0)), '--studies-out',
                     str(tmp_path/'f'/'s.csv')]) == 2
    err = capsys.readouterr().err
    assert f"--studies-out {tmp_path/'f'/'s.csv'}: {tmp_path/'f'} is a file" in err and '--out ' not in err

# 9. duplicate slice positions reached series.csv only
def test_duplicate_positions_are_said_on_the_console_and_in_the_study_table(study_run, tmp_path, capsys):
    run, data = study_run
    src = tmp_path/'s'; shutil.copytree(_study(data, 7), src)
    fs = sorted(src.glob('*.dcm')); ds = pydicom.dcmread(fs[1]); ds.ImagePositionPatient = pydicom.dcmread(fs[0]).ImagePositionPatient
    ds.save_as(fs[1])
    st = predict(run.dir, allow_weak=True, dicoms=src).studies
    assert st.geometry.item() == '1 duplicate slice positions, 1 gaps along the slice normal'     # the moved slice left a gap
    assert 'note: 1 studies have duplicate slice positions' in capsys.readouterr().err

# 3. a negative Platt slope silently inverted the ranking; the headline test ROC-AUC was computed on the inverted map
def test_a_model_ranking_worse_than_chance_says_so_and_its_bundle_refuses(tmp_path, monkeypatch, capsys):
    import brainct_nb.step_cv as S
    real = S.run_cv
    def worse_than_chance(**kw):                      # fold scores that rank the positives lowest
        res = real(**kw); o = res.oof; rng = np.random.default_rng(0)
        for c in ('prob', 'prob_tta'):
            o[c] = np.where(o.Label == 1, .2, .6) + rng.normal(0, .05, len(o))
        return res
    monkeypatch.setattr(S, 'run_cv', worse_than_chance)
    data = make_demo_dataset(tmp_path/'data', n=120, prevalence=.15, seed=12)
    run = _run(data, tmp_path/'out', calibration='platt')
    d = run.dir
    out = capsys.readouterr().out
    assert 'WARNING: the model cannot be trusted to rank cases: its out-of-fold ROC-AUC is' in out
    cvm = json.loads((d/'cv_metrics.json').read_text())['ranking_check']
    assert cvm['ok'] is False and cvm['oof_roc_auc'] < .5 and cvm['flat_map'] and cvm['platt_slope'] == 0
    meta = json.loads((d/'bundle.json').read_text())
    assert meta['calibration']['params']['a'] == 0 and meta['ranking_check']['ok'] is False   # never inverted
    tp = read_csv(d/'test_predictions.csv'); tm = json.loads((d/'test_metrics.json').read_text())
    from sklearn.metrics import roc_auc_score
    assert tm['roc_auc']['value'] == roc_auc_score(tp.Label, tp.prob_model)          # the model's ranking, not the map's
    assert '## WARNING: these answers cannot be trusted' in (d/'model_card.md').read_text()
    f = str(sorted((data/'CTs').glob('*.dcm'))[0])
    assert cli_main(['predict', '--run', str(d), '--dicoms', f]) == 2
    assert 'This bundle refuses to score' in capsys.readouterr().err
    assert cli_main(['predict', '--run', str(d), '--dicoms', f, '--allow-weak-model']) == 0
    assert 'WARNING' in capsys.readouterr().err

# 10. the words on the console: --arch's help once listed 4 of the 8 backbones
def test_arch_help_names_every_registered_backbone():
    "The help's 'resnet18/34/50' shorthand, expanded, is exactly the registry (brainct_nb.model.BACKBONES)."
    import re
    from brainct_nb.params import param_help
    from brainct_nb.model import BACKBONES
    named = {f'{m[1]}{n}' for m in re.finditer(r'\b([a-z_]+?)(\d+(?:/\d+)*)\b', param_help('arch').split(';')[0])
             for n in m[2].split('/')}
    assert named == set(BACKBONES), (named ^ set(BACKBONES))
