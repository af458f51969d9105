"""The classroom documents agree with what was measured: the Zero to JupyterHub fragment's limits
are docs/classroom.md's, which benchmarks/hub_sizing.py computes from benchmarks/results.json."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_z2jh_fragment_parses_and_uses_the_measured_limits():
    config = yaml.safe_load((ROOT / "docs" / "classroom" / "z2jh-config.yaml").read_text())
    user = config["singleuser"]
    readme = (ROOT / "docs" / "classroom.md").read_text()
    guarantee = re.search(r"`mem_guarantee: (\S+)`", readme).group(1)
    limit = re.search(r"`mem_limit: (\S+)`", readme).group(1)
    assert (user["memory"]["guarantee"], user["memory"]["limit"]) == (guarantee, limit)
    assert user["cpu"]["limit"] == 2 and user["storage"]["extraVolumeMounts"][0]["readOnly"] is True
    assert user["extraEnv"]["TL_KIT_SHARED_DIR"] == user["storage"]["extraVolumeMounts"][0]["mountPath"]


def test_the_readme_sizing_section_is_the_one_rendered_from_the_results():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from hub_sizing import END, START, render

    sizing = json.loads((ROOT / "benchmarks" / "results.json").read_text())["hub_sizing"]
    readme = (ROOT / "docs" / "classroom.md").read_text()
    assert f"{START}\n{render(sizing)}\n{END}" in readme
