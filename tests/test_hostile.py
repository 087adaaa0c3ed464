"Hostile and messy inputs: each case from the issue reproduced with pydicom-built files, and its rule checked."
import errno, json, os, shutil
from pathlib import Path
import numpy as np, pandas as pd, pydicom, pytest
from brainct_nb.demo import make_demo_dataset
from brainct_nb import pipeline as P
from brainct_nb import data as D
from brainct_nb.cli import main as cli_main
from brainct_nb.dicom import StorageError, DatasetError, ParamError

BASE = dict(pretrained=False, out_size=32, k_folds=3, num_workers=0)

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp('h')/'demo', n=80, prevalence=.2, seed=31)

def _uncompressed(d):
    return [f for f in sorted((d/'CTs').glob('*.dcm')) if ' (' not in f.name
            and not pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID.is_compressed]

def _prepare(data, out, **kw):
    run = P.start_run(data_root=str(data), out_dir=str(out), **{**BASE, **kw})
    P.step_validate(run); P.step_features(run); P.step_split(run)
    return run

def test_anonymised_patient_ids_fall_back_to_study_groups(copy, tmp_path, capsys):
    for f in (copy/'CTs').glob('*.dcm'):
        ds = pydicom.dcmread(f); ds.PatientID = 'ANON'; ds.save_as(f)
    run = _prepare(copy, tmp_path/'o')
    qc = json.loads((run.dir/'features_checks_summary.json').read_text())
    assert qc['split']['grouping'].startswith('WARNING: PatientID looks anonymised') and 'WARNING: PatientID' in capsys.readouterr().out
    studies = run.features.feats.set_index('ID').study_hash
    assert run.split.group.nunique() == studies[run.split.ID].nunique() < len(run.split)    # one group per study, not per slice
    assert (run.split.groupby(studies[run.split.ID].values).split.nunique() == 1).all()     # a study's slices on one side
    with pytest.raises(DatasetError, match="grouping='patient'"): _prepare(copy, tmp_path/'o2', grouping='patient')
    assert P.read_status(sorted((tmp_path/'o2').glob('run_*'))[-1])['state'] == 'failed'

def test_degenerate_slices_are_error_rows(copy, tmp_path):
    neg = pd.read_csv(copy/'labels1.csv', dtype=str).query("Label == '0'").ID.tolist()
    files = {f.stem: f for f in _uncompressed(copy)}
    ids = [i for i in neg if i in files][:4]
    ds = pydicom.dcmread(files[ids[0]]); ds.RescaleSlope = 0; ds.save_as(files[ids[0]])
    ds = pydicom.dcmread(files[ids[1]]); ds.RescaleSlope = 'NaN'; ds.save_as(files[ids[1]])
    ds = pydicom.dcmread(files[ids[2]]); a = ds.pixel_array
    ds.Rows = ds.Columns = 1; ds.PixelData = a[:1, :1].tobytes(); ds.save_as(files[ids[2]])
    ds = pydicom.dcmread(files[ids[3]]); a = ds.pixel_array.copy(); air = (-1024 - float(ds.RescaleIntercept))/float(ds.RescaleSlope)
    a[:] = air; a[:4, :4] = air + 1064; ds.PixelData = a.tobytes(); ds.save_as(files[ids[3]])           # a speck, no head
    run = _prepare(copy, tmp_path/'o')
    err = run.features.feats.set_index('ID').error
    assert err[ids[0]].startswith('RescaleSlope is 0') and 'not finite' in err[ids[1]]
    assert err[ids[2]].startswith('image too small (1x1') and err[ids[3]].startswith('no head found')
    assert not set(ids) & set(run.split.ID)
    ex = pd.read_csv(run.dir/'excluded.csv', dtype=str)
    assert set(ids) <= set(ex.ID[ex.stage == 'decode'])

def test_excluded_items_are_named_in_csv_and_console(copy, tmp_path, capsys):
    lab = pd.read_csv(copy/'labels1.csv', dtype=str)
    first = lab.ID[lab.Label == '0'].iloc[0]
    os.rename(copy/'CTs'/f'{first}.dcm', copy/'CTs'/f'{first.lower()}.dcm')                     # case-only difference
    (copy/'CTs'/'folder.dcm').mkdir(); os.symlink(copy/'CTs'/'loop.dcm', copy/'CTs'/'loop.dcm')
    run = _prepare(copy, tmp_path/'o')
    ex = pd.read_csv(run.dir/'excluded.csv', dtype=str).fillna('')
    r = {(a, b): c for a, b, c in zip(ex.ID, ex.file, ex.reason)}
    assert r[(first, '')] == f"label without a DICOM file (file '{first.lower()}.dcm' differs only in case)"
    assert r[('folder', 'folder.dcm')].startswith('a folder') and 'loop' in r[('loop', 'loop.dcm')]
    out = capsys.readouterr().out
    assert 'excluded (all in excluded.csv):' in out and f"{first}" in out

def test_test_size_is_honoured_with_repeated_patients(demo, tmp_path):
    run = _prepare(demo, tmp_path/'o', test_size=.4)
    info = json.loads((run.dir/'features_checks_summary.json').read_text())['split']
    assert abs(info['test_fraction'] - .4) <= .05 and 'size_warning' not in info

@pytest.mark.parametrize('kw,msg', [(dict(out_size=0), 'out_size must be'), (dict(out_size=-1), 'out_size must be'),
                                    (dict(test_size=.99), 'test_size must be'), (dict(k_folds=1), 'k_folds must be'),
                                    (dict(num_workers=-2), 'num_workers must be'), (dict(grouping='x'), 'grouping must be'),
                                    (dict(nope=1), "unexpected keyword argument 'nope'")])
def test_parameter_floors(tmp_path, kw, msg):
    with pytest.raises(ParamError, match=msg): P.start_run(out_dir=str(tmp_path), **kw)
    assert not list(tmp_path.glob('run_*'))                                  # nothing was created

def test_full_disk_leaves_no_temporary_files(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(D, 'atomic_write', lambda path, write: (_ for _ in ()).throw(OSError(errno.ENOSPC, 'No space left on device')))
    run = P.start_run(data_root=str(demo), out_dir=str(tmp_path/'o'), **BASE)
    P.step_validate(run)
    with pytest.raises(StorageError, match='No space left on device; free some space or choose another out_dir'): P.step_features(run)
    assert P.read_status(run.dir)['state'] == 'failed'
    assert not [p for p in (tmp_path/'o').rglob('*.tmp')] and not (run.dir/'features.csv').exists()

def test_atomic_write_cleans_up(tmp_path):
    def boom(t): Path(t).write_text('half'); raise OSError(errno.ENOSPC, 'No space left on device')
    with pytest.raises(OSError): D.atomic_write(tmp_path/'x.csv', boom)
    assert list(tmp_path.iterdir()) == []

def test_cli_known_errors_are_one_message(tmp_path, capsys, copy):
    blocker = tmp_path/'file'; blocker.write_text('')
    assert cli_main(['run', '--out-dir', str(blocker/'sub')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('brainct: error: cannot write out_dir') and 'Traceback' not in err
    lab = pd.read_csv(copy/'labels1.csv', dtype=str); lab.loc[0, 'Label'] = '2'; lab.to_csv(copy/'labels1.csv', index=False)
    assert cli_main(['run', '--data-root', str(copy), '--out-dir', str(tmp_path/'o'), '--pretrained', 'false']) == 2
    err = capsys.readouterr().err
    assert 'Label must be 0 or 1' in err and lab.ID[0] in err and len(err.strip().splitlines()) == 2
    st = P.read_status(sorted((tmp_path/'o').glob('run_*'))[-1])
    assert st['state'] == 'failed' and st['step'] == 'step_validate' and 'Label must be 0 or 1' in st['error']
    with pytest.raises(DatasetError): cli_main(['run', '--data-root', str(copy), '--out-dir', str(tmp_path/'o'), '--pretrained', 'false', '--debug'])

def test_predict_checks_out_path_before_anything(tmp_path, capsys):
    (tmp_path/'empty').mkdir()
    assert cli_main(['predict', '--run', str(tmp_path), '--dicoms', str(tmp_path/'empty'), '--out', str(tmp_path/'no'/'p.csv')]) == 2
    assert f"folder {tmp_path/'no'} does not exist" in capsys.readouterr().err        # before the (missing) bundle is read
