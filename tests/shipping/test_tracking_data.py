"""Tracking-number formats read from the data files: the data's own test numbers are the proof."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colis.shipping import checksums
from colis.shipping.tracking import (
    format_match,
    tracking_data,
    tracking_data_dir,
    tracking_detect,
    tracking_fits,
    tracking_matches,
    tracking_normalize,
)


def _cases(kind: str) -> list[tuple[str, str, str, str]]:
    """(courier_code, format name, format id, number) for every test number of `kind`."""
    folder = tracking_data_dir()
    if folder is None:
        return []
    cases = []
    for path in sorted(folder.glob("*.json")):
        courier = json.loads(path.read_text(encoding="utf-8"))
        for spec in courier["tracking_numbers"]:
            for number in spec.get("test_numbers", {}).get(kind, []):
                cases.append((courier["courier_code"], spec["name"], spec.get("id", ""), number))
    return cases


def _ids(cases: list[tuple[str, str, str, str]]) -> list[str]:
    return [f"{c}/{name}/{number.strip()}" for c, name, _, number in cases]


VALID = _cases("valid")
INVALID = _cases("invalid")


def _format(courier_code: str, name: str):
    (fmt,) = [
        f for f in tracking_data().formats if f.courier_code == courier_code and f.name == name
    ]
    return fmt


def test_the_data_is_found_and_every_format_compiles():
    data = tracking_data()

    assert data.available, "the tracking-number data folder was not found"
    assert data.problems == ()
    assert len(data.formats) == sum(
        len(json.loads(p.read_text())["tracking_numbers"]) for p in data.source.glob("*.json")
    )
    assert {"ups", "usps", "fedex", "dhl", "amazon", "canada_post", "s10"} <= set(data.couriers)


def test_every_checksum_named_in_the_data_is_implemented():
    names = {
        (spec.get("validation") or {}).get("checksum", {}).get("name")
        for path in tracking_data().source.glob("*.json")
        for spec in json.loads(path.read_text())["tracking_numbers"]
    } - {None}

    assert names <= set(checksums.CHECKSUMS)
    assert all(f.checksum is not None for f in tracking_data().formats if f.checksum_spec)


@pytest.mark.parametrize(("courier", "name", "format_id", "number"), VALID, ids=_ids(VALID))
def test_every_valid_number_of_the_data_validates_and_is_detected(courier, name, format_id, number):
    # when
    match = format_match(_format(courier, name), tracking_normalize(number))
    matches = tracking_matches(number)

    # then: it fits its own format, check digit included
    assert match is not None
    assert match.number == tracking_normalize(number)
    assert tracking_fits(number, {courier}) is True
    assert courier in {m.courier_code for m in matches}
    # and detection names its courier, unless the number also fits another courier's format
    # just as well (a 12-digit Purolator number is also a valid FedEx Express one)
    detected = tracking_detect(number)
    rivals = {m.courier_code for m in matches if m.proven == detected.proven} - {courier}
    if not rivals:
        assert detected.courier_code == courier


@pytest.mark.parametrize(("courier", "name", "format_id", "number"), INVALID, ids=_ids(INVALID))
def test_every_invalid_number_of_the_data_fails_its_format(courier, name, format_id, number):
    assert format_match(_format(courier, name), tracking_normalize(number)) is None


def test_known_ups_numbers():
    assert tracking_fits("1Z5R89390357567127", {"ups"}) is True
    assert tracking_fits("1Z879E930346834440", {"ups"}) is True
    assert tracking_fits("1Z5R89390357567128", {"ups"}) is False  # bad check digit
    assert tracking_detect("1Z5R89390357567128") is None

    match = tracking_detect("1z 410e7w 0392751591 ")

    assert match is not None
    assert (match.courier_code, match.format_id, match.number) == (
        "ups",
        "ups",
        "1Z410E7W0392751591",
    )
    assert match.tracking_url == (
        "https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z410E7W0392751591"
    )


def test_normalize_removes_every_space_and_upper_cases():
    assert tracking_normalize("  1z 5r89 3903\t5756 7127\n") == "1Z5R89390357567127"
    assert tracking_normalize("") == ""


def test_serial_prefixes_from_the_data_take_part_in_the_check_digit():
    # OnTrac C numbers are checked as "4" + serial (serial_number_format.prepend_if)
    assert tracking_fits("C11031500001879", {"ontrac"}) is True
    assert tracking_fits("C11031500001889", {"ontrac"}) is False


def test_s10_numbers_need_a_known_postal_country():
    assert tracking_fits("RB123456785GB", {"s10"}) is True
    assert tracking_fits("RB123456785XX", {"s10"}) is False
    match = tracking_detect("RB123456785US")
    assert (match.courier_code, match.country) == ("s10", "US")
    assert "s10:US" in match.refs


def test_refs_narrow_a_courier_to_some_formats_or_one_country():
    dhl_express_number = "3318810025"

    assert tracking_fits(dhl_express_number, {"dhl:dhl_express"}) is True
    assert tracking_fits(dhl_express_number, {"dhl:dhl_ecommerce"}) is False
    assert tracking_fits("RB123456785US", {"s10:US"}) is True
    assert tracking_fits("RB123456785GB", {"s10:US"}) is False
    assert tracking_fits("anything", {"not_in_the_data"}) is None


def test_without_data_every_number_goes_and_none_is_detected(settings, tmp_path):
    # given a configured folder that holds no data
    settings.COLIS_TRACKING_DATA_DIR = str(tmp_path / "missing")

    # then
    assert tracking_data_dir() is None
    assert not tracking_data().available
    assert tracking_detect("1Z5R89390357567127") is None
    assert tracking_fits("1Z5R89390357567128", {"ups"}) is None


def test_the_setting_points_at_another_data_folder(settings, tmp_path):
    # given one courier file of our own, in the data's format
    (tmp_path / "couriers").mkdir()
    (tmp_path / "couriers" / "acme.json").write_text(
        json.dumps(
            {
                "name": "Acme",
                "courier_code": "acme",
                "tracking_numbers": [
                    {
                        "name": "Acme 8",
                        "id": "acme_8",
                        "regex": [
                            "\\s*A\\s*C\\s*(?<SerialNumber>([0-9]\\s*){5})",
                            "(?<CheckDigit>[0-9])",
                        ],
                        "validation": {"checksum": {"name": "mod7", "modulo": 7}},
                        "tracking_url": "https://acme.example/t/%s",
                        "test_numbers": {"valid": ["AC123454"], "invalid": ["AC123455"]},
                    }
                ],
            }
        )
    )
    settings.COLIS_TRACKING_DATA_DIR = str(tmp_path)

    # then
    assert tracking_data().source == Path(tmp_path / "couriers")
    match = tracking_detect("ac 12345 4")
    assert (match.courier_code, match.tracking_url) == ("acme", "https://acme.example/t/AC123454")
    assert tracking_detect("AC123455") is None
    assert tracking_detect("1Z5R89390357567127") is None


def test_a_format_with_an_unknown_checksum_is_skipped_and_reported(settings, tmp_path):
    (tmp_path / "x.json").write_text(
        json.dumps(
            {
                "name": "X",
                "courier_code": "x",
                "tracking_numbers": [
                    {
                        "name": "X",
                        "regex": "(?<SerialNumber>[0-9]{4})(?<CheckDigit>[0-9])",
                        "validation": {"checksum": {"name": "mod_unheard_of"}},
                    },
                    {"name": "Y", "regex": "Y[0-9]{4}", "validation": {}},
                ],
            }
        )
    )
    settings.COLIS_TRACKING_DATA_DIR = str(tmp_path)

    data = tracking_data()

    assert [f.format_id for f in data.formats] == ["y"]
    assert len(data.problems) == 1 and "mod_unheard_of" in data.problems[0]


_FEDEX = {"weightings": [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1], "modulo1": 11, "modulo2": 10}


@pytest.mark.parametrize(
    ("algorithm", "serial", "check", "spec", "ok"),
    [
        ("mod10", "5R8939035756712", "7", {"evens_multiplier": 1, "odds_multiplier": 2}, True),
        ("mod7", "331881002", "5", {}, True),
        ("mod7", "331881002", "4", {}, False),
        ("luhn", "7992739871", "3", {}, True),
        ("luhn", "7992739871", "4", {}, False),
        ("s10", "12345678", "5", {"weightings": [8, 6, 4, 2, 3, 5, 9, 7], "modulo": 11}, True),
        ("mod_37_36", "008182709980000020033350276", "C", {"modulo": 36}, True),
        ("mod_37_36", "008182709980000020033350276", "A", {"modulo": 36}, False),
        ("sum_product_with_weightings_and_modulo", "98657878885", "5", _FEDEX, True),
        ("sum_product_with_weightings_and_modulo", "99657878885", "5", _FEDEX, False),
    ],
)
def test_checksums_on_textbook_values(algorithm, serial, check, spec, ok):
    assert checksums.CHECKSUMS[algorithm](serial, check, spec) is ok


def test_colis_check_reports_the_data(settings, tmp_path, capsys):
    from colis.cli import _check_tracking_data

    count = len(tracking_data().formats)
    _check_tracking_data()
    settings.COLIS_TRACKING_DATA_DIR = str(tmp_path)
    _check_tracking_data()

    found, missing = capsys.readouterr().out.splitlines()
    assert found.startswith(f"tracking:  {count} number formats from ")
    assert "no number format data" in missing
