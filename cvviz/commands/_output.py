"""Output helpers shared by the CLI commands: JSON, CSV, aligned tables, a download progress bar, and saving
a trained model."""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence

EXIT_ERROR = 2


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def save_model(obj: object, path: str) -> None:
    """``torch.save`` a trained model (a state_dict, or a lab's settings and state_dict) to ``path``; a path
    that cannot be written is one sentence."""
    import torch

    from cvviz.errors import CvvizError
    from cvviz.i18n import _

    try:
        torch.save(obj, path)
    except OSError as exc:
        raise CvvizError(
            _("Could not save the model to {path}: {reason}.").format(path=path, reason=exc.strerror or exc)
        ) from exc


def print_records(records: list[dict], as_json: bool, as_csv: bool) -> bool:
    """Print ``records`` as JSON or CSV when asked; False when a human-readable table is wanted instead."""
    if as_json:
        print_json(records)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    else:
        return False
    return True


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def print_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    """Aligned columns (by terminal width, so Korean headers line up too)."""
    cells = [[str(c) for c in header]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print(
            "  ".join(cell + " " * (width - display_width(cell)) for cell, width in zip(row, widths)).rstrip()
        )


def terminal_progress(label: str) -> Callable[[int, int | None], None]:
    """A download progress bar drawn on stderr."""

    def update(done: int, total: int | None) -> None:
        mb = done / 2**20
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"\r{label} [{bar}] {mb:6.1f}/{total / 2**20:.1f} MB"
        else:
            text = f"\r{label} {mb:6.1f} MB"
        sys.stderr.write(text)
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update
