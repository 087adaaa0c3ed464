import os, shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")   # every Ray a test starts binds 127.0.0.1 only
GE_DIR = (ROOT/'..'/'shared'/'data'/'real-head-ct'/'ge-hispeed-series').resolve()

@pytest.fixture(scope='session', autouse=True)
def _isolated_env(tmp_path_factory):
    "Keep the salt, torch cache and matplotlib headless inside the test session."
    home = tmp_path_factory.mktemp('home')
    os.environ.setdefault('BRAINCT_HOME', str(home/'brainct'))
    os.environ['TORCH_HOME'] = str(home/'torch')
    os.environ['MPLBACKEND'] = 'Agg'
    yield

@pytest.fixture(scope='session')
def ge_files():
    if not GE_DIR.is_dir(): pytest.skip(f'real GE series not present at {GE_DIR}')
    return sorted(GE_DIR.glob('*.dcm'))

@pytest.fixture
def copy(demo, tmp_path):
    "A writable copy of the module's `demo` dataset (each test module defines `demo`)."
    d = tmp_path/'data'; shutil.copytree(demo, d); return d

def pytest_configure(config):
    config.addinivalue_line('markers', 'gpu: checks of the device path against the CPU (tests/test_gpu.py; run by tools/gpu_check.sh)')
