"""`danet info`: versions, paths, registered models and datasets, all within 100 columns."""

from __future__ import annotations

from typer.testing import CliRunner

from danet.models import list_models
from danet_cli.app import app

runner = CliRunner()


def test_info_lists_paths_models_and_datasets_within_100_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("DANET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DANET_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "cityscapes").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["info"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
    flat = "".join(text.split())  # paths may wrap inside their cell
    for path in (tmp_path / "home", tmp_path / "data", tmp_path / "home" / "weights", tmp_path / "runs"):
        assert str(path) in flat
    assert all(name in flat for name in list_models())
    assert "cityscapes/found" in flat and "ade20k/notfound" in flat
    assert "registered,0downloaded" in flat
    assert "device (auto)" in text and "opencv" in text
