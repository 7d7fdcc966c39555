"""The README's and the site's examples cannot drift: every Python block runs here as a module,
every shell block runs in tests/processes/test_docs_shell.py, and a block that does neither
says why (tests/docs/blocks.py tells the markers)."""

import importlib
import re
import sys
from pathlib import Path

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

from tests.basics import ROOT
from tests.docs.blocks import SHELL_PAGES, Block, blocks, markdown_files

# pymdownx.snippets' block form, which no Python formatter takes for code:
# --8<--, then one FILE or FILE:SECTION a line, then --8<--.
_INCLUDE = re.compile(r"^--8<--\n(?P<files>(?:[^\n]+\n)+?)--8<--$", re.MULTILINE)


def included(block: Block) -> list[str]:
    return [
        line.split(":")[0]
        for files in _INCLUDE.findall(block.text)
        for line in files.splitlines()
        if line.strip()
    ]


_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in blocks(path)]


def python_examples() -> list[CodeExample]:
    """pytest-examples' view of the Python blocks that run (the others say why not)."""
    running = {(block.path, block.line) for block in all_blocks() if block.is_python and block.runs}
    found = find_examples(*markdown_files())
    return [example for example in found if (example.path, example.start_line) in running]


@pytest.mark.parametrize("example", python_examples(), ids=str)
def test_the_python_block_runs(
    example: CodeExample, eval_example: EvalExample, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block runs as a module. `my_api` is the app the Protect page shows whole."""
    example_api = importlib.import_module("tests.verifier.example_api")
    monkeypatch.setitem(sys.modules, "my_api", example_api)
    eval_example.run(example)


def test_every_shell_and_python_block_runs_or_says_why_not() -> None:
    """An unmarked shell block is on a page whose blocks the process test runs; a `run by`
    block includes a file and names the test that runs it."""
    unchecked = []
    for block in all_blocks():
        if not (block.is_shell or block.is_python):
            continue
        page = str(block.path.relative_to(ROOT))
        if block.marker == "run by":
            if not included(block) or not (ROOT / block.why).is_file():
                unchecked.append(f"{block.where}: `run by` needs an included file and a test")
        elif block.runs and block.is_shell and page not in SHELL_PAGES:
            unchecked.append(f"{block.where}: a shell block on a page that no test runs")
    assert [] == unchecked


def test_an_output_block_follows_a_shell_block_that_runs() -> None:
    """Shown output is compared with what the block before it printed, so it follows one."""
    stray = []
    for path in markdown_files():
        previous: Block | None = None
        for block in blocks(path):
            if block.is_output and not (previous and previous.is_shell and previous.runs):
                stray.append(block.where)
            previous = block
    assert [] == stray


def test_the_pages_that_run_exist() -> None:
    assert [] == [page for page in SHELL_PAGES if not (ROOT / page).is_file()]


def test_included_files_exist() -> None:
    """pymdownx.snippets fails the site's build on a missing file; this says so sooner."""
    missing = [
        f"{block.where}: {name}"
        for block in all_blocks()
        for name in included(block)
        if not (ROOT / name).is_file()
    ]
    assert [] == missing


def test_the_readme_is_short_and_its_links_resolve() -> None:
    """The README is the package's PyPI page too: at most about 150 lines, and its relative
    links (to the site's pages in docs/) name files of the repository."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    broken = [
        target
        for target in _LINK.findall(text)
        if "://" not in target and not (ROOT / Path(target)).exists()
    ]
    assert len(text.splitlines()) <= 150
    assert [] == broken


def command_lines(block: Block) -> list[tuple[int, str]]:
    """The block's lines that a shell reads as commands: not in a here-document, nor inside a
    single-quoted string carried over from the line before."""
    found = []
    heredoc_end: str | None = None
    quoted = False
    for number, line in enumerate(block.text.splitlines(), start=block.line + 1):
        if heredoc_end is not None:
            heredoc_end = None if line.strip() == heredoc_end else heredoc_end
            continue
        if not quoted:
            found.append((number, line.strip()))
        quoted ^= line.count("'") % 2 == 1
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
        if heredoc:
            heredoc_end = heredoc[1]
    return found


def test_pasting_a_shell_block_runs_no_answer_and_no_bare_python() -> None:
    """Answers are in output blocks or `#` comments, never bare lines that a paste would run;
    Python is the venv's (`.venv/bin/python`), which has the project installed."""
    bad = []
    for block in all_blocks():
        if not block.is_shell:
            continue
        where = block.path.relative_to(ROOT)
        for number, line in command_lines(block):
            if line.startswith(("{", "[", "HTTP/")):
                bad.append(f"{where}:{number}: {line[:40]}")
            if re.match(r"(.*[|;&(]\s*)?python3? ", line.split("#")[0]):
                bad.append(f"{where}:{number}: bare python")
    assert [] == bad
