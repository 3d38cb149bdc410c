"""What every measure is handed: the profile, the data set, the two servers, the load client
and the tokens, and the list of errors that fails the run."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dataset import Dataset
from bench.load import Load
from bench.log import log
from bench.procs import Server
from bench.settings import Profile


@dataclass
class Context:
    profile: Profile
    dataset: Dataset
    service: Server
    baselines: Server
    load: Load
    admin_token: str
    viewer_token: str
    offices_tsv: Path
    reserved: str
    errors: list[str]

    @property
    def viewer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.viewer_token}"}

    def error(self, message: str) -> None:
        log("ERROR " + message)
        self.errors.append(message)

    def check_load(self, label: str, result: dict[str, Any]) -> None:
        if result["errors"]:
            self.error(
                f"{label}: {result['errors']} errors "
                + str({k: v for k, v in result.items() if k.startswith("errors_") and v})
            )
