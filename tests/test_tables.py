"""Tables as a visitor reads them: counts with separators, "—" for what was not measured, years as years."""

from __future__ import annotations

from cvviz.formatting import display_value, format_number
from ui.tables import readable


def test_numbers_are_written_in_full_with_separators():
    assert format_number(118013952) == "118,013,952"
    assert format_number(1234.5) == "1,234.5"
    assert format_number(0.05) == "0.05"
    assert format_number(2.0) == "2"
    # Tiny values (a vanishing gradient's norm) as powers of ten, never "0".
    assert format_number(1e-12) == "1×10⁻¹²"
    assert format_number(2.5e-7) == "2.5×10⁻⁷"
    assert format_number(-5e-5) == "-5×10⁻⁵"
    assert format_number(0.0001) == "0.0001"
    assert display_value(None) == display_value(float("nan")) == "—"
    assert display_value(True) == "yes" and display_value("x") == "x"


def test_readable_keeps_counts_numeric_and_writes_gaps_as_a_dash():
    rows = [
        {"model": "LeNet-5", "year": 1998, "params": 61_706, "top-1 %": None, "latency ms": None},
        {"model": "ResNet-50", "year": 2015, "params": 25_557_032, "top-1 %": 80.858, "latency ms": 12.5},
    ]
    shown, config = readable(rows)
    # A full column of numbers stays numeric (it sorts), shown with the reader's separators.
    assert shown[1]["params"] == 25_557_032 and config["params"]["type_config"]["format"] == "localized"
    # Years are names, not amounts: no separators.
    assert "year" not in config and shown[0]["year"] == 1998
    # Gaps are "—", never None; the column's numbers become text with separators.
    assert [row["top-1 %"] for row in shown] == ["—", "80.858"]
    assert [row["latency ms"] for row in shown] == ["—", "12.5"]
    assert "None" not in repr(shown)
    assert rows[0]["top-1 %"] is None  # the caller's rows are left alone


def test_readable_writes_mixed_columns_as_text():
    shown, config = readable([{"value": 6}, {"value": "3×3"}, {"value": 5136}, {"value": False}])
    assert [row["value"] for row in shown] == ["6", "3×3", "5,136", "no"]
    assert "value" not in config
