"""Where spikelearn keeps what it builds: standalone build directories (`spikelearn.devices`) and the
cuRAND link of the ``cuda`` device (`spikelearn.cuda`), and trained dendritic trees
(`spikelearn.tasks.lyo2024.learned`)."""

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root():
    """Root of the build cache: ``$SPIKELEARN_CACHE`` or ``~/.cache/spikelearn``."""
    root = os.environ.get("SPIKELEARN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spikelearn")
    return Path(root)
