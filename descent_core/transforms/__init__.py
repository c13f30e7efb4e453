"""The named pieces every optimizer is built from, grouped as the guide is (see ``base`` for the contract).

``from descent_core import transforms as tf`` gives every piece and helper by name: ``tf.ema``, ``tf.scale_by_adam``.
"""

from .base import *  # noqa: F401,F403
from .base import Context, Empty, IDENTITY, Transform
from .momentum import *  # noqa: F401,F403
from .diagonal import *  # noqa: F401,F403
from .adam import *  # noqa: F401,F403
from .frontier import *  # noqa: F401,F403
from .matrix import *  # noqa: F401,F403
from .schedule_free import *  # noqa: F401,F403
from .factored import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
