"""Make the repository root importable (the package is not installed into the venv); shared fixtures."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: on a busy 2-core machine the intra-op pool thrashes (up to 20x slower)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def navigation_not_pages_folder(monkeypatch):
    """For AppTest of app.py: AppTest re-detects the legacy `pages/` folder at every run (it resets the
    flag that `st.navigation` clears) and would then run a page file alone, without app.py. The real
    server clears the flag once, on its first run (and pages/lab.py `ensure_shell` handles a deep link
    that comes first); this makes AppTest behave like it. Use with
    `pytest.mark.usefixtures("navigation_not_pages_folder", "restore_torch_threads")`."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="module")
def restore_torch_threads():
    """The app pins torch to one thread (pages/lab.py); give later test modules their own setting back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
