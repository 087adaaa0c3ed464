"""On PYTHONPATH with TRACE_MODS_DIR set: each Python process writes the top-level modules it imported, at exit.
tests/test_gpu_check.py uses it to hold tools/gpu_wheels.sh's list to what the GPU check really imports."""
import atexit, os, sys

def _dump():
    d = os.environ.get('TRACE_MODS_DIR')
    if d: open(os.path.join(d, f'{os.getpid()}.txt'), 'w').write('\n'.join(sorted({m.split('.')[0] for m in list(sys.modules)})))
atexit.register(_dump)
