"""evaluate, info, calibrate, generate, explain; --json everywhere; config files and environment variables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from vaeguard.render import _number, nats

from .conftest import SAMPLE, invoke

NEW = SAMPLE / "flows_new.csv"


def as_json(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_evaluate_table_and_json(runner, trained_model):
    res = invoke(runner, "evaluate", NEW, "--model", trained_model, "--label", "label")
    assert res.exit_code == 0, res.output
    assert "roc auc" in res.stderr and "confusion matrix" in res.stderr
    m = as_json(invoke(runner, "evaluate", NEW, "--model", trained_model, "--label", "label", "--json"))
    assert m["rows"] == 1000 and m["anomalies"] == 20
    assert m["roc_auc"] > 0.9
    c = m["confusion"]
    assert c["true_positive"] + c["false_negative"] == 20 and sum(c.values()) == 1000
    assert m["recall"] == pytest.approx(c["true_positive"] / 20)


def test_evaluate_positive_value_and_report(runner, trained_model, tmp_path):
    pytest.importorskip("matplotlib")
    rep = tmp_path / "rep"
    m = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--positive", "attack", "--report", rep, "--json"))
    assert m["anomalies"] == 20
    for name in ("score_histogram.png", "roc.png", "precision_recall.png", "metrics.json"):
        assert (rep / name).stat().st_size > 0
    assert (rep / "score_histogram.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((rep / "metrics.json").read_text())["roc_auc"] == pytest.approx(m["roc_auc"])


def test_evaluate_takes_the_column_named_as_a_label_without_label(runner, trained_model, tmp_path):
    given = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--json"))
    guessed = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "--json"))
    assert guessed["label"] == given["label"] == "label" and guessed["roc_auc"] == given["roc_auc"] and guessed["anomalies"] == 20
    res = invoke(runner, "evaluate", NEW, "-m", trained_model)
    assert res.exit_code == 0 and "label column: label (by its name" in res.stderr
    # No column named as a label: one line that asks for --label and points at a name that may be one.
    df = pd.read_csv(NEW).rename(columns={"label": "class"})
    df.to_csv(tmp_path / "unnamed.csv", index=False)
    res = invoke(runner, "evaluate", tmp_path / "unnamed.csv", "-m", trained_model)
    assert res.exit_code == 2 and "--label COLUMN ('class' may be one)" in res.stderr and "Traceback" not in res.stderr


def test_evaluate_by_breaks_the_results_down_by_a_column(runner, trained_model, tmp_path):
    m = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "--by", "service", "--json"))
    src = pd.read_csv(NEW)
    values = m["by"]["values"]
    assert m["by"]["column"] == "service" and {v["value"] for v in values} == set(src["service"].astype(str))
    assert [v["rows"] for v in values] == sorted((v["rows"] for v in values), reverse=True)  # most rows first
    assert sum(v["rows"] for v in values) == 1000 and sum(v["anomalous"] for v in values) == 20
    c = m["confusion"]
    assert sum(v["flagged"] for v in values) == c["true_positive"] + c["false_positive"]
    for v in values:
        mine = src["service"].astype(str) == v["value"]
        assert v["rows"] == mine.sum() and v["anomalous"] == (mine & (src["label"] == "attack")).sum()
    # Each value's ROC-AUC ranks its anomalous rows against every normal row, so weighted by those rows they make the whole.
    whole = sum(v["roc_auc_against_normal"] * v["anomalous"] for v in values if v["anomalous"]) / 20
    assert whole == pytest.approx(m["roc_auc"]) and all(v["roc_auc_against_normal"] is None for v in values if not v["anomalous"])
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "--by", "service")
    assert res.exit_code == 0 and "by service" in res.stderr and "ROC-AUC" in res.stderr
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "--by", "servce")
    assert res.exit_code == 2 and "--by column 'servce' is not in the table" in res.stderr and "service" in res.stderr


def test_by_values_count_a_gap_as_a_value_and_refuse_an_id_column(monkeypatch):
    from vaeguard import evaluate

    codes = evaluate.ValueCodes("kind")
    first = codes.codes(pd.DataFrame({"kind": ["DDoS", None, "C&C", "DDoS"]}))
    second = codes.codes(pd.DataFrame({"kind": [None, "Okiru"]}))
    assert [codes.texts[c] for c in [*first, *second]] == ["DDoS", evaluate.MISSING, "C&C", "DDoS", evaluate.MISSING, "Okiru"]
    monkeypatch.setattr(evaluate, "BY_VALUES", 5)
    with pytest.raises(evaluate.InputError, match="more than 5 values"):
        evaluate.ValueCodes("id").codes(pd.DataFrame({"id": [f"C{i}" for i in range(10)]}))


def test_guess_label_prefers_the_yes_or_no_answer():
    from vaeguard.evaluate import LABEL_GUESSES, guess_label
    from vaeguard.schema import ground_truth_name

    assert all(ground_truth_name(n) for n in LABEL_GUESSES)
    assert guess_label(["dur", "attack_cat", "label"]) == "label"  # UNSW-NB15
    assert guess_label(["ts", "uid", "detailed-label", "label"]) == "label"  # IoT-23's conn.log.labeled
    assert guess_label([" Flow Duration", " Label"]) == " Label"  # CIC-IDS2017, spaces and all
    assert guess_label(["bytes", "Attack_Cat"]) == "Attack_Cat"


def test_positive_names_labels_by_a_pattern(runner, trained_model, tmp_path):
    """CTU-13's binetflow labels name each flow's bot and direction in hundreds of values
    (flow=From-Botnet-V42-TCP-CC6-Plain-HTTP-Encrypted-Data): --positive '*botnet*' names them all, for
    evaluate, and for fit and calibrate, which take the other rows as normal."""
    df = pd.read_csv(NEW)
    attack = (df["label"] != "normal").to_numpy()
    rng = np.random.default_rng(0)
    df["label"] = np.where(attack, [f"flow=From-Botnet-V{v}-TCP-CC{c}" for v, c in rng.integers(40, 55, (len(df), 2))],
                           np.where(rng.random(len(df)) < 0.5, "flow=To-Normal-UDP-DNS", "flow=Background-TCP-Established"))
    path = tmp_path / "ctu.csv"
    df.to_csv(path, index=False)
    m = as_json(invoke(runner, "evaluate", path, "-m", trained_model, "-l", "label", "--positive", "*BOTNET*", "--json"))
    ref = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--json"))
    assert m["anomalies"] == 20 and m["roc_auc"] == ref["roc_auc"] and m["confusion"] == ref["confusion"]
    res = invoke(runner, "evaluate", path, "-m", trained_model, "-l", "label", "--positive", "*bot-net*")
    assert res.exit_code == 2 and "no row of 'label' matches --positive '*bot-net*'" in res.stderr
    res = invoke(runner, "fit", path, "--model", tmp_path / "m", "-l", "label", "--positive", "*botnet*", "--epochs", "2", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["labelled_anomalous_left_out"] == 20, res.output
    out = as_json(invoke(runner, "calibrate", path, "-m", tmp_path / "m", "-l", "label", "--positive", "*botnet*", "--json"))
    assert out["rows"] == 980 and out["labelled_anomalous_left_out"] == 20


def test_evaluate_judges_drift_on_the_rows_labelled_normal(runner, trained_model, tmp_path):
    """A test set of many attacks is not drift: they are there to be flagged (counted with the normal rows,
    this one's would have read as 46% flagged where 1% was expected). Normal rows that changed are."""
    df = pd.read_csv(NEW)
    attacks = df[df["label"] != "normal"]
    many = tmp_path / "many_attacks.csv"
    pd.concat([df] + [attacks] * 40, ignore_index=True).to_csv(many, index=False)
    m = as_json(invoke(runner, "evaluate", many, "-m", trained_model, "-l", "label", "--json"))
    assert m["anomalies"] == 20 * 41 and m["recall"] > 0.9
    assert m["drift"]["drift"] is False and m["drift"]["judged_on"] == "rows labelled normal"
    assert m["drift"]["flag_rate"] == pytest.approx(m["false_positive_rate"])
    res = invoke(runner, "evaluate", many, "-m", trained_model, "-l", "label")
    assert res.exit_code == 0 and "drift" not in res.stderr

    moved = df.copy()
    normal = moved["label"] == "normal"
    moved.loc[normal, "src_bytes"] = moved.loc[normal, "src_bytes"] * 1000
    changed = tmp_path / "changed.csv"
    moved.to_csv(changed, index=False)
    m = as_json(invoke(runner, "evaluate", changed, "-m", trained_model, "-l", "label", "--json"))
    assert m["drift"]["drift"] is True and "src_bytes" in m["drift"]["columns"]
    res = invoke(runner, "evaluate", changed, "-m", trained_model, "-l", "label")
    assert res.exit_code == 0 and "of rows labelled normal flagged where" in " ".join(res.stderr.split())


def test_evaluate_reads_a_table_a_chunk_at_a_time_as_it_read_it_whole(trained_model, tmp_path):
    """evaluate keeps each row's label, score and flag, the top rows and what scoring counted by label, not
    the scored table (3M rows of a conn log: 1.9 GiB): chunk by chunk, an attack name is
    read as one once a later chunk shows the column's normal value, and the figures are the whole table's."""
    from vaeguard import VAEGuard
    from vaeguard.drift import check_drift
    from vaeguard.evaluate import TOP_ROWS
    from vaeguard.pipeline import evaluate_table
    from vaeguard.scoring import score_chunk
    from vaeguard.sources import open_source

    df = pd.read_csv(NEW)
    df = pd.concat([df[df["label"] != "normal"], df[df["label"] == "normal"]], ignore_index=True)  # the attacks first
    path = tmp_path / "attacks_first.csv"
    df.to_csv(path, index=False)
    det = VAEGuard.load(trained_model)
    whole, _ = score_chunk(det, df)
    normal = (df["label"] == "normal").to_numpy()
    _, normal_report = score_chunk(det, df[normal])
    best = whole.sort_values("anomaly_score", ascending=False, kind="stable").head(TOP_ROWS)
    for chunk_size in (7, 100_000):
        ev = evaluate_table(open_source(str(path)), det, "label", chunk_size=chunk_size)
        assert len(ev.y) == 1000 and ev.y.sum() == 20
        assert roc_auc_score(ev.y, ev.scores) == pytest.approx(roc_auc_score(~normal, whole["anomaly_score"]), abs=1e-9)
        assert ev.normal.rows == normal.sum() and ev.normal.flagged == whole["is_anomaly"][normal].sum()
        assert check_drift(det, ev.normal).flag_rate == check_drift(det, normal_report).flag_rate
        assert ev.top["flow_id"].tolist() == best["flow_id"].tolist()
        assert ev.top_y.tolist() == (best["label"] != "normal").astype(int).tolist()


def test_evaluate_errors(runner, trained_model):
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "nope")
    assert res.exit_code == 2 and "label column 'nope' is not in the table; columns:" in res.stderr
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "Label")
    assert res.exit_code == 2 and "label column 'Label' is not in the table (did you mean 'label'?)" in res.stderr
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--positive", "martian")
    assert res.exit_code == 2 and "--positive" in res.stderr


def test_a_table_without_rows_is_named_as_such(runner, model_copy, tmp_path):
    """A header alone had been "the labels hold only one class" (or "no row equals --positive 'x'; values
    seen: " and nothing) to evaluate, and to calibrate "the highest of 0 scores is exceeded by 1 in 1"."""
    empty = tmp_path / "empty.csv"
    pd.read_csv(NEW).head(0).to_csv(empty, index=False)
    before = (model_copy / "manifest.json").read_text()
    for extra in ([], ["--positive", "attack"]):
        res = invoke(runner, "evaluate", empty, "-m", model_copy, "-l", "label", *extra)
        assert res.exit_code == 2 and res.stderr.strip() == f"error: '{empty}' has no rows to evaluate; give a table of labelled rows"
    res = invoke(runner, "calibrate", empty, "--model", model_copy)
    assert res.exit_code == 2 and res.stderr.strip() == f"error: '{empty}' has no rows to calibrate on; give at least 5 normal rows"
    assert (model_copy / "manifest.json").read_text() == before


def test_info(runner, trained_model, tmp_path):
    res = invoke(runner, "info", trained_model)
    assert res.exit_code == 0, res.output
    assert "src_bytes" in res.stderr and "threshold" in res.stderr and "validation loss" in res.stderr
    m = as_json(invoke(runner, "info", trained_model, "--json"))
    assert m["model"]["variant"] == "vae" and m["format_version"] == 3
    assert 1 <= m["training"]["best_epoch"] <= len(m["history"]) == len({h["epoch"] for h in m["history"]})
    assert {c["name"] for c in m["columns"]} >= {"flow_id", "service"}
    # What training held, column by column, to read score's "past the training range" against: a count's range
    # and median in bytes (not the log-scaled centre the network reads), a category's values.
    assert "what training held" in res.stderr
    train = pd.read_csv(SAMPLE / "flows_train.csv")
    held = {v["column"]: v for v in m["training_values"]}
    b = held["src_bytes"]
    assert b["kind"] == "numeric" and train["src_bytes"].min() <= b["low"] <= b["median"] <= b["high"] <= train["src_bytes"].max()
    assert b["median"] == pytest.approx(train["src_bytes"].median(), rel=0.1) and b["median"] > 100
    assert held["service"] == {"column": "service", "kind": "categorical", "values": train["service"].nunique(), "pooled": False}
    # --model, as every other command takes it; two different folders are an error, not a silent choice.
    assert as_json(invoke(runner, "info", "--model", trained_model, "--json"))["model_dir"] == str(trained_model)
    res = invoke(runner, "info", trained_model, "--model", tmp_path / "other")
    assert res.exit_code == 2 and "two model folders" in res.stderr
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    assert invoke(runner, "info", trained_model, "--plot", png).exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    # The format the suffix names, written whole: an SVG is one; a suffix matplotlib cannot write is one line, no file.
    svg = tmp_path / "curve.svg"
    assert invoke(runner, "info", trained_model, "--plot", svg).exit_code == 0 and b"<svg" in svg.read_bytes()[:1000]
    res = invoke(runner, "info", trained_model, "--plot", tmp_path / "curve.xyz")
    assert res.exit_code == 2 and "cannot write .xyz" in res.stderr and not (tmp_path / "curve.xyz").exists()
    assert not list(tmp_path.glob(".curve*"))  # no temporary file left beside them
    res = invoke(runner, "info", trained_model, "--plot", tmp_path / "nowhere" / "curve.png")
    assert res.exit_code == 2 and "output folder" in res.stderr and "does not exist" in res.stderr


def test_calibrate_moves_threshold_and_keeps_history(runner, model_copy, tmp_path):
    before = json.loads((model_copy / "manifest.json").read_text())["calibration"]["threshold"]
    normal = tmp_path / "normal.csv"
    pd.read_csv(NEW).query("label == 'normal'").to_csv(normal, index=False)
    m = as_json(invoke(runner, "calibrate", normal, "--model", model_copy, "--fpr", "0.1", "--json"))
    assert m["old_threshold"] == pytest.approx(before)
    assert m["threshold"] < before  # 10% of normal rows above it, instead of 1%
    man = json.loads((model_copy / "manifest.json").read_text())
    assert man["calibration"]["threshold"] == pytest.approx(m["threshold"]) and man["calibration"]["target"] == 0.1
    assert man["calibration_history"][-1]["threshold"] == pytest.approx(before)
    res = invoke(runner, "score", NEW, "--model", model_copy, "--out", tmp_path / "o.csv", "--json")
    assert as_json(res)["flagged"] > 90


def test_calibrate_on_traffic_the_model_did_not_learn_warns_of_drift(runner, model_copy, tmp_path):
    """Moving the threshold up to rows the model never learned hides the shift from every later score: the
    old threshold's share of them is tested against its promise, as score tests its own, and the warning
    suggests a refit. Normal rows like the training rows pass quietly."""
    import shutil

    normal = pd.read_csv(NEW).query("label == 'normal'")
    same, moved = tmp_path / "same.csv", tmp_path / "moved.csv"
    normal.to_csv(same, index=False)
    # Connections to the same service half as often as the training rows made them.
    normal.assign(same_srv_rate=normal["same_srv_rate"] * 0.5).to_csv(moved, index=False)
    m = as_json(invoke(runner, "calibrate", same, "--model", model_copy, "--json"))
    assert m["drift"] is False and m["old_threshold_flag_rate"] < 0.05
    twin = tmp_path / "twin"
    shutil.copytree(model_copy, twin)
    shutil.copytree(model_copy, tmp_path / "twin2")
    m = as_json(invoke(runner, "calibrate", moved, "--model", model_copy, "--json"))
    assert m["drift"] is True and m["old_threshold_flag_rate"] > 3 * m["expected_flag_rate"]
    res = invoke(runner, "calibrate", moved, "--model", twin)
    assert res.exit_code == 0 and "drift: the old threshold flags" in res.stderr and "refit" in res.stderr
    # Rows said to hold anomalies (--contamination) are not judged so: the old threshold flags those too.
    assert as_json(invoke(runner, "calibrate", moved, "--model", tmp_path / "twin2", "--contamination", "0.1", "--json"))["drift"] is False
    # The model keeps it with the threshold it replaced, and info shows it.
    assert json.loads((twin / "manifest.json").read_text())["calibration_history"][-1]["drift"] is True
    res = invoke(runner, "info", "--model", twin)
    assert res.exit_code == 0 and "on the rows that moved it: " in " ".join(res.output.split())
    # Once moved, the threshold keeps its promise on those rows.
    assert as_json(invoke(runner, "calibrate", moved, "--model", twin, "--json"))["drift"] is False


def test_calibrate_with_labels_sets_the_threshold_on_the_rows_labelled_normal(runner, trained_model, tmp_path):
    """evaluate's drift is judged on the rows labelled normal, and its fix names calibrate on them: --label
    leaves the labelled attacks out, as a table of the normal rows alone would."""
    import shutil

    normal = tmp_path / "normal.csv"
    pd.read_csv(NEW).query("label == 'normal'").to_csv(normal, index=False)
    alone, labelled = tmp_path / "alone", tmp_path / "labelled"
    shutil.copytree(trained_model, alone)
    shutil.copytree(trained_model, labelled)
    a = as_json(invoke(runner, "calibrate", normal, "-m", alone, "--fpr", "0.05", "--json"))
    b = as_json(invoke(runner, "calibrate", NEW, "-m", labelled, "-l", "label", "--fpr", "0.05", "--json"))
    assert b["rows"] == a["rows"] == 980 and b["labelled_anomalous_left_out"] == 20
    assert b["threshold"] == pytest.approx(a["threshold"])
    unlabelled = as_json(invoke(runner, "calibrate", NEW, "-m", labelled, "--fpr", "0.05", "--json"))
    assert unlabelled["rows"] == 1000 and unlabelled["threshold"] > b["threshold"]  # the 20 attacks count as normal there
    # ... and calibrate says so, as fit does: the label column called them anomalous.
    assert unlabelled["unused_label"] == {"column": "label", "anomalous_rows": 20} and "unused_label" not in a and "unused_label" not in b
    res = invoke(runner, "calibrate", NEW, "-m", labelled, "--fpr", "0.05")
    assert res.exit_code == 0 and "--label label calibrates on the rows it calls normal" in " ".join(res.stderr.split())
    res = invoke(runner, "calibrate", NEW, "-m", labelled, "-l", "label", "--fpr", "0.05")
    assert res.exit_code == 0 and "980 rows labelled normal; 20 labelled anomalous left out" in " ".join(res.output.split())
    # --positive names a value no row holds: every row is normal then, as calibrate wants
    assert as_json(invoke(runner, "calibrate", normal, "-m", labelled, "-l", "label", "--positive", "attack", "--json"))["rows"] == 980

    before = (labelled / "manifest.json").read_text()
    for args, words in ((["-l", "label", "--positive", "normal"], "every row of"), ((["-l", "Label"]), "did you mean 'label'"),
                        (["--positive", "attack"], "give --label too")):
        res = invoke(runner, "calibrate", NEW if "every" not in words else normal, "-m", labelled, *args)
        assert res.exit_code == 2 and words in res.stderr, res.output
    assert (labelled / "manifest.json").read_text() == before


def test_calibrate_samples_a_large_table_and_scores_it_a_chunk_at_a_time(runner, model_copy, tmp_path):
    """A day's log held whole took 4.4 GiB for 3M rows of a conn log: calibrate takes a --max-rows sample,
    as fit does (of the rows labelled normal, with --label), and scores it a chunk at a time, to the same
    scores as in one piece."""
    from vaeguard import VAEGuard
    from vaeguard.defaults import DEFAULTS
    from vaeguard.scoring import rare_novelty, score_rows

    rows = pd.concat([pd.read_csv(NEW)] * 80, ignore_index=True)  # 80,000 rows: chunks of 32,768 and a rest
    assert len(rows) > 2 * DEFAULTS.chunk_size
    det = VAEGuard.load(model_copy)
    whole = score_rows(det, rows)
    kept = ~rare_novelty(whole.encoded, det.calibration_.target).any(axis=1)
    new, novel_rows, _ = det.recalibrate(rows)
    assert np.array_equal(new.scores, np.sort(whole.scores[kept])) and novel_rows == int((~kept).sum())

    path = tmp_path / "big.csv"
    rows.to_csv(path, index=False)
    res = invoke(runner, "calibrate", path, "-m", model_copy, "--max-rows", "5000", "-l", "label", "--json")
    out = as_json(res)
    assert out["rows"] == 5000 and out["rows_read"] == 80_000 and out["labelled_anomalous_left_out"] == 1600
    res = invoke(runner, "calibrate", path, "-m", model_copy, "--max-rows", "5000")
    assert res.exit_code == 0 and "sampled 5,000 of 80,000 rows (--max-rows)" in res.output, res.output
    res = invoke(runner, "calibrate", path, "-m", model_copy, "--max-rows", "3")
    assert res.exit_code == 2 and "--max-rows must be at least 10" in res.stderr, res.output


def test_calibrate_needs_as_many_rows_as_fit(runner, model_copy, tmp_path):
    """Two rows set the threshold at the higher of their scores, which a third of normal rows exceed: it
    took them with a warning; now fewer rows than a fit needs are an error that says so, and the model
    keeps its threshold."""
    before = (model_copy / "manifest.json").read_text()
    rows = pd.read_csv(NEW).query("label == 'normal'")
    for n in (2, 4, 5):
        path = tmp_path / f"n{n}.csv"
        rows.head(n).to_csv(path, index=False)
        res = invoke(runner, "calibrate", path, "--model", model_copy)
        if n < 5:
            assert res.exit_code == 2 and f"need at least 5 rows to calibrate, got {n}" in res.stderr
            assert (model_copy / "manifest.json").read_text() == before
    assert res.exit_code == 0 and (model_copy / "manifest.json").read_text() != before


def test_calibrate_sets_the_threshold_on_rows_the_novelty_rule_leaves_to_it(runner, trained_model, tmp_path):
    """Normal rows of a service training never held are flagged whatever the threshold. Among the rows the
    threshold was set on, they had pushed it far up, so that calibrating on new normal traffic blinded
    the model to everything else; now they are counted, named and left out, with the advice to refit."""
    import shutil

    normal = pd.read_csv(NEW).query("label == 'normal'").reset_index(drop=True)
    clean, mixed = tmp_path / "clean.csv", tmp_path / "mixed.csv"
    normal.to_csv(clean, index=False)
    new_service = normal.index % 5 == 0
    normal.assign(service=normal["service"].where(~new_service, "brand-new")).to_csv(mixed, index=False)
    models = {}
    for name, data in (("clean", clean), ("mixed", mixed)):
        models[name] = tmp_path / name
        shutil.copytree(trained_model, models[name])
        res = invoke(runner, "calibrate", data, "--model", models[name], "--json")
        models[name + "_json"] = as_json(res)
    assert models["clean_json"]["flagged_whatever_the_threshold"] == 0
    m = models["mixed_json"]
    assert m["flagged_whatever_the_threshold"] == int(new_service.sum()) and m["never_seen_in_training"] == {"service": int(new_service.sum())}
    assert m["threshold"] < 1.2 * models["clean_json"]["threshold"]
    res = invoke(runner, "calibrate", mixed, "--model", models["mixed"])
    assert res.exit_code == 0 and "refit" in res.stderr and "service: " in res.stderr
    # With --contamination the rows hold anomalies: these count among the share it flags.
    m = as_json(invoke(runner, "calibrate", mixed, "--model", models["mixed"], "--contamination", "0.25", "--json"))
    assert m["flagged_whatever_the_threshold"] == int(new_service.sum())
    res = invoke(runner, "score", mixed, "--model", models["mixed"], "--out", tmp_path / "o.csv", "--json")
    assert abs(as_json(res)["flag_rate"] - 0.25) < 0.02


def test_generate(runner, trained_model, tmp_path):
    out = tmp_path / "syn.csv"
    m = as_json(invoke(runner, "generate", "--model", trained_model, "-n", "500", "--out", out, "--json", "--seed", "3"))
    assert m["rows"] == 500
    df = pd.read_csv(out)
    train = pd.read_csv(SAMPLE / "flows_train.csv")
    # Every training column is written (ids and timestamps, which the model never learned, empty), so
    # the rows can be scored by the same model.
    assert len(df) == 500 and list(df.columns) == list(train.columns) and df["flow_id"].isna().all()
    assert (df["duration"].dropna() >= 0).all() and (df["src_bytes"] >= 0).all() and (df["same_srv_rate"] <= 1).all()
    assert set(df["service"].dropna()) <= set(train["service"])
    assert (df["packets"] == df["packets"].round()).all()
    # Generated rows look like the training rows in bulk (the decoder learned the marginals).
    assert abs(np.log1p(df["src_bytes"].clip(lower=0)).median() - np.log1p(train["src_bytes"]).median()) < 1.0
    res = invoke(runner, "generate", "--model", trained_model, "-n", "3")
    assert res.exit_code == 0 and len(pd.read_csv(pd.io.common.StringIO(res.stdout))) == 3


def test_explain(runner, trained_model):
    src = pd.read_csv(NEW)
    row = int(src.index[(src["label"] == "attack") & (src["src_bytes"] > 1e6)][0])
    m = as_json(invoke(runner, "explain", NEW, "--model", trained_model, "--row", str(row), "--json"))
    assert m["is_anomaly"] == 1
    top = m["columns"][0]
    assert top["column"] == "src_bytes" and top["excess"] > 0
    assert float(top["observed"]) == src.loc[row, "src_bytes"] and top["expected"] < 1e6
    # The training range beside a number, and how far past it this one lies (the largest training held: 6,413 bytes).
    train = pd.read_csv(SAMPLE / "flows_train.csv")
    low, high = top["training_range"]
    assert train["src_bytes"].min() <= low <= high <= train["src_bytes"].max() < top["observed"]
    assert all(c["training_range"] is None for c in m["columns"] if c["role"] != "numeric")
    res = invoke(runner, "explain", NEW, "--model", trained_model, "--row", str(row))
    assert res.exit_code == 0 and "FLAGGED" in res.stderr
    cells: dict[str, str] = {}  # each row's observed cell, its wrapped lines joined
    name = ""
    for line in res.stderr.splitlines():
        if line.startswith("│"):
            parts = [p.strip() for p in line.split("│")]
            name = parts[1] or name
            cells[name] = f"{cells.get(name, '')} {parts[2]}".strip()
    assert cells["src_bytes"] == f"{src.loc[row, 'src_bytes']} (past {high:,.0f})", res.stderr
    res = invoke(runner, "explain", NEW, "--model", trained_model, "--row", "5000")
    assert res.exit_code == 2 and "past the end" in res.stderr
    # --top: the columns adding most, the others counted below them (--json lists each, as above).
    res = invoke(runner, "explain", NEW, "--model", trained_model, "--row", str(row), "--top", "2")
    shown = [line.split("│")[1].strip() for line in res.stderr.splitlines() if line.startswith("│")]
    shown = [c for c in shown if c]  # a cell wrapped onto a second line leaves the column's cell empty there
    rest = len(m["columns"]) - 2
    assert res.exit_code == 0 and shown == [c["column"] for c in m["columns"][:2]], res.stderr
    assert f"{rest} more columns, none adding more than {nats(m['columns'][2]['excess'], sign=True)}" in res.stderr
    assert invoke(runner, "explain", NEW, "--model", trained_model, "--row", str(row), "--top", "-1").exit_code == 2


def test_nats_reads_as_a_reader_weighs_them():
    """explain's nats: a density's 1e-23 (a Zeek log's duration, typically) is no cost, and 12,345 nats is not 1.23e+04."""
    assert [nats(x) for x in (1.28e-23, -4.8e-05, 0.0876, -0.0876, 36.41, 999.4, 999.7, 12345.6)] == [
        "0", "0", "0.0876", "-0.0876", "36.4", "999", "1,000", "12,346"]
    assert [nats(x, sign=True) for x in (4.29e-05, 10.3, -3.7, 2e6, float("inf"))] == ["0", "+10.3", "-3.7", "+2,000,000", "+inf"]


def test_info_shows_training_values_as_numbers_read():
    """info's training values: a duration's 48,977 seconds, not 4.898e+04; small ones to four digits."""
    assert [_number(x) for x in (48976.819, 75546624.0, 0.0, 0.000497, 3.1109, -2.5, None)] == [
        "48,977", "75,546,624", "0", "0.000497", "3.111", "-2.5", "?"]


def test_explain_without_row_takes_the_highest_scoring_row(runner, trained_model, tmp_path):
    scored = tmp_path / "scored.csv"
    assert invoke(runner, "score", NEW, "--model", trained_model, "--out", scored, "-q").exit_code == 0
    best = int(pd.read_csv(scored)["anomaly_score"].to_numpy().argmax())
    m = as_json(invoke(runner, "explain", NEW, "--model", trained_model, "--json"))
    assert m["row"] == best and m == as_json(invoke(runner, "explain", NEW, "--model", trained_model, "--row", str(best), "--json"))
    res = invoke(runner, "explain", NEW, "--model", trained_model, "--top", "3")
    assert res.exit_code == 0 and f"row {best:,}: the highest-scoring of 1,000 rows" in res.stderr
    header = (NEW.read_text().splitlines()[0] + "\n")
    (tmp_path / "empty.csv").write_text(header)
    res = invoke(runner, "explain", tmp_path / "empty.csv", "--model", trained_model)
    assert res.exit_code == 2 and "no rows" in res.stderr and "Traceback" not in res.stderr


def test_json_outputs_parse(runner, flows_csv, tmp_path):
    fit = as_json(invoke(runner, "fit", flows_csv, "--model", tmp_path / "m", "--epochs", "2", "--json"))
    assert fit["epochs"] == 2 and fit["threshold"] > 0
    score = as_json(invoke(runner, "score", flows_csv, "--model", tmp_path / "m", "--out", tmp_path / "o.csv", "--json"))
    assert score["rows"] == 400
    res = invoke(runner, "score", flows_csv, "--model", tmp_path / "m", "--json")
    assert res.exit_code == 2 and "--out" in res.stderr


def test_config_file_and_environment(runner, flows_csv, tmp_path, monkeypatch):
    cfg = tmp_path / "vaeguard.toml"
    cfg.write_text(f'model = "{tmp_path / "m"}"\nquiet = true\n[fit]\nepochs = 2\nhidden = "16,8"\n[score]\nchunk-size = 50\n')
    res = invoke(runner, "--config", cfg, "fit", flows_csv)
    assert res.exit_code == 0, res.output
    man = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert man["model"]["hidden"] == [16, 8] and len(man["training"]["history"]) == 2
    # Flags win over the config file.
    assert invoke(runner, "--config", cfg, "fit", flows_csv, "--epochs", "3").exit_code == 0
    assert len(json.loads((tmp_path / "m" / "manifest.json").read_text())["training"]["history"]) == 3
    monkeypatch.setenv("VAEGUARD_MODEL", str(tmp_path / "m"))
    assert invoke(runner, "score", flows_csv, "--out", tmp_path / "o.csv", "-q").exit_code == 0
    monkeypatch.setenv("VAEGUARD_FIT_EPOCHS", "4")
    assert invoke(runner, "fit", flows_csv, "--model", tmp_path / "e", "-q").exit_code == 0
    assert len(json.loads((tmp_path / "e" / "manifest.json").read_text())["training"]["history"]) == 4
    bad = tmp_path / "bad.toml"
    bad.write_text("[fit]\nepochz = 3\n")
    res = invoke(runner, "--config", bad, "fit", flows_csv)
    assert res.exit_code == 2 and "epochz" in res.stderr


@pytest.mark.parametrize("text, message", [
    ('epochs = "lots"\n', "epochs = \"lots\" is not a whole number"),
    ("[fit]\nquiet = \"maybe\"\n", "[fit] quiet = \"maybe\" is not true or false"),
    ("[fit]\nfpr = [0.1]\n", "[fit] fpr = [0.1] is not a number"),
    ("[score]\nthreads = 1.5\n", "[score] threads = 1.5 is not a whole number"),
])
def test_a_config_value_of_the_wrong_type_names_the_file_and_key(runner, flows_csv, tmp_path, text, message):
    """The option parser had said "Invalid value for '--epochs'", a flag the command line never had."""
    cfg = tmp_path / "vaeguard.toml"
    cfg.write_text(text)
    res = invoke(runner, "--config", cfg, "fit", flows_csv, "--model", tmp_path / "m")
    assert res.exit_code == 2 and res.stderr == f"error: config file '{cfg}': {message}\n", res.output
    assert not (tmp_path / "m").exists()


def test_an_environment_variable_of_the_wrong_type_is_named(runner, flows_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGUARD_FIT_EPOCHS", "abc")
    res = invoke(runner, "fit", flows_csv, "--model", tmp_path / "m")
    assert res.exit_code == 2 and res.stderr.startswith("error: environment variable VAEGUARD_FIT_EPOCHS='abc' is not a whole number")
    monkeypatch.setenv("VAEGUARD_FIT_EPOCHS", "1")
    monkeypatch.setenv("VAEGUARD_FIT_QUIET", "yes")
    monkeypatch.setenv("VAEGUARD_SCORE_CHUNK_SIZE", "not for fit")  # another command's: left to that command
    monkeypatch.setenv("VAEGUARD_FIT_SEED", "")  # empty: unset, as click takes it
    res = invoke(runner, "fit", flows_csv, "--model", tmp_path / "m")
    assert res.exit_code == 0 and res.stdout == "", res.output


def test_config_values_as_text_and_one_column_for_a_list(runner, flows_csv, tmp_path):
    cfg = tmp_path / "vaeguard.toml"
    cfg.write_text('[fit]\nepochs = "2"\nlr = "0.002"\nignore = "bytes"\n')
    res = invoke(runner, "--config", cfg, "fit", flows_csv, "--model", tmp_path / "m", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["epochs"] == 2 and {c["name"]: c["role"] for c in got["columns"]}["bytes"] == "ignored"
    # What the option parser itself takes stays taken: "yes" and 1 for a flag, 2.0 for a whole number.
    cfg.write_text('[fit]\nepochs = 2.0\nquiet = "yes"\njson = 1\n')
    res = invoke(runner, "--config", cfg, "fit", flows_csv, "--model", tmp_path / "m")
    assert res.exit_code == 0 and json.loads(res.stdout)["epochs"] == 2, res.output


def test_config_file_is_read_where_python_has_no_tomllib(tmp_path, monkeypatch):
    """Python 3.10 (which the package supports) has no tomllib: the file is read with tomli, a dependency there."""
    pytest.importorskip("tomli")
    import sys

    import typer

    from vaeguard.cli import app
    from vaeguard.config import config_defaults
    from vaeguard.errors import ConfigError

    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on 3.10: `import tomllib` fails
    cfg = tmp_path / "vaeguard.toml"
    cfg.write_text("quiet = true\n[fit]\nepochs = 2\n")
    defaults = config_defaults(cfg, typer.main.get_command(app))
    assert defaults["fit"]["epochs"] == 2 and defaults["fit"]["quiet"] is True
    cfg.write_text("quiet = tru\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_defaults(cfg, typer.main.get_command(app))


def test_evaluate_report_html_is_one_self_contained_page(runner, trained_model, tmp_path):
    pytest.importorskip("matplotlib")
    rep = tmp_path / "rep"
    m = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--report", rep, "--json"))
    page = (rep / "report.html").read_text()
    assert str(rep / "report.html") in m["report_files"]
    assert page.count("data:image/png;base64,") == 3 and "src=\"http" not in page and "<script" not in page
    assert "Confusion matrix" in page and f"{m['confusion']['true_positive']:,}" in page
    assert page.count("<tr>") > 25 and "top_features" in page  # the top flagged rows with their reasons
    rows = page[page.index("Top 25 rows"):]
    assert rows.index("<th>anomaly_score</th>") < rows.index("<th>top_features</th>") < rows.index("<th>labelled anomalous</th>") \
        < rows.index("<th>duration</th>")  # why first, then the row's own columns


def test_evaluate_report_to_an_html_path_writes_that_page_alone(runner, trained_model, tmp_path):
    """`--report report.html` had made a folder named report.html: a path ending in .html is the page itself."""
    pytest.importorskip("matplotlib")
    page = tmp_path / "out" / "Evaluation.HTML"
    page.parent.mkdir()
    m = as_json(invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--by", "proto", "--report", page, "--json"))
    assert page.is_file() and m["report_files"] == [str(page)]
    assert "<h2>By proto</h2>" in page.read_text() and "<td>tcp</td>" in page.read_text()
    assert sorted(p.name for p in page.parent.iterdir()) == ["Evaluation.HTML"]  # no plots, metrics or temporary files beside it
    text = page.read_text()
    assert text.startswith("<!doctype html>") and text.count("data:image/png;base64,") == 3 and "Top 25 rows" in text
    # A folder whose name ends in .html that is there already stays a folder for the report's files.
    folder = tmp_path / "old.html"
    folder.mkdir()
    assert invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--report", folder, "-q").exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.json", "precision_recall.png", "report.html", "roc.png", "score_histogram.png"]
    # A page whose folder is not there: one line, as for --out, before any scoring.
    res = invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--report", tmp_path / "nowhere" / "r.html")
    assert res.exit_code == 2 and "output folder" in res.stderr and "does not exist" in res.stderr and not (tmp_path / "nowhere").exists()


def test_the_report_of_a_wide_table_leaves_pandas_quiet(tmp_path):
    import warnings

    from vaeguard.evaluate import _write_html

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = pd.DataFrame(index=range(60))
        for i in range(150):  # a block per column, as the readers give a wide table
            scored[f"f{i}"] = rng.integers(0, 2, 60)
        scored["anomaly_score"] = rng.random(60)
    y = (np.arange(60) % 7 == 0).astype(int)
    result = {k: 0.5 for k in ("roc_auc", "pr_auc", "precision", "recall", "f1", "false_positive_rate")}
    result.update(rows=60, anomalies=9, threshold=0.9, confusion={"true_positive": 1, "false_positive": 2, "true_negative": 3, "false_negative": 4})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = _write_html(tmp_path / "report.html", [], result, scored, y).read_text()
    best = int(np.argmax(scored["anomaly_score"]))
    first = page[page.index("Top 25 rows"):].split("<tr>")[2]  # the header's row, then the highest score's
    assert f"<td>{'yes' if y[best] else 'no'}</td>" in first and f"{scored['anomaly_score'][best]:.4g}" in first


@pytest.mark.slow
def test_report_html_renders_in_headless_chromium(runner, trained_model, tmp_path):
    """Look at the page as a person would: the plots load and the tables show."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("Debian's chromium is not installed")
    pytest.importorskip("matplotlib")
    rep = tmp_path / "rep"
    assert invoke(runner, "evaluate", NEW, "-m", trained_model, "-l", "label", "--report", rep, "-q").exit_code == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (rep / "report.html").as_uri()
    # The DOM after rendering: every image decoded (natural width > 0), the tables present.
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=3000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<img") == 3 and "confusion" in dom and "Top " in dom
    shot = tmp_path / "page.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,2400", url], capture_output=True, timeout=120)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] > 1000 and pixels.std() > 0.05  # not a blank page: plots and tables drew


def test_calibrate_keeps_the_creation_time(runner, model_copy, tmp_path):
    before = json.loads((model_copy / "manifest.json").read_text())["created"]
    assert invoke(runner, "calibrate", SAMPLE / "flows_train.csv", "--model", model_copy, "--fpr", "0.02", "-q").exit_code == 0
    assert json.loads((model_copy / "manifest.json").read_text())["created"] == before


def test_explain_never_cuts_column_names(runner, tmp_path):
    long_name = "a_rather_long_column_name_that_a_narrow_table_would_cut"
    df = pd.read_csv(SAMPLE / "flows_train.csv").rename(columns={"src_bytes": long_name})
    path = tmp_path / "long.csv"
    df.to_csv(path, index=False)
    model = tmp_path / "m"
    assert invoke(runner, "fit", path, "--model", model, "--epochs", "2", "-q").exit_code == 0
    res = invoke(runner, "explain", path, "--model", model, "--row", "0")
    assert res.exit_code == 0, res.output
    # The first cell of every table line, joined: a long name wraps inside its cell instead of being cut.
    first_cells = "".join(line.split("│")[1].strip() for line in res.stderr.splitlines() if line.startswith("│"))
    assert long_name in first_cells


def test_explain_shows_a_duration_in_the_seconds_it_expects(tmp_path):
    # A Parquet duration is modelled in seconds; its observed value was shown in nanoseconds beside them.
    from vaeguard import VAEGuard
    from vaeguard.explain import explain_rows

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"took": pd.to_timedelta(rng.exponential(2.0, 400), unit="s"), "bytes": rng.integers(40, 1500, 400)})
    guard = VAEGuard(epochs=2, seed=0).fit(df)
    row = explain_rows(guard, df.iloc[[0]])[0].set_index("column")
    assert row.loc["took", "observed"] == pytest.approx(df["took"].iloc[0].total_seconds())


def test_explain_expects_numbers_inside_the_training_range():
    # A count always zero in training (Zeek's missed_bytes) was expected at -0.05 where a row held 5,792:
    # the decoder's mean, a little past the range, shown as it came.
    from vaeguard import VAEGuard
    from vaeguard.explain import explain_rows

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"missed": np.zeros(400, dtype=int), "bytes": rng.integers(40, 1500, 400), "pkts": rng.integers(1, 9, 400)})
    df.loc[::50, "missed"], df.loc[1::50, "missed"] = 1, 3  # neither constant nor a two-value code: a count
    guard = VAEGuard(epochs=2, seed=0).fit(df)
    odd = pd.DataFrame({"missed": [5792, 0], "bytes": [10**7, 1], "pkts": [0, 5000]})
    for table in explain_rows(guard, odd):
        expected = table.set_index("column")["expected"]
        for name in ("missed", "bytes", "pkts"):
            assert df[name].min() <= float(expected[name]) <= df[name].max()


def test_explain_shows_a_gap_as_a_gap_and_writes_strict_json(runner, tmp_path):
    """An unset field was shown as 'nan' beside an expected '<missing>', an empty Zeek set as nan beside
    its expected count, and --json wrote NaN, which JSON does not have (strict parsers refuse it)."""
    from .logdata import conn_rows, zeek_text

    log = tmp_path / "conn.log"
    rows = conn_rows(200)
    log.write_text(zeek_text(rows))
    model = tmp_path / "m"
    assert invoke(runner, "fit", log, "--model", model, "--epochs", "2", "-q", "--role", "local_orig=categorical").exit_code == 0
    res = invoke(runner, "explain", log, "--model", model, "--row", "0", "--json")
    assert res.exit_code == 0, res.output

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    cols = {c["column"]: c for c in json.loads(res.stdout, parse_constant=no_constants)["columns"]}
    assert cols["local_orig"]["observed"] == "<missing>" == cols["local_orig"]["expected"]  # unset in every row
    ntp = next(i for i, r in enumerate(rows) if r[7] is None)  # no service
    res = invoke(runner, "explain", log, "--model", model, "--row", str(ntp), "--json")
    assert json.loads(res.stdout)["columns"][[c["column"] for c in json.loads(res.stdout)["columns"]].index("service")]["observed"] == "<missing>"
    assert cols["tunnel_parents"]["observed"] == 0  # (empty): a set of no members
    res = invoke(runner, "explain", log, "--model", model, "--row", "0")
    assert "nan" not in res.stderr.lower()
