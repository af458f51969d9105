"""One place reads configuration, docs/configuration.md documents it, and every lesson imports from `tl_kit`."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tl_kit
from tl_kit import config

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_table_of_settings_is_the_one_config_generates():
    assert config.markdown_table() in (ROOT / "docs" / "configuration.md").read_text()


def test_only_config_reads_tl_kit_environment_variables():
    offenders = []
    for path in sorted((ROOT / "tl_kit").glob("*.py")):
        if path.name == "config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ">>>" in line:  # a docstring example that sets a variable, as a user would
                continue
            if re.search(r"os\.environ(\.get)?\s*[\[(]\s*[\"']TL_KIT_|getenv\(", line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_every_documented_variable_changes_what_the_kit_uses(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TL_KIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TL_KIT_SHARED_DIR", str(tmp_path / "shared"))
    (tmp_path / "shared").mkdir()
    monkeypatch.setenv("TL_KIT_GRADING", "1")
    monkeypatch.setenv("TL_KIT_OFFLINE_WEIGHTS", str(tmp_path / "w.h5"))
    monkeypatch.setenv("TL_KIT_PROFILE", " CPU ")
    monkeypatch.setenv("TL_KIT_LIVE_PLOTS", "0")
    monkeypatch.setenv("TL_KIT_DATA", "emoji")
    monkeypatch.setenv("TL_KIT_SHIPPED_DATA", str(tmp_path / "shipped"))
    from tl_kit.features import cache_root
    from tl_kit.runs import runs_root
    from tl_kit.weights import offline_weights_path, shared_dir

    assert cache_root() == tmp_path / "cache" and runs_root() == tmp_path / "runs"
    assert shared_dir() == tmp_path / "shared" and offline_weights_path() == tmp_path / "w.h5"
    assert tl_kit.get_profile().name == "cpu" and config.live_plots() is False and config.grading() is True
    assert config.data_choice() == "emoji" and config.shipped_data_dir() == tmp_path / "shipped"
    for name in config.SETTINGS:
        monkeypatch.delenv(config.SETTINGS[name].env, raising=False)
    assert config.runs_dir() == Path("runs").resolve() and config.live_plots() is True and not config.grading()
    assert config.shipped_data_dir() == ROOT / "data" and config.offline_weights_file() is None


def test_an_unknown_setting_name_is_a_key_error_listing_the_settings():
    with pytest.raises(KeyError, match="profile, image_size, data, cache"):
        config.get("colour")


def _lesson_names() -> set[str]:
    names = set()
    for notebook in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            for match in re.finditer(r"^from tl_kit import \(?([^)]+?)\)?$", source, re.M | re.S):
                names |= {n.strip() for n in match.group(1).replace("\n", " ").split(",") if n.strip()}
            names |= set(re.findall(r"tl_kit\.(\w+)", source))
    return names


def test_lessons_import_only_from_tl_kit_itself_and_every_name_is_exported():
    for notebook in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
        assert not re.search(r"from tl_kit\.\w+ import", text), notebook.name
    names = _lesson_names()
    assert {"TransferModel", "FreezeWidget", "load_dataset", "start"} <= names
    modules = {"checks", "config", "conv"}  # submodules a lesson uses as a namespace
    missing = sorted(n for n in names - modules if n not in tl_kit.__all__)
    assert not missing, f"used by a lesson but not exported from tl_kit: {missing}"
    for name in tl_kit.__all__:
        assert getattr(tl_kit, name) is not None


def test_a_regular_install_finds_the_shipped_data_and_lesson_times(tmp_path):
    """Build the wheel, install it without dependencies into a folder, and load from there."""
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    for part in ("tl_kit", "data"):  # tl_kit/shipped_data stays a link to data/, as in the checkout
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    for part in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / part, source / part)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp_path / "wheel").glob("tl_kit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tl_kit/lesson_times.json" in names and "tl_kit/shipped_data/README.md" in names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = ("import tl_kit.data as d, tl_kit.lessons as l; p = d.shipped_path('fashion_mnist'); "
             "print(p); print(len(list(p.glob('train/*/*.png')))); print(l.reference_images_per_s('cpu'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    where, count, speed = out.stdout.split()
    assert where.startswith(str(target)) and int(count) == len(list((ROOT / "data/fashion_mnist").glob("train/*/*.png")))
    assert float(speed) > 0


def test_a_shared_folder_this_account_cannot_read_is_left_out_with_advice(monkeypatch, tmp_path, capsys):
    from tl_kit import config

    monkeypatch.setenv("TL_KIT_SHARED_DIR", str(tmp_path / "no such folder"))
    assert config.shared_dir() is None and config.shared_dir() is None
    said = capsys.readouterr().out
    assert said.count("is not a folder this account can read") == 1 and "chmod -R a+rX" in said
    monkeypatch.setenv("TL_KIT_SHARED_DIR", str(tmp_path))
    assert config.shared_dir() == tmp_path


def test_each_lesson_header_states_the_time_measured_for_it():
    """The time under a lesson's title is written from lesson_times.json (benchmarks/run.py
    rewrites it after timing), so a header never says a time nobody measured."""
    import nbformat

    from tl_kit.lessons import HEADER_TIME, header_time, lesson_paths

    for path in lesson_paths():
        first = nbformat.read(path, as_version=4).cells[0].source
        found = HEADER_TIME.search(first)
        assert found and found.group(0) == header_time(path.name), f"{path.name}: run write_header_times()"


def test_header_durations_round_to_half_minutes():
    from tl_kit.lessons import _duration

    assert [_duration(s) for s in (25, 60, 89, 268, 326, 600)] == [
        "under a minute", "about 1 minute", "about 1½ minutes", "about 4½ minutes", "about 5½ minutes",
        "about 10 minutes"]
