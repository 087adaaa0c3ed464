"Bad inputs in a run become rows of the quality summary (and the run goes on without them) or stop validation with the IDs."
import json, shutil
from pathlib import Path
import numpy as np, pandas as pd, pydicom, pytest
from pydicom.data import get_testdata_file
from brainct_nb.demo import make_demo_dataset
from brainct_nb import pipeline as P

@pytest.fixture(scope='module')
def faulty(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad'); data = make_demo_dataset(root/'data', n=60, prevalence=.2, seed=21)
    ct, lab = data/'CTs', pd.read_csv(data/'labels1.csv', dtype=str)
    neg = lab.ID[lab.Label == '0'].tolist()
    faults = {neg[0]: 'empty file', neg[1]: 'cannot decode', neg[2]: 'not a DICOM file', neg[3]: 'not CT', neg[4]: 'no pixel data'}
    (ct/f'{neg[0]}.dcm').write_bytes(b'')
    b = (ct/f'{neg[1]}.dcm').read_bytes(); (ct/f'{neg[1]}.dcm').write_bytes(b[:len(b)//2])       # truncated
    (ct/f'{neg[2]}.dcm').write_text('ID,Label\nthis is text\n')
    shutil.copy(get_testdata_file('MR_small.dcm'), ct/f'{neg[3]}.dcm')
    d = pydicom.dcmread(ct/f'{neg[4]}.dcm'); del d.PixelData; d.save_as(ct/f'{neg[4]}.dcm')
    return root, data, faults

def test_faulty_files_are_rows_and_the_run_goes_on(faulty):
    root, data, faults = faulty
    run = P.start_run(data_root=str(data), out_dir=str(root/'out'), pretrained=False, out_size=32, k_folds=3, num_workers=2)
    P.step_validate(run); feats, qc = P.step_features(run); sp = P.step_split(run)
    err = feats.set_index('ID').error
    for i, reason in faults.items(): assert err[i].startswith(reason), (i, err[i])
    assert qc['n_error'] == 5 and {e['ID'] for e in qc['errors']} == set(faults)
    assert not set(faults) & set(sp.ID) and len(sp) == 55                       # the run continues without them
    saved = json.loads((run.dir/'features_checks_summary.json').read_text())
    assert saved['n_error'] == 5 and saved['validation']['n_studies'] == 60

def test_corrupted_cache_entry_is_rebuilt(faulty):
    from brainct_nb.store import npy_offset
    root, data, _ = faulty
    store = [d for d in (root/'out'/'cache').iterdir() if d.is_dir()][0]
    idx = pd.concat([pd.read_parquet(p) for p in store.glob('*.parquet')])
    e = idx.iloc[0]; shard = store/f"{e['shard']}.npy"
    with open(shard, 'r+b') as f: f.seek(npy_offset(shard)[0] + int(e['row'])*32*32*2); f.write(b'\x7f'*100)   # damaged row
    run = P.start_run(data_root=str(data), out_dir=str(root/'out'), pretrained=False, out_size=32, k_folds=3)
    P.step_validate(run); feats, qc = P.step_features(run)
    assert qc['cache']['decoded'] == 1
    assert len(list(store.glob('*.npy'))) == 2                                     # the row was decoded again, into a new shard

def test_corrupt_index_file_is_set_aside_and_its_rows_decoded_again(faulty, capsys):
    "One flipped byte in a shard's index .parquet once broke every later run ('cannot write : Unexpected end of stream')."
    root, data, _ = faulty
    store = [d for d in (root/'out'/'cache').iterdir() if d.is_dir()][0]
    p = sorted(store.glob('shard_*.parquet'), key=lambda q: len(pd.read_parquet(q)))[-1]
    others = set(pd.concat([pd.read_parquet(q) for q in store.glob('shard_*.parquet') if q != p]).content_sha1)
    n_rows = len(set(pd.read_parquet(p).content_sha1) - others)                  # rows only this index file holds
    b = bytearray(p.read_bytes()); b[len(b)//2] ^= 0xff; b[-10] ^= 0xff; p.write_bytes(bytes(b))
    run = P.start_run(data_root=str(data), out_dir=str(root/'out'), pretrained=False, out_size=32, k_folds=3)
    P.step_validate(run); feats, qc = P.step_features(run)
    err = capsys.readouterr().err
    assert p.name in err and 'unreadable' in err and 'decoded again' in err
    assert (store/'corrupt'/p.name).exists() and (store/'corrupt'/p.with_suffix('.npy').name).exists()   # kept for inspection
    assert not p.exists() and qc['cache']['index_files_set_aside'] == [p.name]
    assert qc['cache']['decoded'] == n_rows and feats.ok.sum() == 55
    P.step_validate(run := P.start_run(data_root=str(data), out_dir=str(root/'out'), pretrained=False, out_size=32, k_folds=3))
    assert P.step_features(run)[1]['cache']['decoded'] == 0                        # and the next run finds every crop
