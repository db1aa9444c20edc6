"""Measured accuracies kept as a CSV file, one row per model and data set, so a long evaluation resumes.

``python -m cvviz evaluate`` appends a row as each model finishes (the whole file is rewritten to a
temporary name and renamed over the old one, so a run killed mid-write never leaves half a row); a later
run with the same folder, sample and weights skips the models already there. The compare page reads the
same file to show the measured figures beside the published ones. Reading it imports no torch.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.measure.catalog_figures import cache_dir

RESULTS_FILE = "evaluation.csv"
RESULTS_ENV = "CVVIZ_EVALUATION_RESULTS"
"""Environment variable: the results file (default ``evaluation.csv`` in ``$CVVIZ_CACHE_DIR``); replicas
of the app can share one on a common volume."""


class ResultsFileError(CvvizError, OSError):
    """A results file that cannot be read or written."""


@dataclass(frozen=True)
class EvaluationRecord:
    """One model's measured top-1/top-5 (percent) on ``images`` images of ``dataset``.

    ``sample`` is ``"all"`` or the size of the seeded random choice; ``device`` where it ran and
    ``processes`` how many ranks shared the work; ``measured_at`` an ISO 8601 UTC time.
    """

    model: str
    images: int
    top1: float
    top5: float
    correct1: int
    correct5: int
    skipped: int
    weights: str
    dataset: str
    sample: str
    device: str
    processes: int
    seconds: float
    measured_at: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two rows the same measurement: a later run skips a model with this key."""
        return (self.model, self.dataset, self.sample, self.weights)


COLUMNS = tuple(f.name for f in fields(EvaluationRecord))
_TYPES = {"images": int, "correct1": int, "correct5": int, "skipped": int, "processes": int,
          "top1": float, "top5": float, "seconds": float}  # fmt: skip


def default_results_path() -> Path:
    """Where the CLI writes and the compare page reads measured accuracies by default."""
    return Path(os.environ.get(RESULTS_ENV) or cache_dir() / RESULTS_FILE)


def read_results(path: str | Path) -> list[EvaluationRecord]:
    """The rows of ``path`` (none when it does not exist); rows that are not complete are left out."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                try:
                    values = {name: _TYPES.get(name, str)(row[name]) for name in COLUMNS}
                except (KeyError, TypeError, ValueError):
                    continue
                records.append(EvaluationRecord(**values))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ResultsFileError(
            _("Could not read the results file {path}: {reason}.").format(path=path, reason=exc)
        ) from exc
    return records


def append_result(path: str | Path, record: EvaluationRecord) -> None:
    """Add ``record`` to ``path``, replacing a row with the same key, atomically (write, then rename)."""
    path = Path(path)
    kept = [r for r in read_results(path) if r.key != record.key]
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in [*kept, record]:
                writer.writerow(
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(row).items()}
                )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ResultsFileError(
            _("Could not write the results file {path}: {reason}.").format(
                path=path, reason=exc.strerror or exc
            )
        ) from exc


def latest_by_model(records: list[EvaluationRecord]) -> dict[str, EvaluationRecord]:
    """Each model's most recent measurement with its published (pretrained) weights: what the compare
    page shows beside the published accuracy."""
    latest: dict[str, EvaluationRecord] = {}
    for record in records:
        if record.weights != "pretrained" or not record.images:
            continue
        if record.model not in latest or record.measured_at >= latest[record.model].measured_at:
            latest[record.model] = record
    return latest
