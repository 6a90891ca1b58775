"""The HTML tear sheet: sections, self-containment, trades table, warnings, edge cases."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from alphaforge.cli.render import format_metric
from alphaforge.reports import write_report
from alphaforge.reports.tearsheet import tearsheet_html
from alphaforge.sim.result import BacktestResult

CORE_SECTIONS = (
    "summary", "warnings", "metrics", "equity", "drawdown", "monthly", "yearly", "distribution",
    "rolling", "trade-pnl", "mae-mfe", "exposure", "trades", "provenance", "config", "price",
    "rejected", "adjust", "benchmark",
)  # fmt: skip
PORTFOLIO_SECTIONS = ("weights", "correlation")


class _Collector(HTMLParser):
    """Ids of all elements, external references, and the rows of the trades table body."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.external: list[str] = []
        self.trade_rows = 0
        self._table: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        for key in ("src", "href"):
            value = a.get(key) or ""
            if tag in {"script", "link", "img", "iframe"} and re.match(r"(https?:)?//", value):
                self.external.append(f"<{tag} {key}={value}>")
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table == "trades-table":
            self.trade_rows += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None


def parse(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


@pytest.fixture(scope="module")
def single_html(single_result: Any) -> str:
    return tearsheet_html(single_result)


def test_every_section_is_present_for_one_symbol(single_html: str) -> None:
    ids = parse(single_html).ids
    for section in CORE_SECTIONS:
        assert section in ids, section
    for section in (*PORTFOLIO_SECTIONS, "sectors"):
        assert section not in ids, f"{section} is for portfolios only"


def test_plotly_js_is_embedded_exactly_once(single_html: str) -> None:
    signature = get_plotlyjs()[:400]
    assert single_html.count(signature) == 1
    # one inline copy of the library, one newPlot per chart div
    charts = re.findall(r'<div id="chart-[\w-]+" class="plotly-graph-div"', single_html)
    assert len(charts) == 10  # equity, price ... exposure: the single-symbol chart sections
    assert single_html.count("Plotly.newPlot(") == len(charts)


def test_no_external_script_or_stylesheet(single_html: str) -> None:
    assert parse(single_html).external == []
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", single_html)


def test_trades_table_has_one_row_per_trade(single_result: Any, single_html: str) -> None:
    assert single_result.num_trades > 0
    assert parse(single_html).trade_rows == single_result.num_trades


def test_headline_benchmark_column(single_result: Any, single_html: str) -> None:
    # benchmark total return by hand: last / first - 1 of the buy-and-hold curve
    b = single_result.benchmark_values
    expected = format_metric("total_return", float(b[-1] / b[0] - 1.0))
    row = re.search(r"<td>Total return</td><td>([^<]*)</td><td>([^<]*)</td>", single_html)
    assert row is not None
    e = single_result.equity_values
    assert row.group(1) == format_metric("total_return", float(e[-1] / e[0] - 1.0))
    assert row.group(2) == expected


def test_distribution_states_jarque_bera(single_html: str) -> None:
    assert "Jarque–Bera" in single_html


def test_few_trades_and_lookahead_not_run_are_reported(
    single_result: Any, single_html: str
) -> None:
    assert single_result.num_trades < 30
    assert f"Only {single_result.num_trades} trade(s)" in single_html
    assert "Look-ahead check not run" in single_html
    assert "Costs disabled" not in single_html  # default costs are on
    assert "Optimistic fills" not in single_html


def test_cost_and_fill_warnings(costless_close_result: Any) -> None:
    html = tearsheet_html(costless_close_result)
    assert "Costs disabled: commission and slippage are both 0." in html
    assert "Optimistic fills (fill=close)" in html
    box = html[html.index('id="warnings"') :]
    box = box[: box.index("</section>")]
    assert box.count("fill=close") == 1  # the engine's own fill=close warning is not repeated


def test_ambiguous_bars_and_failed_lookahead(single_result: Any) -> None:
    flagged = dataclasses.replace(
        single_result,
        ambiguous_bars=3,
        config={**single_result.config, "lookahead": {"passed": False}},
    )
    html = tearsheet_html(flagged)
    assert "3 ambiguous intrabar bar(s)" in html
    assert "Look-ahead check FAILED" in html
    assert "Look-ahead check not run" not in html


def test_zero_trade_result_renders(zero_trade_result: Any, tmp_path: Path) -> None:
    assert zero_trade_result.num_trades == 0
    path = write_report(zero_trade_result, tmp_path / "zero.html")
    html = path.read_text()
    c = parse(html)
    assert c.trade_rows == 0
    assert "The strategy made no trades." in html
    assert "No trades" in html  # placeholder in the trade P&L and MAE/MFE charts
    assert "Only 0 trade(s)" in html


def test_portfolio_sections(portfolio_result: Any) -> None:
    html = tearsheet_html(portfolio_result)
    ids = parse(html).ids
    for section in (*PORTFOLIO_SECTIONS, "sectors"):
        assert section in ids, section
    assert parse(html).trade_rows == portfolio_result.num_trades
    assert "trade(s): fewer than" not in html  # enough trades


def test_saved_result_keeps_closes_for_weights(portfolio_result: Any, tmp_path: Path) -> None:
    path = portfolio_result.to_json(tmp_path / "p.json")
    loaded = BacktestResult.from_json(path)
    html = tearsheet_html(loaded)
    assert "weights" in parse(html).ids
    assert "Per-symbol closes are not stored" not in html


def test_result_without_closes_explains_missing_weights(portfolio_result: Any) -> None:
    html = tearsheet_html(
        dataclasses.replace(portfolio_result, close_values=None, data_arrays=None)
    )
    assert "weights" in parse(html).ids
    assert "Per-symbol closes are not stored" in html


def test_intraday_result_shows_times(intraday_result: Any) -> None:
    html = tearsheet_html(intraday_result, title="Hourly run")
    assert "<title>Hourly run</title>" in html
    first = intraday_result.trades["entry_time"].iloc[0]
    assert f"{first:%Y-%m-%d %H:%M}" in html
    assert parse(html).trade_rows == intraday_result.num_trades


def test_synthetic_label_only_for_synthetic_data(single_result: Any) -> None:
    assert "SYNTHETIC DATA" not in tearsheet_html(single_result)
    syn = dataclasses.replace(single_result, symbols=("SYN01",))
    assert "SYNTHETIC DATA" in tearsheet_html(syn)


def test_written_atomically_with_title(single_result: Any, tmp_path: Path) -> None:
    out = write_report(single_result, tmp_path / "sub" / "r.html", title="My <run>")
    assert out == tmp_path / "sub" / "r.html"
    html = out.read_text()
    assert "<title>My &lt;run&gt;</title>" in html  # escaped
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temp file left behind


def test_wiped_out_equity_still_renders(single_result: Any) -> None:
    eq = single_result.equity_values.copy()
    eq[len(eq) // 2 :] = 0.0  # the account is gone half way through
    html = tearsheet_html(dataclasses.replace(single_result, equity_values=eq))
    assert "Equity reached zero or below" in html
    assert "Equity reached zero: no monthly returns" in html
    assert parse(html).trade_rows == single_result.num_trades


def test_unusable_benchmark_leaves_its_column_empty(single_result: Any) -> None:
    bench = single_result.benchmark_values.copy()
    bench[:3] = np.nan  # e.g. the benchmark symbol had no bars yet
    html = tearsheet_html(dataclasses.replace(single_result, benchmark_values=bench))
    row = re.search(r"<td>Total return</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert row is not None and row.group(1) != "" and row.group(2) == ""
    assert "<td>CVaR 95% (hist.)</td>" in html  # the strategy keeps its full metric set


def test_trades_table_is_capped(single_result: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphaforge.reports import tearsheet

    monkeypatch.setattr(tearsheet, "MAX_TRADE_ROWS", 5)
    html = tearsheet.tearsheet_html(single_result)
    assert parse(html).trade_rows == 5
    assert f"Showing the first 5 of {single_result.num_trades} trades" in html
