"""What every command-line test checks of a refused command: exit status 2 and one line on stderr."""
from __future__ import annotations

import pytest

from stlora_plugin.cli import main


@pytest.fixture
def refused(capsys):
    """``refused(argv)`` runs ``stlora argv``, which must fail with exit 2 and one line on stderr; it returns that
    line."""
    def run(argv) -> str:
        with pytest.raises(SystemExit) as exit_info:  # argparse's own errors exit
            raise SystemExit(main(argv))
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err
        return err.splitlines()[-1]

    return run
