"""The number formatters every table uses (the report's, the runs' own and the NAS CLI's)."""

from __future__ import annotations

import math

import numpy as np

from dcbench.report.render import DASH, NOT_RUN, Table, fmt_num, fmt_ref, fmt_stat


def test_fmt_stat() -> None:
    assert fmt_stat(70.46, 0.55, 20) == "70.5 ± 0.6 (n=20)"
    assert fmt_stat(70.46, None) == fmt_stat(70.46, math.nan) == "70.5"
    assert fmt_stat(1.234, 0.5, digits=2) == "1.23 ± 0.50"
    assert fmt_stat(None) == fmt_stat(math.nan, 1.0) == NOT_RUN
    assert fmt_stat(86.46, 0.0, 1) == "86.5 (n=1)"  # one value: no spread to show


def test_fmt_ref_marks_what_the_paper_lacks() -> None:
    assert fmt_ref(51.4, 3.8) == "51.4 ± 3.8"
    assert fmt_ref(None) == DASH


def test_fmt_num() -> None:
    assert fmt_num(0.789) == "0.79" and fmt_num(-0.1, 1) == "-0.1"
    assert fmt_num(100, 0) == "100" and fmt_num(3) == "3.00"
    assert fmt_num(np.float64(2.5), 0) == "2"  # round half to even, as Python formats
    assert fmt_num(None) == fmt_num(math.nan) == fmt_num(np.nan) == DASH
    assert fmt_num("10²") == "10²"


def test_table_renders_markdown_and_latex() -> None:
    t = Table("x", "A & B", ["Name", "Value"], [["a|b", fmt_stat(1.0, 0.5)], ["c", "2 †"]],
              ["a note"])
    md = t.markdown()
    assert md.startswith("### A & B\n\n| Name | Value |\n|---|---|\n| a\\|b | 1.0 ± 0.5 |")
    assert "| c | 2 † |" in md
    assert md.endswith("\n- a note\n")
    tex = t.latex()
    assert "\\caption{A \\& B}" in tex and "a|b & 1.0 $\\pm$ 0.5 \\\\" in tex
    assert "c & 2 \\dag{} \\\\" in tex and "†" not in tex  # pdflatex has no glyph for it
