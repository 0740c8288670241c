"""Tagged PDF for screen readers: marked content while drawing, the structure tree after.

reportlab draws the page but cannot write a structure tree, so drawing wraps
each piece of text in a marked-content sequence (`/P <</MCID n>> BDC … EMC`,
through the canvas's public `addLiteral`) and lines and page numbers in
`/Artifact`; `add_structure` then writes, with pikepdf, the tree that gives
those sequences their roles in reading order (Document > H1, P, Table > TR >
TH/TD), the parent tree, `/MarkInfo <</Marked true>>` and `/StructParents` on
every page. This is what `pdfinfo -struct-text` reads back in the tests.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name
from reportlab.pdfgen.canvas import Canvas

CELLS = ("TH", "TD")


@dataclass(frozen=True)
class Mark:
    """One marked-content sequence: its role, where it is, and its table row (if a cell)."""

    role: str
    page: int
    mcid: int
    row: int | None = None
    actual: str = ""


@dataclass
class Tags:
    """Marks text on a reportlab canvas as it is drawn, in reading order."""

    canvas: Canvas
    page: int = 0
    next_mcid: int = 0
    marks: list[Mark] = field(default_factory=list)

    @contextmanager
    def text(self, role: str, row: int | None = None, *, actual: str = "") -> Iterator[None]:
        """Everything drawn inside is one element of this role (H1, P, TH, TD).

        `actual` is what a screen reader should read instead of what is drawn
        (the whole description where the page shows it cut short with …).
        """
        mark = Mark(role, self.page, self.next_mcid, row, actual)
        self.next_mcid += 1
        self.marks.append(mark)
        self.canvas.addLiteral(f"/{role} <</MCID {mark.mcid}>> BDC")
        yield
        self.canvas.addLiteral("EMC")

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Drawn for the eye only (rules, page numbers, repeated headings): skipped when read."""
        self.canvas.addLiteral("/Artifact BMC")
        yield
        self.canvas.addLiteral("EMC")

    def new_page(self) -> None:
        """Call after `showPage`: marked-content ids start again on every page."""
        self.page += 1
        self.next_mcid = 0


def add_structure(data: bytes, marks: list[Mark]) -> bytes:
    """The PDF with its structure tree; cells in a run of marks form one table."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root))
        parents: dict[int, dict[int, pikepdf.Object]] = {n: {} for n in range(len(pdf.pages))}

        def element(role: str, parent: pikepdf.Object) -> pikepdf.Object:
            return pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + role), P=parent))

        def leaf(mark: Mark, parent: pikepdf.Object) -> pikepdf.Object:
            found = element(mark.role, parent)
            found.Pg = pdf.pages[mark.page].obj
            found.K = mark.mcid
            if mark.actual:  # the element's replacement text, read instead of what is drawn
                found.ActualText = pikepdf.String(mark.actual)
            parents[mark.page][mark.mcid] = found
            return found

        kids: list[pikepdf.Object] = []
        table: pikepdf.Object | None = None
        rows: dict[int, pikepdf.Object] = {}
        for mark in marks:
            if mark.role not in CELLS or mark.row is None:
                table = None
                kids.append(leaf(mark, document))
                continue
            if table is None:
                table, rows = element("Table", document), {}
                table.K = Array()
                kids.append(table)
            row = rows.get(mark.row)
            if row is None:
                row = rows[mark.row] = element("TR", table)
                row.K = Array()
                table.K.append(row)
            cell = leaf(mark, row)
            if mark.role == "TH":  # the first row heads columns; a later heading, its row
                scope = Name.Column if mark.row == 0 else Name.Row
                cell.A = Dictionary(O=Name.Table, Scope=scope)
            row.K.append(cell)
        document.K = Array(kids)
        root.K = Array([document])
        numbers: list[int | Array] = []
        for number, page in enumerate(pdf.pages):
            page.obj.StructParents = number
            page.obj.Tabs = Name.S  # tab order follows the structure
            numbers += [number, Array([parents[number][m] for m in sorted(parents[number])])]
        root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(numbers)))
        root.ParentTreeNextKey = len(pdf.pages)
        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        # Viewers show the title (ご請求明細（…分）), not the file name.
        pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        # The title, author and subject again as XMP, where PDF/UA readers look for them.
        info = pdf.docinfo
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = str(info.Title)
            meta["dc:creator"] = [str(info.Author)]
            meta["dc:description"] = str(info.Subject)
            meta["pdf:Producer"] = str(info.Producer)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
