"""The default suite's rule (tests/conftest.py): a test that trains through BasicTS must be marked slow."""
import pytest
from basicts import BasicTSLauncher


def test_an_unmarked_test_cannot_train():
    with pytest.raises(AssertionError, match="trains through BasicTS but is not marked slow"):
        BasicTSLauncher.launch_training(None)


@pytest.mark.slow
def test_a_slow_test_reaches_the_real_launcher():
    with pytest.raises(Exception) as caught:  # the real launcher, given no config, fails on its own terms
        BasicTSLauncher.launch_training(None)
    assert "not marked slow" not in str(caught.value)

