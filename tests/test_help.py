"""Every command and option explains itself; --help is cheap."""

import subprocess
import sys

import typer

from vaeguard.cli import app

from .conftest import SAMPLE, invoke


def test_every_command_and_option_has_help_text():
    group = typer.main.get_command(app)
    assert group.help
    assert set(group.commands) >= {"fit", "score"}
    for name, cmd in group.commands.items():
        assert cmd.help, f"command {name} has no help"
        for param in cmd.params:
            text = getattr(param, "help", None)
            assert text and text.strip(), f"{name}: parameter {param.name} has no help text"


def test_help_runs_and_lists_exit_codes(runner):
    res = invoke(runner, "--help")
    assert res.exit_code == 0
    assert "Exit codes" in res.output
    for cmd in ("fit", "score"):
        res = invoke(runner, cmd, "--help")
        assert res.exit_code == 0, res.output
        assert "--model" in res.output


def test_version(runner):
    res = invoke(runner, "--version")
    assert res.exit_code == 0
    assert "vaeguard" in res.output


def test_help_does_not_import_torch_or_pandas():
    code = "import sys; from vaeguard.cli import app; print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_score_does_not_import_scikit_learn(trained_model, tmp_path):
    # scikit-learn is only the API's base class; importing it would add ~0.75 s to every cron run.
    code = (
        "import sys; from typer.testing import CliRunner; from vaeguard.cli import app;"
        f"r = CliRunner().invoke(app, ['score', {str(SAMPLE / 'flows_new.csv')!r}, '--model', {str(trained_model)!r},"
        f" '--out', {str(tmp_path / 'o.csv')!r}, '-q']);"
        "print(r.exit_code, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False"]


def test_every_option_reads_the_environment_variable_named_after_it():
    """VAEGUARD_<COMMAND>_<OPTION>, from the long option's own name; the model folder is VAEGUARD_MODEL."""
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        for param in cmd.params:
            longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
            if not longs or param.name == "help":
                continue
            if param.name == "model":
                assert param.envvar == "VAEGUARD_MODEL"
                continue
            derived = longs[0][2:].replace("-", "_").upper()
            assert param.envvar is None and param.name.upper() == derived, f"{name} {longs[0]}: env name {param.name.upper()}"


def test_environment_variables_work_and_version_stays_off_them(runner, flows_csv, tmp_path, monkeypatch):
    import json

    model = tmp_path / "m"
    monkeypatch.setenv("VAEGUARD_VERSION", "1")  # must not turn the command into a silent no-op
    monkeypatch.setenv("VAEGUARD_FIT_JSON", "1")
    monkeypatch.setenv("VAEGUARD_FIT_EPOCHS", "2")
    res = invoke(runner, "fit", flows_csv, "--model", model)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["epochs"] == 2 and (model / "manifest.json").exists()
    monkeypatch.setenv("VAEGUARD_GENERATE_ROWS", "7")
    monkeypatch.setenv("VAEGUARD_GENERATE_FORMAT", "csv")  # no such option: ignored, as click does
    res = invoke(runner, "generate", "--model", model)
    assert res.exit_code == 0 and len(res.stdout.strip().splitlines()) == 8


def test_help_texts_keep_their_brackets(runner):
    res = invoke(runner, "--help")
    assert "[fit]" in res.output and "[score]" in res.output
    res = invoke(runner, "score", "--help")
    assert "cpu (the default" in " ".join(res.output.split())
