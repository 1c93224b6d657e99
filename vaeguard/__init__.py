"""vaeguard: flag the rows of a table that do not look like the normal ones, with a Variational Autoencoder."""

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
