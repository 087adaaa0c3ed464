"Dataset validation catches each fault planted in a copy of the demo set."
import shutil
from pathlib import Path
import pandas as pd, pytest
from brainct_nb.demo import make_demo_dataset
from brainct_nb.dicom import DatasetError
from brainct_nb.dataset import validate_dataset

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp('v')/'demo', n=40, prevalence=.25, seed=5)

def _labels(d): return pd.read_csv(d/'labels1.csv', dtype=str)

def test_clean_demo(demo):
    rep = validate_dataset(demo, k_folds=3)
    assert len(rep.studies) == 40 and rep.summary()['excluded_by_reason'] == {'duplicate copy (" (n).dcm"), excluded': 3}

def test_layout_errors(copy):
    with pytest.raises(DatasetError, match='labels file'): validate_dataset(copy, labels='nope.csv')
    with pytest.raises(DatasetError, match='CT folder'): validate_dataset(copy, cts='nope')
    with pytest.raises(DatasetError, match='not a directory'): validate_dataset(copy/'missing')

def test_bad_label_values_named(copy):
    lab = _labels(copy); lab.loc[3, 'Label'] = '2'; lab.loc[5, 'Label'] = ''; lab.to_csv(copy/'labels1.csv', index=False)
    with pytest.raises(DatasetError) as e: validate_dataset(copy)
    assert lab.ID[3] in str(e.value) and lab.ID[5] in str(e.value) and '0 or 1' in str(e.value)

def test_conflicting_duplicate_ids(copy):
    lab = _labels(copy); row = lab.iloc[[0]].copy(); row['Label'] = str(1 - int(row.Label.iloc[0]))
    pd.concat([lab, row]).to_csv(copy/'labels1.csv', index=False)
    with pytest.raises(DatasetError, match=f"different labels: {lab.ID[0]}"): validate_dataset(copy)

def test_same_id_twice_same_label_is_kept_once(copy):
    lab = _labels(copy); pd.concat([lab, lab.iloc[[0]]]).to_csv(copy/'labels1.csv', index=False)
    rep = validate_dataset(copy)
    assert len(rep.studies) == 40 and 'duplicate label row (same label, kept once)' in set(rep.excluded.reason)

def test_missing_file_and_unlabelled_file_are_excluded(copy):
    lab = _labels(copy); gone = lab.ID[lab.Label == '0'].iloc[0]
    (copy/'CTs'/f'{gone}.dcm').unlink()
    src = next(p for p in sorted((copy/'CTs').glob('*.dcm')) if ' (' not in p.name)
    shutil.copy(src, copy/'CTs'/'ID_extra.dcm')
    rep = validate_dataset(copy)
    r = rep.excluded.set_index('ID').reason
    assert r[gone] == 'label without a DICOM file' and r['ID_extra'] == 'DICOM file without a label'
    assert len(rep.studies) == 39

def test_bom_spaces_semicolons(copy):
    lab = _labels(copy)
    text = '\ufeff ID ; label \n' + '\n'.join(f'{i} ; {l}' for i, l in zip(lab.ID, lab.Label))
    (copy/'labels1.csv').write_text(text, encoding='utf-8')
    assert len(validate_dataset(copy).studies) == 40

def test_missing_columns(copy):
    _labels(copy).rename(columns={'Label': 'Target'}).to_csv(copy/'labels1.csv', index=False)
    with pytest.raises(DatasetError, match="needs columns 'ID' and 'Label'"): validate_dataset(copy)

def test_no_positives_and_too_few_for_folds(copy):
    lab = _labels(copy); pos = lab.ID[lab.Label == '1'].tolist()
    lab2 = lab.copy(); lab2['Label'] = '0'; lab2.to_csv(copy/'labels1.csv', index=False)
    with pytest.raises(DatasetError, match='no positive studies'): validate_dataset(copy)
    lab3 = lab.copy(); lab3.loc[lab3.ID.isin(pos[3:]), 'Label'] = '0'; lab3.to_csv(copy/'labels1.csv', index=False)
    with pytest.raises(DatasetError, match='only 3 positive studies for 5-fold CV'): validate_dataset(copy, k_folds=5)
