"""vaeguard: flag the rows of a table that do not look like the normal ones, with a Variational Autoencoder."""

import os

# torch's CPU matrix products go through MKL, which may pick its code path afresh on each run: the same
# fit then ended a few units in the 7th digit apart in about one run in six (a 1,923-row Zeek log; none
# in thirty with this set). Conditional numerical reproducibility (AUTO: the fastest path this CPU
# offers, fixed) makes --seed mean the same weights bit for bit, at no measurable cost; the stricter
# "AUTO,STRICT", which also ignores operand alignment, cost 15% of the scoring network's time. MKL reads
# the variable at its first call, so this holds even when torch was imported first; a value the user set
# is kept.
os.environ.setdefault("MKL_CBWR", "AUTO")

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
