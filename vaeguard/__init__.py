"""vaeguard: flag the rows of a table that do not look like the normal ones, with a Variational Autoencoder."""

import os

# torch's CPU matrix products go through MKL, whose kernels pick a code path by the memory alignment of
# their operands: the same fit could then end a few units in the 7th digit apart from one run to the
# next (about one fit in six on a 1,923-row Zeek log, none in fourteen with this set). Strict
# conditional numerical reproducibility makes --seed mean the same weights bit for bit; it cost no
# measurable time on a 1M-row fit or score. MKL reads it at its first call, so this holds even when torch
# was imported first; a value the user set is kept.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"
__all__ = ["VAEGuard", "score_frame", "fit_file", "score_file", "__version__"]


def __getattr__(name: str):
    # Imported lazily so `vaeguard --help` does not pay for torch and pandas.
    if name == "VAEGuard":
        from .api import VAEGuard

        return VAEGuard
    if name == "score_frame":
        from .scoring import score_frame

        return score_frame
    if name in ("fit_file", "score_file"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'vaeguard' has no attribute {name!r}")
