"""The documents point at things that exist: files, tests and modules named in README.md and
docs/*.md are checked against the tree, so a rename that forgets the docs fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from appliance.settings import documented_settings
from model_server.settings import documented_settings as model_server_settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# `tests/appliance/identity/test_passwords.py::test_it_hashes_...`, parametrized ids allowed.
_TEST_REFERENCE = re.compile(r"(?<![\w/.-])(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?")
# A path in the tree as the documents write it: from a top-level folder, down to a file with
# an extension (`appliance/crypto/aead.py`) or a folder (`appliance/crypto/`). Paths inside
# links (`../appliance/...`) and URLs are preceded by a slash or a dot, so they are not taken.
_TOP = "appliance|webui|model_server|speech_io|tests|ansible|scripts|bench|eval|docs"
_MODULE_PATH = re.compile(
    rf"(?<![\w/.-])((?:{_TOP})/(?:[\w.-]+/)*(?:[\w-]+(?:\.[a-z0-9]+)+|[\w-]+/))"
)
_SETTING_ROW = re.compile(
    r"^\| `((?:APPLIANCE|MODEL_SERVER)_[A-Z_]+)` \| (?:`([^`]*)`|\*empty\*) \|", re.M
)


def _relative_links(document: Path) -> list[str]:
    text = _FENCE.sub("", document.read_text())
    return [t for t in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def _anchors(document: Path) -> set[str]:
    """GitHub's ids for the headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", _FENCE.sub("", document.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in _relative_links(document):
        path, _, anchor = target.partition("#")
        linked = document.parent / path if path else document
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
        ):
            broken.append(target)
    return broken


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def missing_tests(text: str) -> list[str]:
    missing = []
    for file, name in _TEST_REFERENCE.findall(text):
        path = ROOT / file
        if not path.is_file() or name not in _test_names(path):
            missing.append(f"{file}::{name}")
    return missing


def missing_paths(text: str) -> list[str]:
    return [p for p in _MODULE_PATH.findall(text) if not (ROOT / p).exists()]


def test_every_relative_link_points_at_a_file_that_exists() -> None:
    broken = {d.name: broken_links(d) for d in DOCUMENTS}
    assert not {name: links for name, links in broken.items() if links}


def test_every_cited_test_exists_in_the_file_named() -> None:
    cited = {d.name: missing_tests(d.read_text()) for d in DOCUMENTS}
    assert not {name: tests for name, tests in cited.items() if tests}


def test_every_module_path_named_exists() -> None:
    named = {d.name: missing_paths(d.read_text()) for d in DOCUMENTS}
    assert not {name: paths for name, paths in named.items() if paths}


def test_every_safeguard_in_the_security_document_cites_a_test() -> None:
    security = (ROOT / "docs" / "security.md").read_text()
    sections = re.split(r"^## ", security, flags=re.M)[1:]
    safeguards = [s for s in sections if "164.312" in s.splitlines()[0]]
    assert len(safeguards) >= 8
    uncited = [s.splitlines()[0] for s in safeguards if not _TEST_REFERENCE.search(s)]
    assert not uncited


def test_the_readme_links_every_document_in_docs() -> None:
    linked = {t.partition("#")[0] for t in _relative_links(ROOT / "README.md")}
    documents = {f"docs/{d.name}" for d in DOCUMENTS[1:]}
    assert documents <= linked, documents - linked


def test_the_readme_settings_table_agrees_with_the_code() -> None:
    rows = _SETTING_ROW.findall((ROOT / "README.md").read_text())
    every = [*documented_settings(), *model_server_settings()]
    defaults = {env: default for env, default, _ in every}
    assert rows, "the README lists the settings a newcomer changes"
    assert {env: defaults.get(env) for env, _ in rows} == dict(rows)


def test_the_checks_find_what_does_not_exist(tmp_path: Path) -> None:
    document = tmp_path / "doc.md"
    document.write_text(
        "# The `doc` (draft)\n"
        "[gone](no-such-file.md#part) [web](https://example.org/x.md) [here](#the-doc-draft) "
        "[nowhere](#no-such-heading)\n"
        "`tests/test_docs.py::test_no_such_test` and `tests/test_docs.py::test_the_checks_find_"
        "what_does_not_exist[case]`\n"
        "`appliance/crypto/aead.py`, `ansible/roles/appliance/templates/appliance.service.j2`, "
        "`appliance/crypto/no_such.py`, `appliance/no_such/`\n"
    )
    text = document.read_text()
    assert broken_links(document) == ["no-such-file.md#part", "#no-such-heading"]
    assert missing_tests(text) == ["tests/test_docs.py::test_no_such_test"]
    assert missing_paths(text) == ["appliance/crypto/no_such.py", "appliance/no_such/"]
