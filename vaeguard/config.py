"""Option defaults from a TOML file (`--config` / VAEGUARD_CONFIG), as click's default_map.

Top-level keys apply to every command that has the option; `[fit]`, `[score]`, ... tables to one
command. Keys are option names, with `_` or `-`. Command-line flags and environment variables win.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def _norm(key: str) -> str:
    return key.replace("-", "_")


def _options(cmd) -> dict[str, str]:
    """Long option names (normalised) -> click parameter names."""
    return {_norm(o.lstrip("-")): p.name for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("--")}


def _kinds(cmd) -> dict[str, type]:
    """Click parameter name -> the Python type its command function declares (Optional stripped, a list as
    list): read from the function itself, the same with any Typer release."""
    import inspect
    import typing

    kinds = {}
    for name, hint in typing.get_type_hints(inspect.unwrap(cmd.callback)).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is typing.Union and len(args) == 1:
            hint = args[0]
        kinds[name] = list if typing.get_origin(hint) is list else hint
    return kinds


_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", list: "a list of text such as [\"a\", \"b\"]"}


_FLAG_WORDS = {"1", "0", "true", "false", "t", "f", "yes", "no", "y", "n", "on", "off"}  # what click takes for a flag


def _fits(value, kind) -> bool:
    """False only for a value the option parser refuses too (it takes "yes" and 1 for a flag, 2.0 and
    " 2 " for a whole number, true for either number, a scalar for a list): the check names a refusal,
    it must not add one."""
    if isinstance(value, (list, dict)):
        return kind is list and isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)
    if kind is bool:
        return isinstance(value, bool) or value in (0, 1) or str(value).strip().lower() in _FLAG_WORDS
    if kind in (int, float) and not isinstance(value, bool):
        try:
            number = float(str(value).strip())
        except ValueError:
            return False
        return kind is float or number.is_integer()
    return True


def _checked(path: Path, section: str, key: str, value, kind):
    """The value as given (one text for a list option: a list of it), or the one-line error that names the
    file and the key: the option parser's own ("Invalid value for '--epochs'") named a flag the command
    line never had."""
    if kind is not None and not _fits(value, kind):
        import json

        where = f"[{section}] " if section else ""
        shown = json.dumps(value, default=str)
        raise ConfigError(f"config file '{path}': {where}{key} = {shown} is not {_KIND_WORDS.get(kind, 'text')}")
    if kind is bool and not isinstance(value, (bool, str)):
        return bool(value)  # json = 1: typer 0.27's own parser takes a flag's value for text and fails on a number
    return [value] if kind is list and not isinstance(value, list) else value  # ignore = "uid": one column


def config_defaults(path: Path, group) -> dict:
    """Turn a TOML file into click's default_map: {"fit": {"epochs": 50, ...}, "score": {...}}."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomllib is 3.11's; tomli is the same parser (a dependency there)
        import tomli as tomllib

    if not path.exists():
        raise ConfigError(f"config file '{path}' not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file '{path}' is not valid TOML: {e}") from None
    commands = group.commands
    options = {name: _options(cmd) for name, cmd in commands.items()}
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    unknown_tables = [k for k, v in data.items() if isinstance(v, dict) and k not in commands]
    if unknown_tables:
        raise ConfigError(f"config file '{path}': unknown section [{unknown_tables[0]}]; sections: {', '.join(sorted(commands))}")
    unused = [k for k in shared if not any(_norm(k) in opts for opts in options.values())]
    if unused:
        raise ConfigError(f"config file '{path}': no command has an option '{unused[0]}'")
    result: dict[str, dict] = {}
    for name, opts in options.items():
        kinds = _kinds(commands[name])
        chosen = {opts[_norm(k)]: _checked(path, "", k, v, kinds.get(opts[_norm(k)])) for k, v in shared.items() if _norm(k) in opts}
        for key, value in data.get(name, {}).items():
            if _norm(key) not in opts:
                raise ConfigError(f"config file '{path}': [{name}] has no option '{key}'; options: {', '.join(sorted(k for k in opts if k != 'help'))}")
            chosen[opts[_norm(key)]] = _checked(path, name, key, value, kinds.get(opts[_norm(key)]))
        if chosen:
            result[name] = chosen
    return result


def check_environment(group, command: str | None, environ) -> None:
    """The VAEGUARD_<COMMAND>_<OPTION> variables set for `command`, checked as config values are: a wrong
    one named by its variable, where the option parser named a flag the command line never had."""
    cmd = group.commands.get(command) if command else None
    if cmd is None:
        return
    prefix = f"VAEGUARD_{command.upper()}_"
    for name, kind in _kinds(cmd).items():
        value = environ.get(prefix + name.upper())
        if not value or kind in (str, list) or kind is None:
            continue  # an empty variable is no value to click either
        if not _fits(value, kind):
            raise ConfigError(f"environment variable {prefix + name.upper()}={value!r} is not {_KIND_WORDS.get(kind, 'text')}; "
                              f"unset it or give {_KIND_WORDS.get(kind, 'text')}")

