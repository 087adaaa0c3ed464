"Issue #40 item 1: a first run on real data needs no flag and no network (a few kaggle-head-ct slices; skipped when absent)."
import json
from pathlib import Path
import pytest
from brainct_nb.cli import main as cli_main

FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)

KHCT = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'kaggle-head-ct'

def test_a_first_real_data_run_needs_no_flag_and_no_network(tmp_path):
    "No --arch, no --pretrained on real data: EfficientNet-Lite1 from the ImageNet weights the install brings (#40 item 1)."
    if not (KHCT/'labels1.csv').exists(): pytest.skip('kaggle-head-ct not present')
    import pandas as pd, shutil
    lab = pd.read_csv(KHCT/'labels1.csv', dtype={'ID': str})
    lab = pd.concat([lab[lab.Label == 1].head(12), lab[lab.Label == 0].head(12)])
    (tmp_path/'d'/'CTs').mkdir(parents=True); lab.to_csv(tmp_path/'d'/'labels1.csv', index=False)
    for i in lab.ID: shutil.copy(KHCT/'CTs'/f'{i}.dcm', tmp_path/'d'/'CTs'/f'{i}.dcm')
    (tmp_path/'fast.json').write_text(json.dumps(FAST))
    assert cli_main(['run', '--data-root', str(tmp_path/'d'), '--k-folds', '2', '--out-size', '32', '--test-size', '.2',
                     '--config-json', str(tmp_path/'fast.json'), '--out-dir', str(tmp_path/'o')]) == 0
    ec = json.loads(next((tmp_path/'o').glob('run_*/effective_config.json')).read_text())
    assert ec['arch'] == 'efficientnet_lite1' and ec['pretrained'] is True
