"""Make the checkout importable as ``ansible_collections.containerops.lifecycle`` for pytest.

Ansible imports collection code through that package path; a symlink under ``.build/`` gives
pytest the same view without copying files.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
_TREE = os.path.join(_ROOT, ".build", "pytest-tree")
_LINK = os.path.join(_TREE, "ansible_collections", "containerops", "lifecycle")

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(_ROOT, _LINK)
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)
