"""The set-up promises of the README: two commands, one list of dependencies, CI runs the tests."""

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_installs_this_folder_and_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1
    pip_lines = pip_sections[0]
    assert any(re.fullmatch(r"-e \.(\[[\w,-]+\])?", line) for line in pip_lines), pip_lines
    assert "-c requirements/lock.txt" in pip_lines  # the tested versions
    pip_lines = [line for line in pip_lines if not line.startswith("-c ")]
    conda = [d for d in deps if isinstance(d, str)]
    python = next(d for d in conda if d.startswith("python"))
    version = python.split("=")[-1]
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(version + ".0")
    # Everything else environment.yml lists must be a pyproject dependency too, never a second list.
    declared = {Requirement(r).name.lower() for r in _pyproject()["project"]["dependencies"]}
    others = [line for line in pip_lines if not line.startswith("-e")]
    others += [d.split("=")[0] for d in conda if not d.startswith(("python", "pip"))]
    for name in others:
        assert Requirement(name).name.lower() in declared, f"{name} is in environment.yml but not in pyproject.toml"


def third_party_imports(package: Path) -> dict[str, dict[str, bool]]:
    """Every module outside the standard library and the kit that `package`'s code imports, read from
    the code itself: {top-level module: {file: imported at the module's top level}} (False: inside a
    function, so needed only when that function runs)."""
    import ast

    found: dict[str, dict[str, bool]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != package.name:
                    files = found.setdefault(top, {})
                    files[path.name] = files.get(path.name, False) or id(node) in top_level
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undeclared_imports(package: Path) -> list[str]:
    """What the code imports but pyproject.toml does not declare: a module imported at a module's top
    level must be a dependency; one imported inside a function, a dependency or in an extra. Modules
    map to their distributions as installed here (importlib.metadata: `PIL` is Pillow's)."""
    from importlib.metadata import packages_distributions

    project = _pyproject()["project"]
    required = {_normal(Requirement(r).name) for r in project["dependencies"]}
    extras = {_normal(Requirement(r).name) for rs in project["optional-dependencies"].values() for r in rs}
    distributions = packages_distributions()
    problems = []
    for module, files in sorted(third_party_imports(package).items()):
        names = {_normal(d) for d in distributions.get(module, [])}
        where = ", ".join(sorted(files))
        if not names:
            problems.append(f"{module} (imported in {where}) is not installed: declare the distribution that provides it")
        elif any(files.values()) and not names & required:
            problems.append(f"{module} is imported at the top of {where} but is not a dependency in pyproject.toml")
        elif not names & (required | extras):
            problems.append(f"{module} (imported in {where}) is declared neither as a dependency nor in an extra")
    return problems


def test_pyproject_declares_every_module_the_kit_imports():
    assert undeclared_imports(ROOT / "tl_kit") == []


def test_an_undeclared_import_fails_the_packaging_check(tmp_path):
    import shutil

    copy = tmp_path / "tl_kit"
    shutil.copytree(ROOT / "tl_kit", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "planted.py").write_text("import yaml  # PyYAML: installed here by the test extra, declared nowhere else\n")
    assert undeclared_imports(copy) == [
        "yaml is imported at the top of planted.py but is not a dependency in pyproject.toml"]


def _pip(*args: str) -> str:
    """Run pip in this Python (build isolation on: the setuptools pyproject.toml asks for) and return what it printed."""
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


SETUPTOOLS_WARNINGS = ("BuildBackendWarning", "SetuptoolsWarning", "SetuptoolsDeprecationWarning", "is absent from")


def test_an_editable_install_prints_no_setuptools_warning(tmp_path):
    # Into a venv of its own (pip --python): pip installing into this environment, or with --prefix,
    # would first uninstall the kit that the running tests import.
    import venv

    venv.create(tmp_path / "venv", with_pip=False)
    printed = _pip("--python", str(tmp_path / "venv" / "bin" / "python"), "install", "--no-deps", "--no-compile",
                   "-e", str(ROOT))
    assert not [w for w in SETUPTOOLS_WARNINGS if w in printed], printed[-3000:]
    pth = [p.read_text().strip() for p in (tmp_path / "venv").rglob("__editable__*.pth")]
    assert pth == [str(ROOT)]  # the checkout itself on the path


def test_a_wheel_carries_every_shipped_file_and_builds_without_warnings(tmp_path):
    import zipfile

    printed = _pip("wheel", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT))
    assert not [w for w in SETUPTOOLS_WARNINGS if w in printed], printed[-3000:]
    names = set(zipfile.ZipFile(next(tmp_path.glob("tl_kit-*.whl"))).namelist())
    data = ROOT / "data"
    shipped = {f"tl_kit/shipped_data/{p.relative_to(data).as_posix()}" for p in data.rglob("*") if p.is_file()}
    assert len(shipped) > 4000 and shipped <= names, sorted(shipped - names)[:5]
    assert "tl_kit/lesson_times.json" in names
    assert "tl_kit/locale/zh_CN/LC_MESSAGES/tl_kit.po" in names  # the kit's Chinese sentences (tl_kit/i18n.py)


LOCK = ROOT / "requirements" / "lock.txt"


def _locked(python: str) -> dict[str, str]:
    """{distribution: version} the lock pins on Linux for Python `python` (e.g. "3.10")."""
    from packaging.markers import Marker

    env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith(("#", " ")):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(env):
            continue
        name, version = requirement.strip().split("==")
        pins[_normal(name)] = version.strip()
    return pins


def test_the_lock_pins_every_dependency_within_its_range_for_each_python():
    assert LOCK.read_text().startswith("# This file was autogenerated by uv via the following command:")
    project = _pyproject()["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    extras = project["optional-dependencies"]
    wanted += [Requirement(r) for name in ("test", "classroom", "jax") for r in extras[name]
               if Requirement(r).name != "tl-kit"]
    for python in ("3.10", "3.11", "3.12"):
        pins = _locked(python)
        env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux"}
        for requirement in wanted:
            if requirement.marker and not requirement.marker.evaluate(env):
                continue
            name = _normal(requirement.name)
            assert name in pins, f"the lock has no {name} for Python {python}: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), \
                f"the lock's {name}=={pins[name]} is outside pyproject's {requirement} (Python {python}): run `make lock`"


def test_every_install_installs_the_locked_versions():
    assert re.search(r"pip install --quiet -c \$\(LOCK\) -e \"\.\[test\]\"", (ROOT / "Makefile").read_text())
    assert "-c requirements/lock.txt -e ." in (ROOT / ".binder" / "postBuild").read_text()
    assert re.search(r"^lock: ", (ROOT / "Makefile").read_text(), re.M)


def test_this_python_is_one_the_kit_supports():
    spec = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert spec.contains(f"{sys.version_info.major}.{sys.version_info.minor}.0")


def test_readme_commands_are_make_targets_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111


def test_make_test_gives_its_parts_one_thread_each_and_one_jax_cache_that_keeps_every_program():
    """What `make test` would run (make -n): the settings it hands both lanes, and how the unit tests split."""
    dry = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0, dry.stderr[-2000:]
    lanes = next(line for line in dry.stdout.splitlines() if "lane-notebooks lane-classroom" in line)
    words = shlex.split(lanes)
    settings = dict(w.split("=", 1) for w in words[:words.index("make")])
    assert settings["JAX_COMPILATION_CACHE_DIR"] == str(ROOT / "build" / "jax-cache")
    # With the folder set by hand, JAX keeps only programs that took ≥ 1 s to compile (most of a
    # fast lesson's take less) unless told otherwise.
    assert settings["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert settings["OMP_NUM_THREADS"] == settings["TF_NUM_INTRAOP_THREADS"] == "1"
    assert '-m "not jax"' in dry.stdout and re.search(r"-m jax$", dry.stdout, re.M)  # the JAX runs in the JAX lane


def test_notebooks_are_committed_clean_unless_checked_on_purpose():
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            checked = "# NBVAL_CHECK_OUTPUT" in "".join(cell["source"])
            assert cell.get("execution_count") is None or checked, f"{path.name}: execution count left in"
            assert not cell.get("outputs") or checked, f"{path.name}: stale output in {cell['source'][:1]}"
            assert cell.get("outputs") or not checked, f"{path.name}: {cell['id']} is checked but has no output to compare"


def test_binder_builds_the_same_python_and_installs_the_kit_from_pyproject():
    env = yaml.safe_load((ROOT / ".binder" / "environment.yml").read_text())
    root_env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = lambda e: next(d for d in e["dependencies"] if isinstance(d, str) and d.startswith("python"))  # noqa: E731
    assert python(env) == python(root_env)
    # repo2docker builds the environment before the repository is copied in: no `-e .` there ...
    assert not any(isinstance(d, dict) for d in env["dependencies"])
    # ... postBuild installs the kit, and with it exactly what pyproject lists.
    post = ROOT / ".binder" / "postBuild"
    assert re.search(r"pip install .*-e \.$", post.read_text(), re.M) and post.stat().st_mode & 0o111


def test_every_lesson_installs_the_kit_in_colab_and_nowhere_else():
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        first = "".join(cells[0]["source"])
        assert 'if "google.colab" in sys.modules:' in first, path.name
        assert "pip install" in first and "tl_kit" not in first.split("if")[0], path.name


def test_no_two_modules_of_the_kit_import_each_other():
    """The kit's own import graph, read from the code (imports inside functions too), has no cycle."""
    import ast

    graph = {}
    for path in (ROOT / "tl_kit").glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        graph[path.stem] = deps & {p.stem for p in (ROOT / "tl_kit").glob("*.py")}

    def cycle_from(start, node, path):
        for nxt in sorted(graph[node]):
            if nxt == start:
                return path + [start]
            if nxt not in path:
                found = cycle_from(start, nxt, path + [nxt])
                if found:
                    return found
        return None

    for module in sorted(graph):
        found = cycle_from(module, module, [module])
        assert found is None, "an import cycle: " + " → ".join(found)
