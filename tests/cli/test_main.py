"""The parser and its error policy: a user's mistake is one line and exit 2, a programming error keeps its
traceback, and --debug shows it anyway."""
import subprocess
import sys


def _stlora(*argv) -> subprocess.CompletedProcess:
    """``python -m stlora_plugin.cli argv`` in a new process: what a user's shell sees."""
    return subprocess.run([sys.executable, "-m", "stlora_plugin.cli", *map(str, argv)], capture_output=True, text=True)


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    proc = _stlora("data", "prepare", "pems", tmp_path / "x", "--out", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "raw path not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_without_cfg_is_refused(tmp_path, refused):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    assert "defines no CFG" in refused(["train", str(bad)])


def test_a_config_with_a_syntax_error_is_one_line_naming_the_place(tmp_path, refused):
    config = tmp_path / "broken.py"
    config.write_text("CFG = (\n")
    assert f"{config}:1: syntax error" in refused(["train", str(config)])


def test_a_programming_error_in_a_config_keeps_its_traceback(tmp_path):
    config = tmp_path / "keyerror.py"
    config.write_text("settings = {}\nCFG = settings['num_epochs']\n")
    proc = _stlora("train", config)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "keyerror.py" in proc.stderr


def test_debug_shows_the_traceback_of_a_user_mistake(tmp_path):
    proc = _stlora("--debug", "data", "prepare", "pems", tmp_path / "x")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "raw path not found" in proc.stderr
