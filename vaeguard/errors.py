"""Errors a user can cause. Each carries the exit code the CLI returns and a message that names the fix."""

from __future__ import annotations

# Exit codes, documented in the README and in `vaeguard --help`.
EXIT_OK = 0
EXIT_ANOMALIES_FOUND = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def printable(text: str) -> str:
    """`text` with each control character or line break escaped as Python writes it (\\t, \\x0b): a message
    that quotes a name or a line stays one line, and a terminal's state is left alone."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def quoted_names(names: list[str], limit: int = 10) -> str:
    """Column names as a message lists them: quoted, the first `limit`, then how many more."""
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class VaeguardError(Exception):
    """Base class: anything the user can fix. The CLI prints the message on one line and exits."""

    exit_code = EXIT_USAGE


class InputError(VaeguardError, ValueError):
    """The input table cannot be used (missing, unreadable, empty, wrong types)."""


class NoHeaderError(InputError):
    """A CSV whose first line holds values, not names: a model fitted with --names reads it with those."""


class SchemaError(VaeguardError):
    """The table does not match what the model was trained on."""


class CheckpointError(VaeguardError):
    """The model directory is missing, corrupt, or from an incompatible version."""


class ConfigError(VaeguardError, ValueError):
    """Options that contradict each other or are out of range."""


class NotFittedError(ConfigError, AttributeError):
    """The detector is used before `fit` or `load` (scikit-learn's VAEGuard raises sklearn's own type)."""


class ParamError(ConfigError):
    """A parameter out of range. The message names the Python parameter; the CLI names the flag instead."""

    def __init__(self, param: str, message: str, also: tuple[str, ...] = ()):
        self.param = param
        self.message = message  # holds "{name}" where the parameter's name goes, and "{p}" for each other parameter p in `also`
        self.also = also
        super().__init__(message.format(name=param, **{p: p for p in also}))

    def with_name(self, name: str, name_of=lambda p: p) -> str:
        return self.message.format(name=name, **{p: name_of(p) for p in self.also})
