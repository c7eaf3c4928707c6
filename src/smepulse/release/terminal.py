"""The release's numbers in the terminal: the headline table and the groups at a glance, from the same context
as the HTML and Markdown release (report.context), so the terminal, the page and the exports agree to the
decimal. Every group the release shows appears: unadjusted values marked †, suppressed cells said so."""
from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from smepulse.release.narrative import Names
from smepulse.release.report import Release, context

SUPPRESSED = "x"  # statistics offices' mark for a suppressed cell; footnoted


def _cell(c: dict | None) -> str:
    """'49.7', '45.6†' (unadjusted), 'x' (suppressed) or '–' (no value)."""
    if not c:
        return "–"
    if c["value"] == "–":
        return SUPPRESSED if c["flag"] else "–"
    return c["value"] + ("†" if c["adjustment"] else "")


def _longest_word(label: str) -> int:
    """The narrowest a header can be without cutting a word (Chinese breaks between any two characters)."""
    if cell_len(label) > len(label):
        return min(cell_len(label), 8)
    return max(cell_len(w) for w in label.split())


def headline_table(rel: Release) -> Table | None:
    """The composites of the whole sample: value, interval, change on the month (significance marked), n."""
    ctx = context(rel)
    ui = ctx["ui"]
    rows = next((t["rows"] for t in ctx["tables"] if t["group"] == "all"), [])
    rows = [r for r in rows if r["composite"]]
    if not rows:
        return None
    title = f"{ctx['title']} ({ctx['adjustment']})" if rel.lang == "en" else f"{ctx['title']}（{ctx['adjustment']}）"
    table = Table(title=title, title_justify="left")
    for col in ("", ui["value"], ui["interval"], ui["change"], ui["n"]):
        table.add_column(col, justify="right" if col else "left")
    for r in rows:
        table.add_row(r["label"] + ("†" if r["adjustment"] else ""), r["value"] or (r["flag"] or "–"), r["ci"],
                      r["change"] + ("*" if r["significant"] else ""), r["n"])
    return table


def groups_table(rel: Release, width: int = 80) -> Table | None:
    """One row per group of the release, in its order (classifications in blocks): each composite's value and
    the headline's change on the month (significance marked); a group without a seasonally adjusted series
    shows its unadjusted one, marked †; a suppressed group says so. Fits `width` columns (80 at least):
    headers wrap between words so that group names need not."""
    ctx = context(rel)
    ui = ctx["ui"]
    if len(ctx["matrix"]) < 2:
        return None
    names = Names(rel.methodology, rel.lang)
    labels = ctx["composite_labels"]
    title = (f"{ui['overview_table']}, {ctx['month']} ({ui['change'].lower()}: {labels[0]})" if rel.lang == "en"
             else f"{ui['overview_table']}：{ctx['month']}（{ui['change']}：{labels[0]}）")
    table = Table(title=title,
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1), collapse_padding=True)
    # headers wrap between words, numbers never do, no word is cut; the group names get what is left
    rows = []
    for r in ctx["matrix"]:
        head, *rest = r["cells"]
        change = "" if not head or head["value"] == "–" else head["change"] + ("*" if head["significant"] else "")
        rows.append([_cell(head), change, *[_cell(c) for c in rest],
                     *([r["n"]] if ctx["show_n"] else [])])
    change_head = ui["change"].split()[0] if rel.lang == "en" else "变动"
    heads = [labels[0], change_head, *labels[1:], *([ui["n"]] if ctx["show_n"] else [])]
    widths = [max(_longest_word(h), *(cell_len(row[k]) for row in rows)) for k, h in enumerate(heads)]
    titles = [r["title"] if r["group"] == "all" else names.group_short(r["group"]) for r in ctx["matrix"]]
    left = width - sum(widths) - 2 * len(heads) - 3
    longest = max(cell_len(t) for t in titles)
    table.add_column(ui["group"], width=max(min(longest, left), *(_longest_word(t) for t in titles)))
    for label, w in zip(heads, widths, strict=True):
        table.add_column(label, justify="right", width=w, overflow="fold")
    dim = None
    for r, title, cells in zip(ctx["matrix"], titles, rows, strict=True):
        this = r["group"].partition("=")[0]
        if dim is not None and this != dim:
            table.add_section()
        dim = this
        table.add_row(title, *cells)
    return table


def print_release_summary(rel: Release, console: Console) -> None:
    """Both tables and the marks' footnote."""
    ctx = context(rel)
    for table in (headline_table(rel), groups_table(rel, max(console.width, 80))):
        if table is not None:
            console.print(table)
    notes = [x for x in ctx["marks"].split(ctx["ui"]["mark_sep"]) if x]
    if any(c and c["flag"] and c["value"] == "–" for r in ctx["matrix"] for c in r["cells"]):
        notes.append(f"{SUPPRESSED} suppressed: too few respondents to publish" if rel.lang == "en" else
                     f"{SUPPRESSED} 样本不足未发布")
    for note in notes:  # one mark a line
        console.print(note)
