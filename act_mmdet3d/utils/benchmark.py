"""Timing, machine and table helpers shared by the benchmark tools.

Timing runs on :class:`torch.utils.benchmark.Timer` (``adaptive_autorange``)
with the caller's ``torch.get_num_threads()``, tables on ``terminaltables``
and progress lines on mmengine's logger.
"""
import datetime
import platform

import torch
from mmengine.logging import MMLogger
from terminaltables import AsciiTable, GithubFlavoredMarkdownTable
from torch.utils.benchmark import Timer


def measure(fn, max_run_time=1.0, min_run_time=0.2, threshold=0.1):
    """Median seconds of one ``fn()`` call.

    ``Timer.adaptive_autorange``: a warm-up call that also sizes the blocks
    of calls, then blocks until their spread (IQR / median) is below
    ``threshold`` after at least 4 blocks and ``min_run_time`` seconds, or
    until ``max_run_time`` seconds (a slow baseline runs once after its
    warm-up). Uses the current ``torch.get_num_threads()`` (Timer's default
    is one thread), so every implementation sees the same threads.
    """
    timer = Timer('fn()', globals=dict(fn=fn),
                  num_threads=torch.get_num_threads())
    return timer.adaptive_autorange(
        threshold, min_run_time=min(min_run_time, max_run_time),
        max_run_time=max_run_time).median


def matmul_gflops(n=1024, dtype=torch.float32):
    """The machine's dense GEMM rate on (n, n) @ (n, n) in GFLOP/s."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / measure(lambda: a @ b, max_run_time=0.5) / 1e9


def machine_info():
    """Date, versions, threads and processor of this run (a dict)."""
    return dict(
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        python=platform.python_version(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        cuda=torch.cuda.get_device_name()
        if torch.cuda.is_available() else None)


def progress_logger(name='benchmark'):
    """``msg -> None``: one timestamped progress line per call (MMLogger)."""
    return MMLogger.get_instance(name, logger_name=name).info


def add_bench_args(parser, outputs: str):
    """Add the arguments every benchmark tool takes: the input size
    (``--batch-size`` clouds of ``--num-points`` points, ACT's fine-tuning
    batch of 32 x 1024 by default) and ``--out``, the folder it writes
    ``outputs`` to (``tools/analysis_tools/benchmark.py`` reads them)."""
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--num-points', type=int, default=1024)
    parser.add_argument('--out', default=None, help=f'folder for {outputs}')
    return parser


def format_value(value):
    """A cell: floats to 3 significant-ish digits, None / NaN as '-'."""
    if isinstance(value, float):
        if value != value:  # NaN
            return '-'
        digits = 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
        return f'{value:.{digits}f}'
    return '-' if value is None else str(value)


def format_table(rows, columns=None, markdown=False):
    """Rows (dicts) as a text table, or a Markdown table with ``markdown``.

    Args:
        rows (list[dict]): one dict per row; a missing key is a '-' cell.
        columns (Sequence[str], optional): the columns in order; default:
            every key, in order of first appearance.
    """
    if not rows:
        return '(no rows)'
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    data = [list(columns)]
    data += [[format_value(row.get(c)) for c in columns] for row in rows]
    table_cls = GithubFlavoredMarkdownTable if markdown else AsciiTable
    return table_cls(data).table
