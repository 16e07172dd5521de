"""The file-reading rules of `client import` and `client export`, as plain functions."""

from __future__ import annotations

import ctypes
import sys

import pytest

from exactlink.errors import InvalidInput, UsageError
from exactlink.services import exporting, tabular


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Numéro d'entreprise", "numerodentreprise"),
        ("E-mail", "email"),
        ("  BTW-nr. ", "btwnr"),
        ("N° TVA", "ntva"),
        ("access_granted", "accessgranted"),
        ("RAISON SOCIALE", "raisonsociale"),
        ("Coöperatie", "cooperatie"),
    ],
)
def test_header_key(header, key):
    assert tabular.header_key(header) == key


def test_every_alias_means_one_column():
    seen: dict[str, str] = {}
    for column, aliases in tabular.HEADERS.items():
        for alias in aliases:
            key = tabular.header_key(alias)
            assert seen.setdefault(key, column) == column, f"{alias!r} means two columns"


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ("name,vat", ","),
        ("Naam;BTW-nummer;E-mail", ";"),
        ("Naam\tBTW\tKvK", "\t"),
        ('"Naam, voluit";BTW', ";"),  # a comma inside quotes does not count
        ("name", ","),
    ],
)
def test_sniff_delimiter(line, delimiter):
    assert tabular.sniff_delimiter(line) == delimiter


def test_decode():
    assert tabular.decode(b"\xef\xbb\xbfname\n", "x") == ("name\n", None)
    text, notice = tabular.decode("naam\n’t Hoekje\n".encode("cp1252"), "x.csv")
    assert text == "naam\n’t Hoekje\n"
    assert notice is not None and notice.details == {"encoding": "cp1252"}
    assert "Windows-1252" in notice.message
    assert tabular.decode(b"a\x81", "x")[1].details == {"encoding": "latin-1"}
    assert tabular.decode("é".encode("utf-16"), "x", "UTF-16") == ("é", None)
    with pytest.raises(UsageError):
        tabular.decode(b"a", "x", "no-such-codec")
    with pytest.raises(InvalidInput):
        tabular.decode(b"\xff\xfea\x00", "x")


def test_more_specific_name_column_wins_either_order():
    for text in (
        "Naam;Bedrijfsnaam\nJan;Bakkerij Jan BV\n",
        "Bedrijfsnaam;Naam\nBakkerij Jan BV;Jan\n",
    ):
        parsed = tabular.parse_csv(text, "x")
        assert parsed.rows[0].values == {"name": "Bakkerij Jan BV"}
        assert parsed.notices[0].details == {"columns": ["Naam"]}


@pytest.mark.parametrize(
    ("locale_name", "comma"),
    [
        ("nl_BE.UTF-8", True),
        ("fr-BE", True),
        ("de_DE@euro", True),
        ("en_US.UTF-8", False),
        ("en-GB", False),
        ("C.UTF-8", False),
        ("POSIX", False),
        (None, False),
        ("", False),
    ],
)
def test_uses_decimal_comma(locale_name, comma):
    assert exporting.uses_decimal_comma(locale_name) is comma


def test_delimiter_for():
    assert exporting.delimiter_for("nl", "C.UTF-8") == ";"
    assert exporting.delimiter_for("en", "nl_NL.UTF-8") == ";"
    assert exporting.delimiter_for("en", "en_US.UTF-8") == ","
    assert exporting.delimiter_for("en", None) == ","


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+31 20 123", "'+31 20 123"),
        ("-Min BV", "'-Min BV"),
        ("@Home", "'@Home"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Bakkerij", "Bakkerij"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_neutralise_and_back(value, shown):
    from exactlink.services.importing import unneutralise

    assert exporting.neutralise(value) == shown
    assert unneutralise(exporting.neutralise(value)) == value


def _clear_locale_env(monkeypatch):
    for variable in ("LC_ALL", "LC_NUMERIC", "LANG"):
        monkeypatch.delenv(variable, raising=False)


def test_system_locale_reads_the_environment_first(monkeypatch):
    _clear_locale_env(monkeypatch)
    monkeypatch.setenv("LANG", "nl_BE.UTF-8")
    monkeypatch.setenv("LC_NUMERIC", "fr_BE.UTF-8")
    assert exporting.system_locale() == "fr_BE.UTF-8"


def test_system_locale_on_posix_without_environment(monkeypatch):
    _clear_locale_env(monkeypatch)
    monkeypatch.setattr(sys, "platform", "linux")
    assert exporting.system_locale() is None


def test_system_locale_on_windows_asks_for_the_regional_format(monkeypatch):
    """The Windows branch, with the platform faked: the user's regional format (nl-BE)."""
    _clear_locale_env(monkeypatch)
    monkeypatch.setattr(sys, "platform", "win32")

    class Kernel32:
        @staticmethod
        def GetUserDefaultLocaleName(buffer, size):
            assert size == 85
            buffer.value = "nl-BE"
            return len("nl-BE") + 1

    class WinDLL:
        kernel32 = Kernel32()

    monkeypatch.setattr(ctypes, "windll", WinDLL(), raising=False)
    assert exporting.system_locale() == "nl-BE"
    assert exporting.delimiter_for("en", exporting.system_locale()) == ";"

    class Failing:
        @staticmethod
        def GetUserDefaultLocaleName(buffer, size):
            return 0

    monkeypatch.setattr(WinDLL, "kernel32", Failing())
    assert exporting.system_locale() is None
