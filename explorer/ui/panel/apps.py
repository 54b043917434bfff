"""The dashboards `explorer serve` serves: name -> a builder of one session's page.

Each call builds fresh state, so every browser session has its own.

Pages use the Bootstrap template: it loads nothing from outside the server (Fast
and Vanilla fetch Google Fonts, which fails offline and logs console errors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import panel as pn

from explorer.state import OperatorSession, PINNSession, ProblemState
from explorer.ui.panel.gallery import Gallery
from explorer.ui.panel.landscape_lab import LandscapeLab
from explorer.ui.panel.operator_lab import OperatorLab
from explorer.ui.panel.pinn_lab import PINNLab

__all__ = [
    "APPS",
    "gallery_page",
    "lab_page",
    "landscape_lab_page",
    "operator_lab_page",
    "page",
    "pinn_lab_page",
    "warm_up",
]

TITLE = "Neural PDE Explorer"
_HEADER = "#0b5394"


class _Page(pn.template.BootstrapTemplate):
    """The Bootstrap template, attached to its document in one model-graph pass.

    Bokeh recomputes a document's whole model graph after each change to it, and
    Panel attaches a template's widgets one link at a time (an editable slider is
    one): frozen, the graph is computed once (0.65 -> 0.33 s for the PINN Lab).
    """

    def server_doc(self, doc=None, title=None, location=True):  # type: ignore[no-untyped-def]
        document = doc if doc is not None else pn.state.curdoc
        if document is None:
            return super().server_doc(doc, title, location)
        with document.models.freeze():
            return super().server_doc(document, title, location)


def page(
    title: str,
    sidebar: Sequence[pn.viewable.Viewable],
    main: Sequence[pn.viewable.Viewable],
    sidebar_width: int = 360,
    busy_indicator: bool = True,
) -> pn.template.BootstrapTemplate:
    """A page with a header, a sidebar and a main area; no external resources.

    ``busy_indicator=False`` drops the header's spinner (a page that polls from a
    periodic callback would spin it all the time).
    """
    extra = {} if busy_indicator else {"busy_indicator": None}
    return _Page(
        title=f"{TITLE} — {title}",
        sidebar=list(sidebar),
        main=list(main),
        sidebar_width=sidebar_width,
        header_background=_HEADER,
        **extra,
    )


def gallery_page() -> pn.viewable.Viewable:
    """The Gallery: pick a PDE, move its parameters, watch the reference solution."""
    pn.extension("katex")
    gallery = Gallery(ProblemState())
    return page("Gallery", [gallery.sidebar], [gallery.main])


def pinn_lab_page() -> pn.viewable.Viewable:
    """The PINN Lab: train a PINN live; the experiment lives in the URL."""
    pn.extension("katex")
    lab = PINNLab(PINNSession(), location=pn.state.location)
    lab.start()
    return lab_page(lab)


def warm_up() -> None:
    """Build one PINN Lab page into a throwaway document, before serving.

    The first page a process builds pays one-off costs (imports, HoloViews' and
    Bokeh's first renders, first torch calls): measured 0.9 s of a cold first load
    of 2.4-2.9 s. Paid at start-up, the first visitor gets a warm page.
    """
    from bokeh.document import Document

    lab = PINNLab(PINNSession())
    try:
        lab_page(lab).server_doc(Document())
    finally:
        lab.close()


def lab_page(lab: PINNLab) -> pn.template.BootstrapTemplate:
    """The page around a PINN Lab (for builders that keep a handle on the lab)."""
    return page(
        "PINN Lab",
        [lab.sidebar],
        [lab.main],
        sidebar_width=380,
        busy_indicator=False,  # the lab has its own progress bar and status line
    )


def operator_lab_page() -> pn.viewable.Viewable:
    """The Operator Lab: learn a solution operator live; the URL holds the run."""
    lab = OperatorLab(OperatorSession(), location=pn.state.location)
    lab.start()
    return page(
        "Operator Lab",
        [lab.sidebar],
        [lab.main],
        sidebar_width=380,
        busy_indicator=False,  # the lab has its own progress bar and status line
    )


def landscape_lab_page() -> pn.viewable.Viewable:
    """The Landscape Lab: edge of stability, Hessian spectra, lazy training."""
    lab = LandscapeLab()
    lab.start()
    return page(
        "Landscape Lab",
        [lab.sidebar],
        [lab.main],
        busy_indicator=False,  # the lab has its own progress bar and status line
    )


APPS: dict[str, Callable[[], pn.viewable.Viewable]] = {
    "gallery": gallery_page,
    "pinn-lab": pinn_lab_page,
    "landscape-lab": landscape_lab_page,
    "operator-lab": operator_lab_page,
}
