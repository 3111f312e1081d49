"""The objects a process builds to start, kept out of the garbage collector's full passes.

A started worker holds some 200,000 objects that live as long as it does (modules, classes, the models'
metadata, compiled statements). Python's full collection walks all of them each time, and an inbox drain
keeps enough objects alive across a batch to set one off every few thousand events: 70 ms each, about a
tenth of the drain's time (bench/apply.py). Frozen once the process has started, they are no longer
walked; what the process allocates afterwards is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what starting left behind, then move every surviving object out of the collector's reach."""
    gc.collect()
    gc.freeze()
