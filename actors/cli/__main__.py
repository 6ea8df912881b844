"""``python -m actors.cli``: the ``smart-exec`` command without its console script."""

import sys

from actors.cli import main

if __name__ == "__main__":
    sys.exit(main())
