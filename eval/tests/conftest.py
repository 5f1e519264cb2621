"""The kit's tests may use the product's test helpers (`tests/conftest.py`: FakeGenerator).

Run alone (`pytest eval/tests`), the checkout's root is not on the path; this puts it there
so `from tests.conftest import ...` works either way.
"""

from __future__ import annotations

import sys

from rag.config import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
