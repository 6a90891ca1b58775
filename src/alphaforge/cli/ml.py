"""``alphaforge ml``: train, evaluate, list and show machine-learning models (out of sample)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from alphaforge.cli.common import console, handle_errors, settings_from

app = typer.Typer(
    help="Machine-learning models: causal features, purged CV, walk-forward, OOS reports.",
    no_args_is_help=True,
)


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A ``(stage, done, total)`` callback driving a rich progress bar."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)  # fmt: skip
    task = prog.add_task("starting", total=None)

    def update(stage: str, done: int, total: int) -> None:
        prog.update(task, description=stage, completed=done, total=total)

    with prog:
        yield update


def _num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "—" if f != f else f"{f:.4f}"


def _scores_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for c in ("scheme", "fold", "start", "stop", "n_train", "n_test", "accuracy", "auc",
              "log_loss", "base_rate"):  # fmt: skip
        t.add_column(c, justify="left" if c in ("scheme", "start", "stop") else "right")
    for r in rows:
        t.add_row(str(r.get("scheme", "")), str(r["fold"]), str(r["start"])[:10],
                  str(r["stop"])[:10], str(r["n_train"]), str(r["n_test"]),
                  *(_num(r[k]) for k in ("accuracy", "auc", "log_loss", "base_rate")))  # fmt: skip
    return t


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Training YAML (symbols, data, features, label, model, cv, walk_forward)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the version."),
) -> None:  # fmt: skip
    """Train a model with walk-forward refits and purged k-fold CV; store a new version."""
    _train(ctx, config, quiet)


@handle_errors
def _train(ctx: typer.Context, config: Path, quiet: bool) -> None:
    from alphaforge.ml.spec import load_ml_spec
    from alphaforge.services.ml import train_model

    load_ml_spec(config)  # a bad config is one line, before any progress is shown
    settings = settings_from(ctx)
    with _progress(quiet) as hook:
        rep = train_model(config, settings, hook)
    meta = rep.version.metadata
    if not quiet:
        wf = [{"scheme": "walk-forward", **r} for r in meta["walk_forward_scores"]]
        cv = [{"scheme": "purged k-fold", **r} for r in meta["cv_scores"]]
        console.print(_scores_table(wf + cv, "Out-of-sample scores per fold"))
        for note in meta.get("notes", []):
            console.print(f"[dim]{note}[/]")
    console.print(f"model: {rep.version.ref} ({rep.version.path})")


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="name/vN, name (its latest version) or a version directory."),
    top_k: int = typer.Option(5, "--top-k", help="Importance stability: the top k features."),
    blocks: int = typer.Option(16, "--blocks", help="CSCV blocks for the PBO of the search (even)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the paths."),
) -> None:  # fmt: skip
    """Out-of-sample metrics per fold, feature importance and its stability, OOS backtest, and
    the DSR and PBO of every version stored under the model's name."""
    _evaluate(ctx, version, top_k, blocks, quiet)


@handle_errors
def _evaluate(ctx: typer.Context, version: str, top_k: int, blocks: int, quiet: bool) -> None:
    from alphaforge.cli.common import at_least
    from alphaforge.services.ml import evaluate_model

    at_least(top_k, 1, "--top-k")
    settings = settings_from(ctx)
    with _progress(quiet) as hook:
        ev = evaluate_model(version, settings, top_k, hook, blocks)
    if not quiet:
        _show_evaluation(ev)
    console.print(f"evaluation: {ev.path}")
    console.print(f"tear sheet: {ev.tear_sheet}")


def _show_evaluation(ev: Any) -> None:
    from rich.table import Table

    body = ev.body
    console.print(_scores_table(body["folds"], f"{body['model']}: out-of-sample scores per fold"))
    p = body["oos_pooled"]
    console.print(
        f"pooled walk-forward OOS from {body['oos_from'][:10]}: {p['rows']:,} rows, accuracy "
        f"{_num(p['accuracy'])}, AUC {_num(p['auc'])}, log-loss {_num(p['log_loss'])}, "
        f"base rate {_num(p['base_rate'])}"
    )
    t = Table(title=f"Feature importance (gain share; top-{body['importance_top_k']} "
              f"stability {_num(body['importance_stability'])})", title_justify="left")  # fmt: skip
    for c in ("feature", "mean_share", "top_k_share"):
        t.add_column(c, justify="left" if c == "feature" else "right")
    for r in body["importance"]:
        t.add_row(r["feature"], _num(r["mean_share"]), _num(r["top_k_share"]))
    console.print(t)
    m = body["backtest"]
    console.print(
        f"OOS backtest of ml_signal: total return {_num(m.get('total_return'))}, Sharpe "
        f"{_num(m.get('sharpe'))}, max drawdown {_num(m.get('max_drawdown'))}, "
        f"{int(m.get('num_trades') or 0)} trades; equal-weight buy and hold of the symbols "
        f"over the same bars {_num(body['buy_and_hold_return'])}"
    )
    _show_search(body["search"])
    g = body["gate"]
    rows = "; ".join(f"{r['criterion']} {r['status']}" for r in g["rows"])
    console.print(f"gate on the OOS backtest: {g['verdict']} ({rows})")


def _show_search(search: dict[str, Any]) -> None:
    from rich.table import Table

    from alphaforge.services.ml_search import describe

    t = Table(title="Configurations tried (versions under this name; OOS Sharpe on shared bars)",
              title_justify="left", header_style="bold")  # fmt: skip
    for c in ("model", "kind", "label", "features", "shared_bars", "oos_sharpe", "note"):
        t.add_column(
            c, justify="right" if c in ("features", "shared_bars", "oos_sharpe") else "left"
        )
    for r in search["configurations"]:
        t.add_row(r["model"], r["kind"], r["label"], str(r["features"]), str(r["shared_bars"]),
                  _num(r["oos_sharpe"]), r["note"])  # fmt: skip
    console.print(t)
    console.print(f"search: {describe(search)}")
    for note in search["notes"]:
        console.print(f"[dim]{note}[/]")


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """Stored model versions under HOME/models."""
    _list(ctx)


@handle_errors
def _list(ctx: typer.Context) -> None:
    from alphaforge.cli.validate import frame_table
    from alphaforge.services.ml import model_list

    df = model_list(settings_from(ctx))
    if df.empty:
        console.print("no models (alphaforge ml train --config ml.yaml)")
        return
    console.print(frame_table(df, "Models"))


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="name/vN, name (its latest version) or a version directory."),
) -> None:  # fmt: skip
    """A version's metadata: features and hash, data range, label, model, scores per fold."""
    _show(ctx, version)


@handle_errors
def _show(ctx: typer.Context, version: str) -> None:
    from alphaforge.services.ml import model_show

    v = model_show(version, settings_from(ctx))
    m = v.metadata
    rng = m["data_range"]
    console.print(f"[bold]{v.ref}[/] {m['model']['kind']} created {m['created']} ({v.path})")
    console.print(f"symbols: {', '.join(m['symbols'])}; data {rng['start'][:10]} .. "
                  f"{rng['end'][:10]} ({rng['bars']:,} bars, {rng['rows']:,} rows)")  # fmt: skip
    console.print(f"features ({m['feature_hash']}): {', '.join(m['feature_names'])}")
    console.print(f"label: {m['label']}")
    console.print(f"walk-forward: {m['walk_forward']}; cv: {m['cv']}")
    console.print(f"libraries: {m['library_versions']}")
    wf = [{"scheme": "walk-forward", **r} for r in m["walk_forward_scores"]]
    cv = [{"scheme": "purged k-fold", **r} for r in m["cv_scores"]]
    console.print(_scores_table(wf + cv, "Out-of-sample scores per fold"))
