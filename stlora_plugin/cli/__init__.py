"""The ``stlora`` command: prepare data, train and evaluate BasicTS configs, run the demo and the studies.

One module per group of commands (``data``, ``run``, ``studies``), their shared argument types in ``options``,
the parser and the error handling in ``main``. User mistakes (a missing file, a bad option or value) end with one
line on stderr and exit status 2, checked before anything trains; ``--debug`` shows their traceback too. Any other
exception (a programming error in the package or in a config file) keeps its traceback.
"""
from .main import main

__all__ = ["main"]
