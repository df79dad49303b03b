"""What the page remembers between reruns, in one namespace (``from ui import state as ss``).

The code lives in three modules, re-exported here: :mod:`ui.data_choice` (the layers chosen, the
last good analysis), :mod:`ui.whatif` (the planner's added and removed sites, replayed on the cached
result) and :mod:`ui.headline` (the numbers at the top and the tables).
"""

from ui.data_choice import *  # noqa: F403
from ui.data_choice import __all__ as _data_all
from ui.headline import *  # noqa: F403
from ui.headline import __all__ as _headline_all
from ui.whatif import *  # noqa: F403
from ui.whatif import __all__ as _whatif_all

__all__ = [*_data_all, *_whatif_all, *_headline_all]
