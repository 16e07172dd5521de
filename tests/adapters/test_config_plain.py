"""config.toml's plain reader (``read_plain``) gives exactly what tomllib gives, or steps aside.

Every command reads the config; the plain reader spares them tomllib's import. It must never
read a file differently from tomllib: each case here is either read the same or left to tomllib
(None), and a broken file still gets tomllib's error through ``Config.load``.
"""

from __future__ import annotations

import random
import tomllib

import pytest
import tomli_w

from exactlink.adapters.config import Config, ConfigError, read_plain

PLAIN = [
    "",
    "\n\n",
    'default_portal = "Kantoor Peeters"\n',
    'default_portal = "K é ü ß"\nlanguage = "nl"\n',
    'a = ""\n',
    "n = 0\nm = -12\nbig = 123456789012345678901234567890\n",
    "t = true\nf = false\n",
    '[exact]\nregion = "be"\nclient_id = "{0a1b-2c}"\ninsecure_storage = false\n',
    'x = 1\n\n[exact]\nregion = "be"\n\n[store]\nurl = "postgresql://anna@db.firm.test/el"\n',
    "[a.b]\nc = 1\n[a]\nd = 2\n",  # a super-table defined after its sub-table: valid TOML
    "[a]\n[a.b]\n[a.c]\nx = 1\n",
    "1234 = 5\nkey-with_dash = 6\n",
    'u = "\u0085 \u202e c1 and bidi are allowed in TOML strings"\n',
]

NOT_PLAIN = [
    "# a comment\nx = 1\n",
    "x = 1 # a comment\n",
    'x = "a\\"b"\n',  # an escape
    'x = "tab\there"\n',  # a tab: valid TOML, but not the plain form
    "x = 'literal'\n",
    'x = """multi"""\n',
    "x = 1.5\n",
    "x = 1_000\n",
    "x = 0x10\n",
    "x = +1\n",
    "x = -0\n",
    "x = [1, 2]\n",
    "x = {a = 1}\n",
    "x = 2026-12-02\n",
    "a.b = 1\n",
    '"quoted" = 1\n',
    "x=1\n",
    "  x = 1\n",
    "x = 1 \n",
    "x = 1\r\n",
    "[[array]]\nx = 1\n",
    "[ a ]\n",
    "---- = 1\n",
]

BROKEN = [
    "x = 1\nx = 2\n",  # a repeated key
    "[a]\n[a]\n",  # a repeated table
    "a = 1\n[a]\n",  # a value, then a table of the same name
    "[a]\nb = 1\n[a.b]\n",
    "[a.b]\n[a]\nb = 1\n",
    "x = \n",
    'x = "unterminated\n',
    'x = "a" "b"\n',
    'x = "ctrl\x01"\n',
    'x = "del\x7f"\n',
    "x = truee\n",
    "[a\n",
    "= 1\n",
    "x\n",
    "\ufeffx = 1\n",
    "x = 007\n",
    "[a.]\n",
    "[]\n",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_files_read_as_tomllib_reads_them(text: str) -> None:
    assert read_plain(text.encode()) == tomllib.loads(text)


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_other_valid_toml_is_left_to_tomllib(text: str, tmp_path) -> None:
    assert read_plain(text.encode()) is None
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert Config.load(path).data == tomllib.loads(text)


@pytest.mark.parametrize("text", BROKEN)
def test_broken_files_are_left_to_tomllib_and_refused(text: str, tmp_path) -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    assert read_plain(text.encode()) is None
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="Cannot read"):
        Config.load(path)


def test_invalid_utf8_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'default_portal = "K\xe9"\n')
    assert read_plain(path.read_bytes()) is None
    with pytest.raises(ConfigError, match="Cannot read"):
        Config.load(path)


def _random_value(rng: random.Random, depth: int):
    kind = rng.choice(["str", "int", "bool", "table"] if depth < 3 else ["str", "int", "bool"])
    if kind == "int":
        return rng.choice([0, 1, -1, 7, 8765, -(2**40), 2**70])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "table":
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    alphabet = "abcXYZ09 -_.:/{}@é€\u0085\u202e" + '"\\\t\n\x01\x7f'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _random_key(rng: random.Random) -> str:
    return rng.choice(["exact", "store", "url", "region", "a-b", "x_1", "9", "k k", "é", "a.b"])


def test_whatever_tomli_w_writes_is_read_back_the_same() -> None:
    """Configs as exactlink writes them (tomli-w), random shapes and values, some plain, some
    not: the config read back is always the config written."""
    rng = random.Random(20261202)
    plain = 0
    for _ in range(3000):
        data = {_random_key(rng): _random_value(rng, 0) for _ in range(rng.randint(0, 5))}
        text = tomli_w.dumps(data)
        fast = read_plain(text.encode())
        if fast is not None:
            plain += 1
            assert fast == data == tomllib.loads(text), text
    assert plain > 300  # the plain form is the common one, so the fast path is really tested
