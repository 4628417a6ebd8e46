"""Make `import torch` work when `python3` on PATH is not the Debian interpreter.

The project uses Debian's python3-torch (installed for /usr/bin/python3). If the
python3 found first on PATH (e.g. a pyenv shim) lacks torch, re-run the current
script under /usr/bin/python3 with the same arguments.
"""
import os
import sys


def ensure_torch():
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(debian) and os.path.exists(debian):
        os.execv(debian, [debian] + sys.argv)
    sys.exit("error: PyTorch not importable; install python3-torch (Debian) and run with /usr/bin/python3")
