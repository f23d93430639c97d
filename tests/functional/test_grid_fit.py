"""At 80x24 the grid's job and % columns fit every word they show, a degraded row keeps the
shares aligned, and the footer drops whole keys rather than cutting one under the palette key."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from ui_helpers import screen_text

from nba_tui.tui.cells import DEGRADED, NECESSITY, columns_for, job_word
from nba_tui.tui.widgets.footer import LeanFooter
from nba_tui.tui.widgets.grid import CoverageGrid

WORDS = ["counting", "cancelled", "stopped", "running", *(
    job_word(s, shard) for s in ("done", "running", "failed", "stopped", "killed", "queued")
    for shard in ((8, 8), (10, 21), (21, 21), (12, 16))
)]  # fmt: skip
PCTS = ["✔ 100.0% ", f"✔ 100.0%{NECESSITY}", f"✘ 7.1%{NECESSITY}", "✘ 0.0% ", f"✘ 89.0%{DEGRADED}"]


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CoverageGrid(id="grid")

    def on_mount(self) -> None:
        grid = self.query_one(CoverageGrid)
        grid.set_columns(columns_for(80))
        keys = [f"t{i:02d}" for i in range(len(WORDS))]
        grid.ensure_rows(keys)
        grid.apply({
            k: {"table": (k, ""), "pct": (PCTS[i % len(PCTS)], ""), "job": (w, ""),
                "current": ("2024-02-12", "")}
            for i, (k, w) in enumerate(zip(keys, WORDS, strict=True))
        })  # fmt: skip


def test_the_80_column_set_fits_80_columns_with_its_scrollbar() -> None:
    assert sum(c.width for c in columns_for(80)) <= 79
    assert sum(c.width for c in columns_for(120)) <= 119
    assert job_word("done", (8, 8)) == "done 8/8" and job_word("failed", (12, 16)) == "fail 12/16"


async def test_job_words_whole_after_a_space_and_shares_aligned_at_80x24() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows = [r for r in screen_text(app).splitlines()[1:] if r.startswith("t")]
        assert rows
        for row in rows:
            key = row.split()[0]
            word = WORDS[int(key[1:])]
            assert f" {word}" in row and "…" not in row, row  # whole, a space before it
            pct_end = row.index("%")
            assert pct_end == rows[0].index("%"), (row, rows[0])  # every % in one column


class KeysApp(App[None]):
    BINDINGS = [Binding(k, f"notify('{k}')", f"{k} key {k * 6}") for k in "abcdefghij"]

    def compose(self) -> ComposeResult:
        yield LeanFooter()


async def test_the_footer_drops_whole_keys_before_the_palette_key() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert footer.rstrip().endswith("^p palette"), footer
        shown = [k for k in "abcdefghij" if f"{k} key {k * 6}" in footer]
        assert shown == list("abcdefghij"[: len(shown)]) and 0 < len(shown) < 10, footer
        keys = [c for c in app.query_one(LeanFooter).children if c.has_class("-command-palette")]
        palette_x = keys[0].region.x
        last = [c for c in app.query_one(LeanFooter).children if c not in keys][-1]
        assert last.region.right < palette_x, (last.region, palette_x)
