from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .pretrainers import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .target_generators import *  # noqa: F401,F403
