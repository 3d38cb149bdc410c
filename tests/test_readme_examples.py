"""The README's API examples, run as written with bash against `rekam serve`: any answer that
is not 2xx fails the test."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN, ROOT, RekamServe, serving
from tests.helpers import today

# Every request fails loudly on an error status, and so does the script on any failed command.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body -sS "$@"; }
"""

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def api_examples() -> str:
    """The sh blocks of the README's "API overview", in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## API overview\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    assert blocks, "the API overview has no sh block"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def service(server_url: str) -> Iterator[RekamServe]:
    with serving(server_url, "readme") as server:
        yield server


def run_examples(service: RekamServe, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", PRELUDE + api_examples()],
        cwd=folder,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(folder),
            "API": service.base_url + "/api/v1",
            "ADMIN": ADMIN_TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_readme_api_examples_run_as_written(service, tmp_path):
    first = run_examples(service, tmp_path)
    # Run again, as someone trying them twice would: every write is a PUT or a whole batch.
    again = run_examples(service, tmp_path)

    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    # The export at the end holds the batch's count, written over the office's own.
    assert f",{today()},64,loket sore" in first.stdout
    assert "Kota Makassar" in first.stdout
    # The last example revalidates the city's progress, unchanged since it was read.
    assert "304" in first.stdout.splitlines()
