"`python tools/brainct_main.py ARGS` = `brainct ARGS` where the package is importable but not installed (the GPU machine)."
import sys
from brainct_nb.cli import main
if __name__ == '__main__': sys.exit(main())
