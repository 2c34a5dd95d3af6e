"""Small helpers shared by the tests."""
import socket


def free_port():
    """A TCP port nobody listens on now (for a rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def count_params(module, trainable=True):
    """Parameters of ``module`` with ``requires_grad == trainable``."""
    return sum(p.numel() for p in module.parameters()
               if p.requires_grad == trainable)
