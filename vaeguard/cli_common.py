"""What every `vaeguard` command shares: the Typer app, error handling, option types.

Heavy libraries (torch, pandas) are imported inside the commands so `vaeguard --help` starts instantly.
Every option can also come from the environment as VAEGUARD_<COMMAND>_<OPTION> (the long option's name,
upper case, '-' as '_'), and the model folder as VAEGUARD_MODEL.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_USAGE, ConfigError, InputError, ParamError, VaeguardError, printable

HELP = f"""vaeguard {__version__}: learn what normal rows of a table look like with a Variational
Autoencoder, then flag the rows that do not fit.

\b
  vaeguard fit flows.csv --model model/
  vaeguard score new.csv --model model/ --out flagged.csv
  vaeguard fit conn.log --model zeek/   (Zeek, Suricata logs as they are)

\b
Exit codes: 0 success; 1 `score --fail-on-anomaly` found anomalies (or
--fail-on-drift, drift; --fail-on-host-drift, a host's drift); 2 usage or input error (bad file, missing column, corrupt model, unwritable path); 3 internal error;
130 interrupted, 143 terminated.
"""

app = typer.Typer(
    help=HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "VAEGUARD"},
)

DEFAULT_MODEL_DIR = "vaeguard-model"
# Python parameter names -> the flags that set them, so library errors name the flag in the CLI.
FLAGS = {"model": "--model-type", "n": "--rows"}


def _fail(message: str, code: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    # One line, whatever the message quotes: a column name or a value may hold a line break or a control
    # character (a Parquet column named "a<line break>b" had split the error over two lines).
    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(f"[bold red]error:[/] {escape(printable(message.strip()))}")
    raise typer.Exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`docker stop`, `kill`, a job scheduler's timeout), raised where the command runs so that it
    ends as Ctrl-C does: the output's temporary file removed, fit's last saved epoch kept for --resume.
    Python's default SIGTERM ends the process at once, and a killed score left its hidden temporary file."""


def stopped_by(e: KeyboardInterrupt) -> tuple[str, int]:
    """What ended a command, in words, and its exit code: Ctrl-C (130) or SIGTERM (143)."""
    return ("terminated (SIGTERM)", 143) if isinstance(e, Terminated) else ("interrupted", 130)


def stop_on_sigterm() -> None:
    import signal

    def terminated(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, terminated)


# Set by cli.main when a command runs as a process of its own, which may then change process-wide settings
# (the garbage collector below); in a test's or a notebook's process they stay as they are.
OWN_PROCESS = False
# Below this many rows a fit's memory is far from the 1 GiB aim: it keeps what its training steps free.
KEEP_FREED_ROWS = 100_000


def pause_gc() -> None:
    """No cyclic garbage collection while the libraries load (see `freeze_imports`)."""
    if OWN_PROCESS:
        import gc

        gc.disable()


def keep_freed_memory(trim: int = 64 << 20) -> None:
    """Let glibc's malloc keep what one scoring batch frees for the next. Each batch allocates and frees the
    same arrays of a few MiB (a Zeek conn log model's 4 draws of 97 category logits for 4,096 rows: 6.4 MiB);
    malloc hands such a block back to the OS (mmap above a threshold that starts at 128 KiB, a trim of the
    heap's top past twice that), and the next batch faults every page in again: scoring 1M rows of a Zeek
    conn log took 271,000-703,000 minor page faults and 1.1-2.5 s of system time, and 93,000-99,000 and
    0.7-0.9 s with fixed thresholds (blocks up to 32 MiB from the heap, its top trimmed past 64 MiB). Not for
    the fit of a large table: 3-5% faster there, but its peak, near the 1 GiB aim, 28 MiB higher. Not glibc
    (musl, macOS): nothing to set.

    trim: where the heap's top is trimmed, for the fit of a table below KEEP_FREED_ROWS rows. A wide table's
    training step allocates and frees tens of MiB (2,300 rows x 1,555 two-valued columns: a batch's logits
    are 19 MiB, a dozen of them at once), past any lower threshold: that fit took 11.5 million page faults and
    22 s of system time, 46 s in all; with its top kept, 0.15 million, 0.7 s and 33-37 s, its peak 9-31 MiB higher."""
    if not OWN_PROCESS:
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, trim)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def open_input(data, format: str | None, strict: bool, names: str | None, model=None, encoding: str | None = None,
               events: str | None = None):
    """The command's input as a Source (sources.open_source), with --names read into the column names; without
    them, a CSV with no header line takes the names `model` (its folder) was fitted with, if it was given some.
    `encoding`: --encoding, the text's where it is not UTF-8. `events`: --events, Suricata's event types to
    read (by default the model's)."""
    from .csvread import parse_names
    from .pipeline import events_of, given_names_of
    from .sources import open_source

    return open_source(data, format, strict=strict, names=parse_names(names) if names is not None else None,
                       model_names=given_names_of(model) if model is not None else None, encoding=encoding,
                       events=parse_events(events) if events is not None else None,
                       model_events=events_of(model) if model is not None else None)


def parse_events(text: str) -> list[str]:
    """--events dns,tls -> ['dns', 'tls']."""
    events = list(dict.fromkeys(e.strip().lower() for e in text.split(",") if e.strip()))
    if not events:
        raise InputError("--events takes Suricata event types, comma separated, such as --events dns or --events dns,tls")
    return events


def freeze_imports() -> None:
    """Leave what is loaded so far (torch, pandas: about a million objects, no garbage among them) out of
    Python's cyclic garbage collection, and turn it back on. A full collection went through all of it
    again and again, while the reader thread waited on it: five in a 1M-row fit, 0.39 s (0.47 s with the
    younger generations'). Objects made later are collected as ever; the table needs no collection,
    reference counting frees it."""
    if OWN_PROCESS:
        import gc

        gc.freeze()
        gc.enable()


def handles_errors(fn):
    """Turn user errors into one line on stderr and an exit code; never show a traceback unless asked."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ParamError as e:
            flag = lambda p: FLAGS.get(p, "--" + p.replace("_", "-"))  # noqa: E731
            _fail(e.with_name(flag(e.param), flag), e.exit_code)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt as e:
            hint = " (fit: run the same command with --resume to continue from the last saved epoch)" if fn.__name__ == "fit" else ""
            how, code = stopped_by(e)
            _fail(f"{how}; no output file was written{hint}", code)
        except BrokenPipeError:
            # Downstream (e.g. `| head`) closed the pipe: not an error worth a traceback.
            os._exit(0)
        except MemoryError:
            _fail("out of memory; lower --chunk-size (score) or --max-rows (fit)", EXIT_INTERNAL)
        except OSError as e:  # permissions, a full disk, a path that is a file: the user's to fix
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                # A Dask worker's full disk came as "cannot use No space left on device; check the path and
                # its permissions": no path, and the wrong fix.
                where = f" (writing '{e.filename}')" if e.filename else ""
                _fail(f"the disk is full{where}; free some space, or write to another disk (--out, --model; "
                      f"TMPDIR for temporary files)", EXIT_USAGE)
            where = f"'{e.filename}': " if e.filename else "a file or folder given: "
            _fail(f"cannot use {where}{e.strerror or e}; check the path and its permissions", EXIT_USAGE)
        except Exception as e:  # noqa: BLE001 - last line of defence, by design
            if os.environ.get("VAEGUARD_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set VAEGUARD_DEBUG=1 to see the traceback)", EXIT_INTERNAL)

    return wrapper


def _version_callback(ctx: typer.Context, value: bool) -> None:
    # Never from the environment: VAEGUARD_VERSION=1 must not turn every cron run into a no-op.
    # (By name: typer may carry its own copy of click's ParameterSource.)
    if value and getattr(ctx.get_parameter_source("version"), "name", "") != "ENVIRONMENT":
        typer.echo(f"vaeguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version_callback, is_eager=True, show_envvar=False)] = False,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config", envvar="VAEGUARD_CONFIG",
            help="TOML file of option defaults: top-level keys apply to every command, \\[fit] or \\[score] tables to one command. "
            "Flags and VAEGUARD_* environment variables win over it.",
        ),
    ] = None,
) -> None:
    if config is not None:
        from .config import config_defaults

        try:
            ctx.default_map = config_defaults(config, ctx.command)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)
    if any(k.startswith("VAEGUARD_") for k in os.environ):
        from .config import check_environment

        try:
            check_environment(ctx.command, ctx.invoked_subcommand, os.environ)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)


# ---- shared option types ---------------------------------------------------------------------------
ModelDir = Annotated[Path, typer.Option("--model", "-m", help="Model folder (written by fit, read by the other commands).", envvar="VAEGUARD_MODEL")]
# info and export name the model folder as an argument, and take --model as every other command does.
ModelDirArg = Annotated[Optional[Path], typer.Argument(help=f"Model folder written by fit (or --model). Default: {DEFAULT_MODEL_DIR}.",
                                                       show_default=False)]
ModelDirOpt = Annotated[Optional[Path], typer.Option("--model", "-m", help="Model folder, as the other commands take it (the same as the argument).",
                                                     envvar="VAEGUARD_MODEL")]


def model_dir_of(ctx: typer.Context, argument: Optional[Path], option: Optional[Path]) -> Path:
    """The model folder from the argument or --model; an argument wins over VAEGUARD_MODEL or a config file."""
    source = getattr(ctx.get_parameter_source("model"), "name", "")  # click's enum, or the copy typer ships
    if argument is not None and option is not None and Path(argument) != Path(option) and source == "COMMANDLINE":
        raise ConfigError(f"two model folders given: '{argument}' and --model '{option}'; give one")
    return Path(argument or option or DEFAULT_MODEL_DIR)


FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", help="Input format: csv (delimiter sniffed), parquet, zeek (TSV log) or json (Zeek JSON, "
                 "Suricata eve.json, Azure flow logs, or records in one JSON array), kv (key=value lines), panos (a Palo Alto firewall's syslog), asa (a Cisco ASA's syslog: its connection teardowns and access-list denials), ftd (a Firepower device's syslog: its connection events), junos (a Juniper SRX's syslog in its default format: its session closes), filterlog (pf's filter log, as pfSense and OPNsense write it), mikrotik (a MikroTik router's firewall log), access (a web server's access log: Common or Combined Log Format, Apache's and nginx's), squid (Squid's native access log), dnsquery (a DNS server's query log: BIND, dnsmasq, Unbound), cef or leef (CEF or LEEF events, as many firewalls send them to a SIEM), checkpoint (a Check Point Log Exporter's syslog) or vpc (AWS VPC Flow Logs in the default format without their header line, as CloudWatch Logs holds them). Default: read from the file's first bytes; gzip, bzip2 and xz are detected too."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, tables or warnings; errors still go to stderr.")]
NamesOpt = Annotated[
    Optional[str],
    typer.Option("--names", help="Column names for a CSV without a header line (KDD Cup's and NSL-KDD's .txt files, UNSW-NB15's CSVs), "
                 "comma separated, one per field in the order of the fields. The model keeps them: score and the other commands read "
                 "a file without a header line with them, and take --names only for other names.",
                 show_default=False),
]
EncodingOpt = Annotated[
    Optional[str],
    typer.Option("--encoding", help="The text's encoding where it is not UTF-8: cp1252 (Windows' Western European, as CIC-IDS2017's "
                 "CSVs are written), latin-1, shift_jis, or any other Python knows. Default: UTF-8, or UTF-16 and UTF-32 told by "
                 "their bytes.", show_default=False),
]
EventsOpt = Annotated[
    Optional[str],
    typer.Option("--events", help="Suricata eve.json event types to read as the rows, comma separated: dns, tls, http, ... "
                 "(their nested fields as columns: dns.rrname, tls.sni); in a Zeek JSON stream of several logs, the logs "
                 "named in _path (dns, http). Default: the flow events, Zeek's conn records (fit), or the types the "
                 "model was fitted on.", show_default=False),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Stop with exit 2 on text in a numeric column or a malformed line (a log or CSV line of the wrong shape), instead of scoring "
                       "the value as malformed (improbable) or skipping the line and counting it.")
]
LabelOpt = Annotated[
    Optional[str], typer.Option("--label", "-l", help="Column of true labels, where the rows have one (a labelled capture): take the rows it calls normal, "
                                "read as evaluate reads it (see --positive); fit leaves the column out of the model.")
]
PositiveOpt = Annotated[
    Optional[str], typer.Option("--positive", help="With --label: the label value that means anomaly, or a pattern of them with * and ? "
                                "('*botnet*': every label holding botnet; case aside). Default: 1/true, or anything other than normal/benign/0.")
]


def check_label_options(label: str | None, positive: str | None) -> None:
    if positive is not None and label is None:
        from .errors import ConfigError

        raise ConfigError("--positive says which --label value means anomaly: give --label too")


ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", help="CPU threads for the model, the CSV reader and preparing columns, and the processes a small "
                 "table's calibration trains its parts' models in (fit). Default: the CPUs this process may "
                 "use (its CPU affinity and a container's or service's CPU quota; OMP_NUM_THREADS is respected); 1 leaves the "
                 "other cores to other work."),
]


def use_threads(threads: int | None) -> str | None:
    """Cap the threads of numpy's BLAS, torch and pyarrow (the CLI runs one command per process, so this
    is global). torch reads OMP_NUM_THREADS when it is imported, which scoring on the CPU never does.
    Without --threads or OMP_NUM_THREADS, the CPUs the process may use (a container's quota, its affinity:
    parallel.allowed_cpus) where they are fewer than the machine's; then it says so, for fit's summary."""
    why = None
    if threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return None
        from .parallel import allowed_cpus

        threads = allowed_cpus()
        if threads is None:
            return None
        why = f"{threads}: the CPUs this process may use of the machine's {os.cpu_count()} (a CPU quota or affinity); --threads sets it"
    from .errors import ParamError

    if threads < 1:
        raise ParamError("threads", f"{{name}} must be at least 1; got {threads}")
    import pyarrow as pa
    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    pa.set_cpu_count(threads)
    return why


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object of results to stdout instead of tables (implies --quiet).")]


def parse_hidden(text: str) -> tuple[int, ...]:
    from .errors import ConfigError

    try:
        sizes = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError(f"--hidden takes layer sizes separated by commas, such as 64,32; got '{text}'") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"--hidden takes positive layer sizes such as 64,32; got '{text}'")
    return sizes
