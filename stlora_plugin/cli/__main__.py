"""``python -m stlora_plugin.cli``: the ``stlora`` command without its console script."""
import sys

from .main import main

sys.exit(main())
