"""``dcbench report``: its options, schema problems and a missing results folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from dcbench.cli import cli


def test_report_command(fixture_runs, tmp_path: Path) -> None:
    root, out = tmp_path / "results", tmp_path / "out"
    nas = fixture_runs.nas
    shutil.copytree(nas, root / "nas" / nas.name)  # one run: one figure, quick
    res = CliRunner().invoke(cli, ["report", "--results", str(root), "--out", str(out),
                                   "--strict"])
    assert res.exit_code == 0, res.output
    assert (out / "REPRODUCIBILITY.md").is_file() and (out / "tables" / "nas.tex").is_file()
    assert (out / "figures" / f"nas-scatter-{nas.name}.pdf").is_file()
    assert "1 runs read" in res.output
    (root / "nas" / "broken").mkdir()
    (root / "nas" / "broken" / "manifest.json").write_text('{"kind": "nas"}')
    res = CliRunner().invoke(cli, ["report", "--results", str(root), "--out", str(out),
                                   "--strict"])
    assert res.exit_code == 1 and "schema problem" in res.output
    res = CliRunner().invoke(cli, ["report", "--results", str(tmp_path / "none")])
    assert res.exit_code != 0 and "no results folder" in res.output
