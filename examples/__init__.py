"""
The example project, run by pytest together with the library's own tests.

Being a package makes its conftest the module `examples.conftest`, so that it
does not replace `tests/conftest.py` as the module `conftest`. The project's own
package, `autotests`, is imported as a top-level package, as it would be at the
root of a project of its own: its directory goes on `sys.path` here.
"""

import sys
from pathlib import Path

_PROJECT_ROOT = str(Path(__file__).parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)
