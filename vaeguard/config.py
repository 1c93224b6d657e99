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
        chosen = {opts[_norm(k)]: v for k, v in shared.items() if _norm(k) in opts}
        for key, value in data.get(name, {}).items():
            if _norm(key) not in opts:
                raise ConfigError(f"config file '{path}': [{name}] has no option '{key}'; options: {', '.join(sorted(k for k in opts if k != 'help'))}")
            chosen[opts[_norm(key)]] = value
        if chosen:
            result[name] = chosen
    return result
