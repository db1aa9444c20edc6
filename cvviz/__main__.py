"""``python -m cvviz``: see :mod:`cvviz.cli`."""

import sys

from cvviz.cli import main

sys.exit(main())
