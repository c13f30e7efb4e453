"""The guide's content: front matter, ids that resolve, formulas KaTeX renders, markers that exist, originality."""

import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import descent_core as dc
from descent_core import content

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECTIONS = list(content.sections().values())
EXPECTED_IDS = ["problem", "gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "amsgrad",
                "adamw", "nadam", "frontier", "after-adam", "schedules", "scale", "sharpness", "grand-race", "family",
                "bibliography"]


def test_every_section_of_the_guide_exists_in_order():
    assert [s.id for s in SECTIONS] == EXPECTED_IDS
    assert [s.order for s in SECTIONS] == sorted(s.order for s in SECTIONS)
    for s in SECTIONS:
        assert s.group in content.GROUPS
        assert len(s.body.split()) > 60, f"{s.id} has a body"


@pytest.mark.parametrize("section", SECTIONS, ids=[s.id for s in SECTIONS])
def test_front_matter_names_resolve(section):
    for opt in section.optimizers:
        assert opt in dc.OPTIMIZERS, f"{section.id}: unknown optimizer {opt}"
    for landscape in section.landscapes:
        assert landscape in dc.LANDSCAPES, f"{section.id}: unknown landscape {landscape}"
    bibliography = content.bibliography()
    for key in section.references:
        assert key in bibliography, f"{section.id}: reference {key} is not in the bibliography"


def test_figure_and_lab_markers_exist():
    from descent_ui.figures import FIGURES

    from descent_core import labs
    for s in SECTIONS:
        for figure in s.figures:
            assert figure in FIGURES, f"{s.id}: figure {figure} is not defined"
        for lab in s.labs:
            assert lab in labs.LABS, f"{s.id}: lab {lab} is not defined"
    for figure in FIGURES.values():
        assert figure.claim.endswith("."), "each figure's caption states its claim"
        dc.get_landscape(figure.landscape)
        assert all(o in dc.OPTIMIZERS for o in figure.optimizers)


def test_callouts_parse_into_known_kinds():
    kinds = {b.name for s in SECTIONS for b in s.blocks if b.kind == "callout"}
    assert kinds <= set(content.CALLOUT_KINDS)
    assert {"TRAP", "MODEL", "RUN", "TRADEOFF"} <= kinds
    for s in SECTIONS:
        for block in s.blocks:
            if block.kind == "markdown":
                assert "[!" not in block.text.split("```")[0], f"{s.id}: a callout did not parse"


def test_family_notes_cover_every_optimizer():
    assert set(content.family_notes()) == set(dc.OPTIMIZERS)


# --------------------------------------------------------------------------------------------------------------
# Formulas: every $...$ and $$...$$ in sections, notation and decks renders with KaTeX in strict mode.

_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$")
_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"`[^`\n]*`")


def formulas(text: str, where: str) -> list[dict]:
    text = _CODE.sub("", _FENCE.sub("", text))
    found = [{"where": where, "tex": m.group(1), "display": True} for m in _DISPLAY.finditer(text)]
    text = _DISPLAY.sub("", text)
    found += [{"where": where, "tex": m.group(1), "display": False} for m in _INLINE.finditer(text)]
    return found


def all_formulas() -> list[dict]:
    items = []
    for path in sorted((ROOT / "content").glob("*.md")):
        items += formulas(content.unquote(path.read_text(encoding="utf-8")), path.name)
    for path in sorted((ROOT / "content" / "decks").glob("*.yaml")):
        for card in yaml.safe_load(path.read_text(encoding="utf-8")).get("cards", []):
            fields = [card.get("prompt", ""), card.get("answer", "")] + list(card.get("key_points", []) or [])
            fields += [str(o) for o in card.get("options", []) or []]
            for text in fields:
                items += formulas(content.unquote(str(text)), f"{path.name}:{card.get('id')}")
    return items


def test_formulas_render_with_katex():
    node = shutil.which("node")
    katex = ROOT / "tests" / "katex" / "node_modules" / "katex"
    if node is None or not katex.exists():
        pytest.fail("KaTeX is not installed: run ./scripts/test.sh (it installs node and tests/katex)")
    items = all_formulas()
    assert len(items) > 300, "the guide is full of math"
    result = subprocess.run([node, str(ROOT / "tests" / "katex" / "check.js")], input=json.dumps(items),
                            capture_output=True, text=True, timeout=120, check=True)
    failures = json.loads(result.stdout)
    assert not failures, json.dumps(failures[:10], indent=1, ensure_ascii=False)


def test_no_text_is_shared_with_the_reference_guide():
    tool = ROOT.parent / "shared" / "tools" / "seed_overlap.py"
    if not tool.exists():
        pytest.skip("the shared reference tools are not beside this checkout")
    result = subprocess.run([sys.executable, str(tool), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "seed overlap: 0 " in result.stdout


# --------------------------------------------------------------------------------------------------------------
# Code samples: every ```python block of a section runs (blocks of one file run in order, in one namespace). All
# files run in one interpreter, each in a fresh namespace with torch seeded the same way, so torch is imported once.

_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
FILES_WITH_CODE = [p for p in sorted((ROOT / "content").glob("*.md")) if _PYTHON_BLOCK.search(p.read_text())]
_RUNNER = """
import json, sys, traceback
import torch
results = {}
for name, script in json.load(sys.stdin).items():
    torch.manual_seed(0)
    try:
        exec(compile(script, name, "exec"), {"__name__": "__main__"})
        results[name] = None
    except BaseException:
        results[name] = traceback.format_exc()[-2000:]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory) -> dict[str, str | None]:
    scripts = {}
    for path in FILES_WITH_CODE:
        blocks = _PYTHON_BLOCK.findall(path.read_text(encoding="utf-8"))
        scripts[path.stem] = "\n\n".join(f"# --- block {i + 1}\n{block}" for i, block in enumerate(blocks))
    result = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(scripts), capture_output=True,
                            text=True, timeout=600, cwd=tmp_path_factory.mktemp("samples"))
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", FILES_WITH_CODE, ids=[p.stem for p in FILES_WITH_CODE])
def test_code_samples_run(path, sample_results):
    assert sample_results[path.stem] is None, sample_results[path.stem]
