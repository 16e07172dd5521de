"""Names and identifiers for the seed: Dutch and Belgian companies, people, VAT and KvK numbers.

The check digits are computed here by hand (the sandbox must not depend on the rest of exactlink);
the tests validate them with python-stdnum. Everything takes a seeded ``random.Random``.
"""

from __future__ import annotations

import random
import unicodedata
import uuid

NL_SURNAMES = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "van Dijk",
    "Vermeulen",
    "van der Linden",
    "Koster",
    "Prins",
    "Huisman",
    "Kuipers",
    "Postma",
]
BE_SURNAMES = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Leclercq",
    "Lemaire",
    "Verhaegen",
    "Van Damme",
    "Desmet",
    "Lefèvre",
    "Deprez",
    "Hermans",
    "Michiels",
    "Lenaerts",
]
NL_TRADES = [
    "Bakkerij",
    "Installatietechniek",
    "Bouwbedrijf",
    "Schildersbedrijf",
    "Transport",
    "Hoveniers",
    "Autobedrijf",
    "Administratiekantoor",
    "Loodgieters",
    "Tandartspraktijk",
    "Architecten",
    "Kapsalon",
    "Fietsenmakerij",
    "Slagerij",
    "Drukkerij",
    "Makelaardij",
    "Zeilmakerij",
    "Dakdekkers",
    "Kwekerij",
    "Groothandel",
]
BE_TRADES_NL = [
    "Bouw",
    "Schrijnwerkerij",
    "Brouwerij",
    "Frituur",
    "Elektro",
    "Bakkerij",
    "Garage",
    "Verzekeringen",
    "Immo",
    "Tuinaanleg",
    "Vervoer",
    "Dakwerken",
]
BE_TRADES_FR = [
    "Boulangerie",
    "Brasserie",
    "Menuiserie",
    "Garage",
    "Pharmacie",
    "Café",
    "Imprimerie",
    "Électricité",
    "Boucherie",
    "Transports",
    "Fiduciaire",
    "Château",
]
NL_CITIES = [
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Zwolle",
    "Leiden",
    "Haarlem",
    "Arnhem",
    "Delft",
    "Maastricht",
]
BE_CITIES = [
    "Antwerpen",
    "Gent",
    "Brugge",
    "Leuven",
    "Hasselt",
    "Mechelen",
    "Kortrijk",
    "Liège",
    "Namur",
    "Charleroi",
    "Mons",
    "Wavre",
    "Brussel",
    "Aalst",
    "Genk",
]
NL_FORMS = ["B.V.", "BV", "B.V.", "VOF", "N.V.", "V.O.F."]
BE_FORMS_NL = ["BV", "BVBA", "NV", "CommV", "VOF"]
BE_FORMS_FR = ["SRL", "SA", "SPRL", "SComm"]
FIRST_NAMES = ["Jan", "Sanne", "Pieter", "Lotte", "Koen", "Ilse", "Bram", "Noor", "Wim", "Eva"]


def nl_vat(rng: random.Random) -> str:
    """A Dutch VAT number ``NL`` + 9 digits + ``B01`` whose digits pass the BSN-style mod-11 check.

    python-stdnum's ``nl.vat`` accepts a number when its 9 digits are a valid BSN (eleven test:
    the weighted sum with weights 9..2 minus the last digit is divisible by 11).
    """
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        if digits[0] == 0 and digits[1] == 0:
            continue  # keep realistic, non-zero-padded numbers
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "NL" + "".join(map(str, digits)) + str(check) + "B01"


def nl_kvk(rng: random.Random) -> str:
    """An 8-digit KvK number that also passes the pre-2016 mod-11 test (weights 8..1)."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        if sum(d * w for d, w in zip(digits, range(8, 0, -1), strict=True)) % 11 == 0:
            return "".join(map(str, digits))


def be_enterprise_number(rng: random.Random) -> str:
    """A Belgian KBO/BCE enterprise number: ``0`` + 7 digits + a mod-97 check of two digits.

    The check is ``97 - (first eight digits mod 97)``; the VAT number is ``BE`` + these 10 digits.
    """
    base = rng.randint(2_000_000, 9_999_999)  # 0 + 7 digits: 0200.000.000 .. 0999.999.999
    check = 97 - (base % 97)
    return f"0{base:07d}{check:02d}"


def unique(name: str, taken: set[str], rng: random.Random, cities: list[str]) -> str:
    if name not in taken:
        return name
    for city in rng.sample(cities, len(cities)):
        candidate = name.replace(" ", f" {city} ", 1) if " " in name else f"{name} {city}"
        if candidate not in taken:
            return candidate
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"


def company_name(rng: random.Random, country: str) -> tuple[str, str]:
    """A realistic Dutch or Belgian company name with its legal form, and a city."""
    if country == "NL":
        surname = rng.choice(NL_SURNAMES)
        surname = surname[0].upper() + surname[1:]
        pattern = rng.randrange(4)
        if pattern == 0:
            base = f"{rng.choice(NL_TRADES)} {surname}"
        elif pattern == 1:
            base = f"{surname} {rng.choice(NL_TRADES)}"
        elif pattern == 2:
            base = f"{surname} & Zonen"
        else:
            base = f"{surname} & {rng.choice(NL_SURNAMES).split()[-1].capitalize()}"
        return f"{base} {rng.choice(NL_FORMS)}", rng.choice(NL_CITIES)
    surname = rng.choice(BE_SURNAMES)
    if rng.random() < 0.5:
        base = f"{rng.choice(BE_TRADES_FR)} {surname}"
        form = rng.choice(BE_FORMS_FR)
    else:
        base = f"{surname} {rng.choice(BE_TRADES_NL)}"
        form = rng.choice(BE_FORMS_NL)
    return f"{base} {form}", rng.choice(BE_CITIES)


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def slug(name: str) -> str:
    words = [
        w for w in name.split() if w.rstrip(".") not in {"B.V", "BV", "N.V", "NV", "VOF", "V.O.F"}
    ]
    folded = unicodedata.normalize("NFKD", " ".join(words[:2]))
    ascii_name = folded.encode("ascii", "ignore").decode()
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in ascii_name)
    return "-".join(part for part in keep.split("-") if part) or "client"
