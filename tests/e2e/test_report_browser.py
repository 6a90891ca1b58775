"""The tear sheet in a real headless Chromium: charts render offline, no script errors, the trades
table sorts, the scale toggle works; plus PNG export through kaleido."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphaforge.data.sample import generate_daily, sample_sectors
from alphaforge.reports import write_report
from alphaforge.services.backtest import backtest
from alphaforge.testing import skip_or_fail

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def result() -> Any:
    """Four SYNTHETIC equities with sectors, three years, trend following with 25% slots."""
    bars = generate_daily(seed=11, n_symbols=4, years=3)
    bars = bars[bars["symbol"] != "SYNIDX"]
    table = sample_sectors(11, 4)
    sectors: dict[str, str] = dict(zip(table["symbol"], table["sector"], strict=True))
    return backtest(
        "sma_cross",
        bars,
        params={"fast": 10, "slow": 30},
        risk={"sectors": sectors},
        sizing={"method": "fraction", "value": 0.25},
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"headless Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_report(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """Open ``path`` from disk; return the page and the list it collects JS errors into."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: errors.append(f"network: {r.url}") if r.url.startswith("http") else None,
    )
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".every(d => d.querySelector('.main-svg') && d._fullLayout)",
        timeout=30_000,
    )
    return page, errors


CHART_STATE = """
Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => ({
  id: d.id,
  svg: d.querySelectorAll('.main-svg').length,
  drawn: d.querySelectorAll('.cartesianlayer .trace path, .cartesianlayer image').length,
}))
"""


def test_report_renders_offline_without_errors(result: Any, browser: Any, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "report.html")
    page, errors = open_report(browser, path)
    charts = page.evaluate(CHART_STATE)
    ids = {c["id"] for c in charts}
    assert {"chart-equity", "chart-drawdown", "chart-monthly", "chart-weights"} <= ids
    assert {"chart-correlation", "chart-sectors", "chart-mae-mfe"} <= ids
    for chart in charts:
        assert chart["svg"] >= 1, chart
        assert chart["drawn"] > 0, f"{chart['id']} has no plotted marks"
    assert page.locator("#trades-table tbody tr").count() == result.num_trades
    assert page.locator(".badge.synthetic").count() == 1
    page.screenshot(path=str(tmp_path / "tearsheet.png"), full_page=True)
    assert (tmp_path / "tearsheet.png").stat().st_size > 50_000
    assert errors == []
    page.close()


def _column(page: Any, col: int) -> list[float]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#trades-table tbody tr'))"
        f".map(r => parseFloat(r.cells[{col}].getAttribute('data-v')))"
    )


def test_trades_table_sorts_on_click(result: Any, browser: Any, tmp_path: Path) -> None:
    assert result.num_trades >= 3
    page, errors = open_report(browser, write_report(result, tmp_path / "r.html"))
    pnl_col = 8  # "#", Symbol, Side, Entry, Exit, Qty, Entry px, Exit px, P&L
    header = page.locator("#trades-table thead th").nth(pnl_col)
    assert header.inner_text().strip() == "P&L"
    before = _column(page, pnl_col)
    header.click()
    ascending = _column(page, pnl_col)
    assert ascending == sorted(before)
    header.click()
    assert _column(page, pnl_col) == sorted(before, reverse=True)
    assert page.locator("#trades-table tbody tr").count() == result.num_trades
    assert errors == []
    page.close()


def test_equity_scale_toggle(result: Any, browser: Any, tmp_path: Path) -> None:
    page, errors = open_report(browser, write_report(result, tmp_path / "r.html"))
    axis = "document.getElementById('chart-equity').layout.yaxis.type"
    assert page.evaluate(axis) in (None, "linear", "-")
    page.locator("#chart-equity .updatemenu-button").nth(1).click()
    page.wait_for_function(f"{axis} === 'log'", timeout=10_000)
    assert errors == []
    page.close()


def test_zero_trade_report_renders(browser: Any, tmp_path: Path) -> None:
    bars = generate_daily(seed=3, n_symbols=1, years=1)
    bars = bars[bars["symbol"] == "SYN01"]
    # a slow SMA that starts two bars before the sample ends: no cross, no trade
    res = backtest("sma_cross", bars, params={"fast": 100, "slow": 250})
    assert res.num_trades == 0
    page, errors = open_report(browser, write_report(res, tmp_path / "zero.html"))
    assert page.locator("#trades-table").count() == 0
    assert "The strategy made no trades." in page.inner_text("#trades")
    for chart in page.evaluate(CHART_STATE):
        assert chart["svg"] >= 1, chart
    assert errors == []
    page.close()


def test_png_export(result: Any, tmp_path: Path) -> None:
    pytest.importorskip("kaleido", reason="PNG export needs the optional kaleido package")
    if shutil.which("chromium") is None and not CHROMIUM.exists():
        skip_or_fail("Chromium is needed for PNG export")
    from alphaforge.reports.output import export_pngs
    from alphaforge.reports.tearsheet import build_figures

    figs = build_figures(result)
    paths = export_pngs({k: figs[k] for k in ("equity", "drawdown")}, tmp_path / "png")
    assert [p.name for p in paths] == ["equity.png", "drawdown.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_intraday_report_renders(browser: Any, tmp_path: Path) -> None:
    from alphaforge.data.sample import generate_intraday

    bars = generate_intraday(seed=1, symbols=["SYN01", "SYN02"], days=5, timeframe="5m")
    res = backtest("sma_cross", bars, params={"fast": 6, "slow": 24})
    page, errors = open_report(browser, write_report(res, tmp_path / "intraday.html"))
    for chart in page.evaluate(CHART_STATE):
        assert chart["svg"] >= 1, chart
    # overnight gaps are hidden: the equity axis carries one rangebreak per closed stretch
    breaks = page.evaluate(
        "document.getElementById('chart-equity').layout.xaxis.rangebreaks.length"
    )
    assert breaks == 4  # five sessions -> four nights/weekends
    assert page.locator("#trades-table tbody tr").count() == res.num_trades
    assert errors == []
    page.close()


def test_validation_section_renders(browser: Any, tmp_path: Path) -> None:
    """A validated sweep's tear sheet: gate table, statistics and every validation chart drawn."""
    from alphaforge.config.settings import AppSettings
    from alphaforge.config.specs import load_run_spec
    from alphaforge.services.optimize import SweepRequest, run_sweep
    from alphaforge.services.validate import ValidationRequest, run_validation

    bars = generate_daily(seed=5, n_symbols=1, years=6)
    data = tmp_path / "syn.csv"
    bars[bars["symbol"] == "SYN01"].to_csv(data, index=False)
    settings = AppSettings(home=tmp_path / "home")
    spec = load_run_spec(None, {"strategy": "sma_cross", "data": str(data), "symbols": ["SYN01"]})
    req = SweepRequest(spec=spec, grids=["fast=5:20:5", "slow=30:90:30"], per_symbol=False,
                       workers=1)  # fmt: skip
    job = run_sweep(req, settings).job_id
    rep = run_validation(ValidationRequest(job, sims=300, spa_reps=100), settings)
    path = write_report(rep.target.result, tmp_path / "val.html", validation=rep.body)
    page, errors = open_report(browser, path)
    charts = {c["id"]: c for c in page.evaluate(CHART_STATE)}
    for cid in ("chart-val-mc", "chart-val-pbo", "chart-val-degradation", "chart-val-regimes",
                "chart-val-robustness"):  # fmt: skip
        assert charts[cid]["svg"] >= 1 and charts[cid]["drawn"] > 0, cid
    rows = page.locator("#gate-table tbody tr")
    assert rows.count() == len(rep.gate.rows)
    statuses = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert statuses == [r.status for r in rep.gate.rows]
    assert page.locator("nav.toc a[href='#validation']").count() == 1
    assert errors == []
    page.close()


VISIBLE_MARKERS = """
(name) => {
  const gd = document.getElementById('chart-price');
  const out = [];  // _fullData: the decoded arrays (data keeps the binary-encoded ones)
  gd._fullData.forEach(t => {
    if (t.visible === true && t.name === name) {
      for (let i = 0; i < t.y.length; i++) out.push([String(t.x[i]).slice(0, 10), t.y[i]]);
    }
  });
  return {groups: [...new Set(gd._fullData.filter(t => t.visible === true).map(t => t.legendgroup))],
          points: out.sort()};
}
"""


def _fills(trades: Any, symbol: str, when: str, price: str) -> list[list[Any]]:
    t = trades[(trades["symbol"] == symbol) & (trades["direction"] == "long")]
    return sorted([f"{a:%Y-%m-%d}", float(p)] for a, p in zip(t[when], t[price], strict=True))


def test_price_chart_switches_symbols_with_markers_at_fills(
    result: Any, browser: Any, tmp_path: Path
) -> None:
    page, errors = open_report(browser, write_report(result, tmp_path / "price.html"))
    charts = {c["id"]: c for c in page.evaluate(CHART_STATE)}
    assert charts["chart-price"]["drawn"] > 0
    counts = result.trades["symbol"].value_counts()
    order = sorted(counts.index, key=lambda s: (-counts[s], s))
    assert len(order) >= 2
    for k, sym in enumerate(order[:2]):
        if k:  # open the dropdown and pick the next symbol
            page.locator("#chart-price .updatemenu-header-group").click()
            page.locator("#chart-price .updatemenu-dropdown-button").nth(k).click()
            page.wait_for_function(
                f"document.getElementById('chart-price').layout.title.text.startsWith('{sym}:')",
                timeout=10_000,
            )
        for name, when, price in (("long entries", "entry_time", "entry_price"),
                                  ("long exits", "exit_time", "exit_price")):  # fmt: skip
            state = page.evaluate(VISIBLE_MARKERS, name)
            assert state["groups"] == [sym]
            assert state["points"] == _fills(result.trades, sym, when, price)
    assert errors == []
    page.close()


def test_rejected_orders_and_adjustment_are_visible(browser: Any, tmp_path: Path) -> None:
    bars = generate_daily(seed=11, n_symbols=4, years=3)
    bars = bars[bars["symbol"] != "SYNIDX"]
    res = backtest("sma_cross", bars, params={"fast": 10, "slow": 30})  # all-in: cash runs out
    rejected = res.orders[res.orders["status"] == "rejected"]
    assert len(rejected) > 0
    page, errors = open_report(browser, write_report(res, tmp_path / "rejected.html"))
    box = page.locator("#rejected .reject-box")
    assert box.is_visible()
    assert f"{len(rejected)} of {len(res.orders)} orders rejected" in box.inner_text()
    assert page.locator("#rejected-table tbody tr").count() == min(len(rejected), 200)
    reasons = page.locator("#rejected-reasons tbody tr td:first-child").all_inner_texts()
    assert reasons == list(rejected["reason"].value_counts().index)
    assert "orders rejected" in page.inner_text("#warnings")
    assert "adjust: true" in page.inner_text("#adjust")
    assert page.locator("nav.toc a[href='#rejected']").count() == 1
    assert errors == []
    page.close()
