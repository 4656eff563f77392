"""Cellular automaton: build an initial state, see the true space-time diagram, and what models with
N = 1, 2, 4 sleep passes predict for every cell of it (errors outlined).
"""

from __future__ import annotations

import random

import streamlit as st

from pages import lab
from sleepcore import viz
from sleepcore.tasks.automaton import check_rule

lab.ensure_shell()   # a deep link as a fresh server's first request: run inside app.py (see lab)

ss = st.session_state
WIDTH = 16
DEFAULT_MAX_T = 8


def _cells() -> list[int]:
    cells = ss.get(lab.CA_CELLS)
    if not isinstance(cells, (list, tuple)) or len(cells) != WIDTH or any(c not in (0, 1) for c in cells):
        cells = lab.DEFAULT_CELLS
        ss[lab.CA_CELLS] = cells
    return list(cells)


def _toggle(j: int) -> None:
    cells = _cells()
    cells[j] = 1 - cells[j]
    ss[lab.CA_CELLS] = tuple(cells)


def _set_cells(cells) -> None:
    ss[lab.CA_CELLS] = tuple(int(c) for c in cells)


def _randomise() -> None:
    _set_cells(random.Random().choices([0, 1], k=WIDTH))


def _open_in_timeline(entry_name: str | None, passes: int | None, t: int) -> None:
    ss[lab.CUSTOM_STATE] = tuple(_cells())
    ss[lab.DEPTH] = t
    ss[lab.STEP] = 0
    ss[lab.STEP_OBJ] = None
    ss[lab.PLAYING] = False
    if entry_name:
        ss[lab.CKPT] = entry_name
    if passes:
        ss[lab.PASSES] = passes


CELL_CSS = """<style>
[class*="st-key-ca_cell_"] button {width: 40px; min-width: 40px; height: 40px; min-height: 40px; padding: 0;
    border-radius: 4px; border: 1.5px solid #1F2A44; font-size: 11px; box-shadow: none;}
[class*="st-key-ca_cell_"] button[kind="secondary"], [class*="st-key-ca_cell_"] button[kind="secondary"]:hover
    {background: #FBF8F1; color: #8A8F98;}
[class*="st-key-ca_cell_"] button[kind="primary"], [class*="st-key-ca_cell_"] button[kind="primary"]:hover
    {background: #1F2A44; color: #FBF8F1; border-color: #1F2A44;}
[class*="st-key-ca_cell_"] button:hover {outline: 2px solid #E69F00;}
</style>"""


def rule_html(rule: int) -> str:
    """Wolfram's rule icon: the 8 neighbourhoods and the cell each one produces."""
    cell = ('<span style="display:inline-block;width:11px;height:11px;margin:0 1px;border:1px solid #1F2A44;'
            'background:{}"></span>')
    parts = []
    for pattern in range(7, -1, -1):
        bits = [(pattern >> 2) & 1, (pattern >> 1) & 1, pattern & 1]
        out = (rule >> pattern) & 1
        top = "".join(cell.format("#1F2A44" if b else "#FBF8F1") for b in bits)
        bottom = cell.format("#1F2A44" if out else "#FBF8F1")
        parts.append(f'<div style="display:flex;flex-direction:column;align-items:center;gap:2px">'
                     f'<div style="white-space:nowrap;line-height:0">{top}</div>'
                     f'<div style="line-height:0">{bottom}</div></div>')
    return f'<div style="display:flex;flex-wrap:wrap;gap:10px;padding:6px 0 4px 0">{"".join(parts)}</div>'


def controls(max_t: int) -> tuple[int, list[int], int]:
    c1, c2, c3 = st.columns([1.1, 3, 1.8], vertical_alignment="bottom", gap="medium")
    if not isinstance(ss.get(lab.CA_RULE), int) or not 0 <= ss[lab.CA_RULE] <= 255:
        st.error(f"Rule {ss.get(lab.CA_RULE)!r} is not a Wolfram rule number (0..255); reset to 110.")
        ss[lab.CA_RULE] = 110
    rule = c1.number_input("Rule (0..255)", min_value=0, max_value=255, step=1, key=lab.CA_RULE,
                           persist_state="session", help="Wolfram's numbering: bit (4·left + 2·centre + right).")
    with c2:
        st.markdown(rule_html(check_rule(int(rule))), unsafe_allow_html=True)
        st.caption("Each neighbourhood (left, centre, right) on top and the cell it makes below.")
    if ss.get(lab.CA_T) not in range(1, max_t + 1):
        ss[lab.CA_T] = min(max(1, int(ss.get(lab.CA_T) or 1)), max_t)
    t = c3.slider("Steps t", 1, max_t, key=lab.CA_T, persist_state="session",
                  help="How many updates to run; the models were trained for t up to "
                       f"{max_t}.")
    st.markdown(CELL_CSS, unsafe_allow_html=True)
    st.markdown("**Initial state** (row 0): click a cell to flip it. The models are asked about cell 0.")
    cells = _cells()
    row = st.container(horizontal=True, gap="xsmall", vertical_alignment="center")
    for j, c in enumerate(cells):
        row.button(str(j), key=f"ca_cell_{j}", on_click=_toggle, args=(j,), type="primary" if c else "secondary",
                   help=f"cell {j} is {c}: click to flip")
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button("Random", icon=":material/casino:", on_click=_randomise, key="ca_random")
    row.button("One cell", icon=":material/filter_1:", on_click=_set_cells,
               args=([1 if j == WIDTH - 1 else 0 for j in range(WIDTH)],), key="ca_single")
    row.button("Clear", icon=":material/clear_all:", on_click=_set_cells, args=([0] * WIDTH,), key="ca_clear")
    return int(rule), cells, int(t)


def model_max_t(entries) -> int:
    """The largest t the automaton checkpoints were trained for (the models cannot be asked beyond it)."""
    for e in entries:
        if e.ok and e.rule is not None:
            steps = e.task.get("steps", 8)
            return int(max(steps) if isinstance(steps, (list, tuple)) else steps)
    return DEFAULT_MAX_T


def main() -> None:
    st.title("Cellular automaton")
    st.caption("Rule 110 is Turing complete: no shortcut is known, so predicting a cell t steps ahead takes about t "
               "steps of computation. The models only ever answer *cell 0 after t steps*, but on a ring cell j is "
               "cell 0 of the state rotated by j, so we can ask them for every cell of the diagram at once.")
    _, entries, err = lab.selected_entry()
    ex = lab.Exporter("Cellular automaton")
    export_slot = st.container()
    rule, cells, t = controls(model_max_t(entries))
    truth = lab.true_diagram(cells, rule, t)

    by_n = lab.pick_by_passes(entries, rule=rule) if not err else {}
    cols = st.columns(1 + max(3, len(by_n)), gap="small")
    with cols[0]:
        lab.chart(viz.spacetime_figure(truth.astype(float), "True diagram (rows = time)", cell=13, x_title=""),
                  key="ca_true", export=ex, data={"true_diagram": truth}, title=f"Rule {rule}, true diagram")
    ex.note(f"Rule {rule}, initial row {''.join(map(str, cells))}, t = {t}")
    ex.menu(export_slot)
    if err:
        cols[1].info(err, icon=":material/folder_off:")
        return
    if not by_n:
        with cols[1]:
            st.info(f"No model was trained for rule {rule}: the checkpoints here know only rule(s) "
                    f"{sorted({e.rule for e in entries if e.ok and e.rule is not None}) or 'none'}. "
                    "The true diagram is still exact.", icon=":material/school:")
        return
    for col, (n, e) in zip(cols[1:], by_n.items()):
        with col:
            try:
                task = lab.load_model(e)[2]
                if t not in task.depths or task.width != WIDTH:
                    raise lab.LabError(f"`{e.name}` answers t in {task.depths[0]}..{task.depths[-1]} for width "
                                       f"{task.width}; this diagram needs t = {t}, width {WIDTH}.")
                probs = lab.diagram_for(e.path, e.mtime, tuple(cells), t, n)
            except lab.LabError as ex:
                st.error(str(ex))
                continue
            pred = (probs >= 0.5).astype(int)
            wrong = pred != truth
            wrong[0] = False
            right = int((~wrong[1:]).sum())
            total = wrong[1:].size
            title = f"N = {n}: {right}/{total} right"
            lab.chart(viz.spacetime_figure(probs, title, wrong=wrong, truth=truth, cell=13, x_title=""),
                      key=f"ca_pred_{n}", export=ex, data={f"p1_N{n}": probs}, title=f"{e.name} at N = {n}")
    models = ", ".join(f"`{e.name}` at N = {n}" for n, e in by_n.items())
    st.caption(f"Row 0 is given; every other cell is a separate question a model answers after sleeping on the rotated "
               f"state. Shade = the model's p(1); <span style='color:{viz.WRONG_COLOR}'><b>outlined</b></span> = "
               f"wrong. "
               f"Cells far down (large t) need the most computation: that is where more sleep helps. Models: {models}.",
               unsafe_allow_html=True)
    names = {n: e.name for n, e in by_n.items()}
    default = ss.get(lab.CKPT) if ss.get(lab.CKPT) in names.values() else next(iter(names.values()))
    target = next((n for n, name in names.items() if name == default), next(iter(names)))
    st.button(f"Open this state in the timeline ({names[target]}, t = {t})", icon=":material/timeline:",
              key="ca_open", on_click=_open_in_timeline, args=(names[target], target, t))
    if ss.get("ca_open"):
        st.switch_page(lab.PAGES["timeline"])


main()
