"""Small helpers shared by the tests."""
import importlib.util
import os.path as osp
import socket

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relpath):
    """The tool script ``relpath`` (e.g. ``tools/analysis_tools/ablate.py``)
    imported as a module by its path: the tools are scripts, not a package,
    and the old ``tools/<name>.py`` stubs must not shadow them."""
    path = osp.join(ROOT, relpath)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    """A TCP port nobody listens on now (for a rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def count_params(module, trainable=True):
    """Parameters of ``module`` with ``requires_grad == trainable``."""
    return sum(p.numel() for p in module.parameters()
               if p.requires_grad == trainable)
