"A papermill run leaves its executed notebook in the run folder."
import json, subprocess, sys, time
from pathlib import Path
import nbformat, pytest

def test_papermill_output_is_copied_into_the_run_folder(tmp_path):
    pm = Path(sys.executable).with_name('papermill')
    if not pm.exists(): pytest.skip('papermill not installed')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from pathlib import Path\nfrom brainct_nb.pipeline import Run, RunParams\nfrom brainct_nb.cli import keep_executed_notebook\n"
        f"run = Run(RunParams(), Path({str(tmp_path/'run')!r}), None, False)\nrun.dir.mkdir()\nprint('hello from the run')\n"
        "keep_executed_notebook(run)")]
    nb.metadata['kernelspec'] = dict(name='python3', display_name='python3', language='python')
    src, out = tmp_path/'in.ipynb', tmp_path/'out.ipynb'
    nbformat.write(nb, src)
    subprocess.run([str(pm), str(src), str(out), '--cwd', str(tmp_path)], check=True, capture_output=True, cwd=tmp_path)
    dst = tmp_path/'run'/'run.ipynb'
    for _ in range(50):
        if dst.exists(): break
        time.sleep(.1)
    assert dst.exists()
    text = dst.read_text()
    assert 'hello from the run' in text and 'will be copied to' in text    # the last cell's outputs are in the copy
