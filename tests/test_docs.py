"""The README and docs/: short README, every page reachable, no dead link.

Relative links (``[text](path)``, ``![alt](path)``, with an optional
``#anchor``) in README.md and docs/*.md must name a file of the tree and, for
a Markdown target, a heading of it (GitHub's anchor rule). Links inside fenced
code blocks and to other sites are not checked.
"""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = osp.join(ROOT, 'README.md')
DOCS = sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))
PAGES = [README] + DOCS
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^(```|~~~).*?^\1', re.M | re.S)


def _prose(path):
    """The file's text without its fenced code blocks."""
    with open(path, encoding='utf-8') as f:
        return FENCE.sub('', f.read())


def github_anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped,
    spaces to hyphens."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    """Every anchor of a Markdown file (repeated headings get -1, -2 ...)."""
    found, seen = set(), {}
    for line in _prose(path).splitlines():
        match = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not match:
            continue
        slug = github_anchor(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f'{slug}-{count}')
    return found


def relative_links(path):
    """(target path, anchor or None) of each relative link in ``path``."""
    for target in LINK.findall(_prose(path)):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # http:, mailto: ...
            continue
        file_part, _, anchor = target.partition('#')
        yield file_part, anchor or None


def test_github_anchor():
    assert github_anchor("CPU: mmcv's CUDA-only ops") == \
        'cpu-mmcvs-cuda-only-ops'
    assert github_anchor('What `make demo` does and prints') == \
        'what-make-demo-does-and-prints'
    assert github_anchor('Visualization: tools/analysis_tools/visualize.py') \
        == 'visualization-toolsanalysis_toolsvisualizepy'


@pytest.mark.parametrize('page', PAGES, ids=lambda p: osp.relpath(p, ROOT))
def test_relative_links_resolve(page):
    broken = []
    for file_part, anchor in relative_links(page):
        target = (osp.normpath(osp.join(osp.dirname(page), file_part))
                  if file_part else page)
        if not osp.exists(target):
            broken.append(f'{file_part}: no such file')
        elif anchor and target.endswith('.md') and \
                anchor not in anchors(target):
            broken.append(f'{file_part}#{anchor}: no such heading')
    assert not broken, f'{osp.relpath(page, ROOT)}: {broken}'


def test_readme_is_short():
    with open(README, encoding='utf-8') as f:
        lines = f.read().splitlines()
    assert len(lines) <= 260, f'README.md has {len(lines)} lines'


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        osp.normpath(osp.join(ROOT, file_part))
        for file_part, _ in relative_links(README)
    }
    assert DOCS, 'docs/*.md missing'
    unlinked = [osp.relpath(p, ROOT) for p in DOCS if p not in linked]
    assert not unlinked, f'not linked from README.md: {unlinked}'


def test_every_picture_is_shown():
    shown = {
        osp.normpath(osp.join(osp.dirname(page), file_part))
        for page in PAGES for file_part, _ in relative_links(page)
    }
    pictures = glob.glob(osp.join(ROOT, 'docs', 'pictures', '*.png'))
    assert pictures
    unshown = [osp.relpath(p, ROOT) for p in pictures if p not in shown]
    assert not unshown, f'not shown on any page: {unshown}'
