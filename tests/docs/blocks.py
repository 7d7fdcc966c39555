"""The code blocks of the README and the documentation site, and what each promises.

Every shell and Python block is run in CI or says why not, with an HTML comment on the line
before its fence (docs/writing-docs.md tells the rules to writers):

- no comment: the block runs. A Python block runs as a module (tests/docs/test_examples.py);
  a shell block runs, in page order, in one bash per page against real processes
  (tests/processes/test_docs_shell.py), on a page listed in SHELL_PAGES.
- `<!-- not run: REASON -->`: the block is shown only (a step the test does its own way, a
  fragment, a command that needs a machine of its own).
- `<!-- run by: PATH -->`: the block includes a file of the repository (pymdownx.snippets'
  block form: `--8<--`, then FILE or FILE:SECTION, then `--8<--`, each on a line of its own),
  which the test at PATH runs.

A block whose fence carries `title="output"` is the output of the shell block before it: the
test compares what that block printed, stdout and stderr together, with it. `…` stands for any
text within a line (a token, a time, an id), and a line holding only `…` for any lines."""

import re
from dataclasses import dataclass
from pathlib import Path

from tests.basics import ROOT

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
PYTHON_LANGUAGES = frozenset({"python", "py", "pycon"})

# The pages whose shell blocks run, and the processes the test starts before the first block:
# "services" is the issuer and the resource API as `make run` starts them (demo user
# test/test, the password grant on); "nothing" leaves it to the blocks themselves.
SHELL_PAGES = {
    "README.md": "services",
    "docs/get-started.md": "services",
    "docs/end-to-end.md": "nothing",
    "docs/protect.md": "services",
    "docs/issuer/users.md": "services",
    "docs/issuer/clients.md": "services",
    "docs/issuer/sessions.md": "services",
    "docs/issuer/keys.md": "services",
    "docs/issuer/browser-sign-in.md": "services",
    "docs/sign-in-with-openid-connect.md": "services",
}

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,}) *(?P<lang>[\w+-]*)(?P<info>.*)$")
_MARKER = re.compile(r"^ *<!-- *(?P<kind>not run|run by): *(?P<why>.+?) *-->$")
_TITLE = re.compile(r"""title=(["'])(?P<title>.*?)\1""")


@dataclass(frozen=True)
class Block:
    """One fenced block of a Markdown file."""

    path: Path
    line: int  # of its opening fence, counted from 1
    lang: str
    title: str
    text: str
    marker: str  # "", "not run" or "run by"
    why: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL_LANGUAGES

    @property
    def is_python(self) -> bool:
        return self.lang in PYTHON_LANGUAGES

    @property
    def is_output(self) -> bool:
        return self.title == "output"

    @property
    def runs(self) -> bool:
        return (self.is_shell or self.is_python) and not self.marker


def markdown_files() -> list[Path]:
    """The README and every page of the site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end][indent:])
            end += 1
        marker = _marker_before(lines, index)
        title = _TITLE.search(opening["info"])
        found.append(
            Block(
                path=path,
                line=index + 1,
                lang=opening["lang"].lower(),
                title=title["title"] if title else "",
                text="\n".join(body) + "\n",
                marker=marker[0] if marker else "",
                why=marker[1] if marker else "",
            )
        )
        index = end + 1
    return found


def _marker_before(lines: list[str], fence_index: int) -> tuple[str, str] | None:
    before = fence_index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    match = _MARKER.match(lines[before]) if before >= 0 else None
    return (match["kind"], match["why"]) if match else None


def expected_output(block: Block) -> re.Pattern[str]:
    """The output block as a pattern: `…` any text within a line, a line of `…` any lines."""
    parts: list[str] = []
    for line in block.text.rstrip("\n").split("\n"):
        if line.strip() == "…":
            parts.append("(?:[^\n]*\n)*?")
        else:
            pieces = (re.escape(piece) for piece in line.rstrip().split("…"))
            parts.append("[^\n]*?".join(pieces) + "\n")
    return re.compile("".join(parts))


_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LINE_END = re.compile(r"\r+\n")


def printed(text: str) -> str:
    """What a block printed to the terminal, as an output block shows it: what the screen
    shows of it (no bold or colour), lines without CR or trailing blanks."""
    lines = _LINE_END.sub("\n", _ESCAPE.sub("", text)).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"
