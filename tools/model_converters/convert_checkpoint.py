"""Convert an official ACT / Point-MAE / Point-BERT checkpoint to this
project's module names (an mmengine checkpoint).

Example::

    # ACT Stage II (pretrain.pth from the ACT model zoo) -> ACTPretrainer
    python tools/model_converters/convert_checkpoint.py ckpts/pretrain.pth \
        work_dirs/converted/act_pretrain.pth --from act_pretrain
    # only the student, for fine-tuning configs
    python tools/model_converters/convert_checkpoint.py ckpts/pretrain.pth \
        work_dirs/converted/act_backbone.pth --from act_pretrain \
        --parts backbone
    # a fine-tuned ScanObjectNN model, checked against the project config
    python tools/model_converters/convert_checkpoint.py \
        ckpts/scan_hardest.pth work_dirs/converted/act_scan_hardest.pth \
        --from act_finetune --config configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-hardest.py

Layouts (``--from``): one module each in ``act_mmdet3d/converters/`` and
the model zoo docs; ``auto`` detects the layout from the key names.

SRC is only read. DST is written through a temporary file in its folder
and renamed into place (never half-written); an existing DST is replaced
only with ``--force``, and DST may never be SRC. The output is
``{'state_dict': ..., 'meta': {...}}`` (``meta``: the source file, its
SHA-256, layout, epoch / metrics when stored, what was dropped), and loads
with ``load_from=DST`` or ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='backbone.')``.

Nothing is written when a key is unknown to the layout (``--allow-unknown``
drops those), a key of a converted part is missing, or a shape differs from
the project model (inferred from the file, or ``--config``'s model). The
summary lists the mapped count, the dropped (unmapped) keys with the reason
they have no counterpart, and the keys the project model initialises
itself.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import torch

from act_mmdet3d.converters import (PARTS, SOURCES, CheckpointConversionError,
                                    convert_checkpoint)

from act_mmdet3d.compat import apply_all as apply_compat


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official ACT / Point-MAE / Point-BERT '
        'checkpoint to act_mmdet3d module names')
    parser.add_argument('src', help='official checkpoint (read only)')
    parser.add_argument('dst', help='output mmengine checkpoint')
    parser.add_argument(
        '--from', dest='layout', required=True, choices=SOURCES + ('auto', ),
        help='source layout (auto: detect from the key names)')
    parser.add_argument(
        '--parts',
        help='comma-separated project parts to keep, e.g. "backbone" '
        f'(of {", ".join(PARTS)}); default: all')
    parser.add_argument(
        '--config',
        help='check against this project config\'s model instead of one '
        'inferred from the file')
    parser.add_argument(
        '--force', action='store_true', help='replace an existing DST')
    parser.add_argument(
        '--allow-unknown',
        action='store_true',
        help='drop source keys the layout does not know instead of failing')
    parser.add_argument(
        '--trust-pickle',
        action='store_true',
        help='torch.load the source with weights_only=False (only for files '
        'you trust)')
    return parser.parse_args(argv)


def save_atomic(obj, dst: str) -> None:
    """``torch.save`` to a temporary file next to ``dst``, then rename."""
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(dst)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None) -> int:
    args = parse_args(argv)
    apply_compat()
    if not osp.isfile(args.src):
        print(f'error: source checkpoint not found: {args.src}',
              file=sys.stderr)
        return 2
    if osp.exists(args.dst) and osp.samefile(args.src, args.dst):
        print(f'error: DST is the source file {args.src}; the source is '
              'never modified', file=sys.stderr)
        return 2
    if osp.exists(args.dst) and not args.force:
        print(f'error: {args.dst} exists; pass --force to replace it',
              file=sys.stderr)
        return 2
    model_cfg = None
    if args.config:
        from mmengine.config import Config
        model_cfg = Config.fromfile(args.config).model.to_dict()
    parts = None
    if args.parts:
        parts = [p.strip() for p in args.parts.split(',') if p.strip()]
    try:
        ckpt, report = convert_checkpoint(
            args.src,
            args.layout,
            parts=parts,
            model_cfg=model_cfg,
            allow_unknown=args.allow_unknown,
            trust_pickle=args.trust_pickle)
    except (CheckpointConversionError, ValueError, KeyError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    save_atomic(ckpt, args.dst)
    print(report.summary())
    print(f'written: {args.dst} ({len(ckpt["state_dict"])} tensors)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
