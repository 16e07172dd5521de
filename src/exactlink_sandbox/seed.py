"""The sandbox's deterministic world: an accounting firm, its logins and its client companies.

Everything here is a pure function of ``(clients, seed)``: the same arguments always give the
same firm, the same names, VAT numbers, division codes and grants, so tests and the demo know
what to expect. The check digits of the identifiers are computed here by hand (the sandbox must
not depend on the rest of exactlink); the tests validate them with python-stdnum.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"

# Divisions of Exact Online Premium "HQ" virtual administrations have codes above 10,000,000 and
# never appear in system/Divisions (reference §4.2, §6.3 item 7, [R]).
HQ_CODE_FLOOR = 10_000_000

_NL_SURNAMES = [
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
_BE_SURNAMES = [
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
_NL_TRADES = [
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
_BE_TRADES_NL = [
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
_BE_TRADES_FR = [
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
_NL_CITIES = [
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
_BE_CITIES = [
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
_NL_FORMS = ["B.V.", "BV", "B.V.", "VOF", "N.V.", "V.O.F."]
_BE_FORMS_NL = ["BV", "BVBA", "NV", "CommV", "VOF"]
_BE_FORMS_FR = ["SRL", "SA", "SPRL", "SComm"]
_FIRST_NAMES = ["Jan", "Sanne", "Pieter", "Lotte", "Koen", "Ilse", "Bram", "Noor", "Wim", "Eva"]


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


@dataclass
class Company:
    """One division (administration) in the simulated Exact Online world."""

    name: str
    country: str
    vat_number: str
    coc_number: str
    division: int
    customer: str  # GUID of the owner account, i.e. the license holder
    customer_code: str
    license: str  # licenses group divisions: AllDivisions / hrm/Divisions are single-license
    kind: str  # "practice" | "client" | "hq"
    hid: int
    city: str
    start_date: str  # ISO date, served as /Date(ms)/
    granted_to_app: bool
    login_has_access: bool
    status: int = 1  # system/Divisions semantics: 0 inactive, 1 active, 2 archived (§4.3)
    blocking_status: int = 0  # 0 not blocked, 1..6 per §4.3
    hq: bool = False
    is_main: bool = True
    own_login: str | None = None
    email: str = ""
    currency: str = "EUR"

    def to_json(self) -> dict:
        data = asdict(self)
        data["practice"] = self.kind == "practice"
        return data


@dataclass
class Login:
    """An Exact Online user account that can sign in on the login page."""

    username: str
    password: str
    user_id: str
    full_name: str
    email: str
    role: str  # "firm" | "client"
    company: int | None  # the division of the login's own company
    language: str = "nl-NL"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class World:
    """The seed: firm, app, logins and companies, generated by :func:`generate`."""

    clients: int
    seed: int
    country: str
    app: dict
    firm: dict
    logins: list[Login]
    companies: list[Company] = field(default_factory=list)

    def to_json(self, base_url: str) -> dict:
        companies = [c.to_json() for c in self.companies]
        firm_login = self.logins[0]
        visible = sorted(
            c["division"]
            for c in companies
            if c["login_has_access"] and c["granted_to_app"] and not c["hq"]
        )
        return {
            "base_url": base_url,
            "country": self.country,
            "clients": self.clients,
            "seed": self.seed,
            "app": dict(self.app),
            "firm": dict(self.firm),
            "logins": [login.to_json() for login in self.logins],
            "firm_login": firm_login.username,
            "companies": companies,
            # What the firm login sees in system/Divisions after accepting the consent page as
            # it is (the pre-ticked boxes are exactly the seed's grants).
            "visible_divisions": visible,
        }


def _unique(name: str, taken: set[str], rng: random.Random, cities: list[str]) -> str:
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


def _company_name(rng: random.Random, country: str) -> tuple[str, str]:
    """A realistic Dutch or Belgian company name with its legal form, and a city."""
    if country == "NL":
        surname = rng.choice(_NL_SURNAMES)
        surname = surname[0].upper() + surname[1:]
        pattern = rng.randrange(4)
        if pattern == 0:
            base = f"{rng.choice(_NL_TRADES)} {surname}"
        elif pattern == 1:
            base = f"{surname} {rng.choice(_NL_TRADES)}"
        elif pattern == 2:
            base = f"{surname} & Zonen"
        else:
            base = f"{surname} & {rng.choice(_NL_SURNAMES).split()[-1].capitalize()}"
        return f"{base} {rng.choice(_NL_FORMS)}", rng.choice(_NL_CITIES)
    surname = rng.choice(_BE_SURNAMES)
    if rng.random() < 0.5:
        base = f"{rng.choice(_BE_TRADES_FR)} {surname}"
        form = rng.choice(_BE_FORMS_FR)
    else:
        base = f"{surname} {rng.choice(_BE_TRADES_NL)}"
        form = rng.choice(_BE_FORMS_NL)
    return f"{base} {form}", rng.choice(_BE_CITIES)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _slug(name: str) -> str:
    words = [
        w for w in name.split() if w.rstrip(".") not in {"B.V", "BV", "N.V", "NV", "VOF", "V.O.F"}
    ]
    folded = unicodedata.normalize("NFKD", " ".join(words[:2]))
    ascii_name = folded.encode("ascii", "ignore").decode()
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in ascii_name)
    return "-".join(part for part in keep.split("-") if part) or "client"


def generate(clients: int = 20, seed: int = 1, redirect_uri: str | None = None) -> World:
    """Build the world for ``clients`` client companies, deterministically from ``seed``.

    Roles are assigned by position after a seeded shuffle, so every world with at least seven
    clients has: one archived, one blocked, one the firm login cannot access, one with its own
    Exact login (the overwrite case), one owning an HQ division, and several not granted to the
    app. Smaller worlds get as many of these as fit.
    """
    if clients < 0:
        raise ValueError("clients must be >= 0")
    rng = random.Random(f"exactlink-sandbox:{seed}")
    country = "NL"
    app = {
        "client_id": _guid(rng),
        "client_secret": "sb-"
        + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(28)),
        "redirect_uri": redirect_uri or DEFAULT_REDIRECT_URI,
        "name": "exactlink (sandbox)",
    }
    codes = rng.sample(range(100_000, 9_999_999), clients + 1)
    taken_names: set[str] = set()

    firm_name = f"{rng.choice(_NL_SURNAMES).split()[-1].capitalize()} Accountants B.V."
    taken_names.add(firm_name)
    practice_code = codes[0]
    firm_customer = _guid(rng)
    firm_vat, firm_kvk = nl_vat(rng), nl_kvk(rng)
    firm_domain = _slug(firm_name.split()[0]) + "-accountants.nl"
    firm = {
        "name": firm_name,
        "vat_number": firm_vat,
        "coc_number": firm_kvk,
        "division": practice_code,
        "email": f"kantoor@{firm_domain}",
        "customer": firm_customer,
    }
    first = rng.choice(_FIRST_NAMES)
    firm_login = Login(
        username=f"{first.lower()}@{firm_domain}",
        password="sandbox-" + "".join(rng.choice("0123456789") for _ in range(6)),
        user_id=_guid(rng),
        full_name=f"{first} {rng.choice(_NL_SURNAMES)}",
        email=f"{first.lower()}@{firm_domain}",
        role="firm",
        company=practice_code,
    )
    companies = [
        Company(
            name=firm_name,
            country="NL",
            vat_number=firm_vat,
            coc_number=firm_kvk,
            division=practice_code,
            customer=firm_customer,
            customer_code="1",
            license=firm_customer,
            kind="practice",
            hid=1,
            city="Utrecht",
            start_date="2015-01-01",
            granted_to_app=True,
            login_has_access=True,
            email=str(firm["email"]),
        )
    ]

    for i in range(clients):
        ctry = "NL" if rng.random() < 0.55 else "BE"
        name, city = _company_name(rng, ctry)
        name = _unique(name, taken_names, rng, _NL_CITIES if ctry == "NL" else _BE_CITIES)
        taken_names.add(name)
        if ctry == "NL":
            vat, coc = nl_vat(rng), nl_kvk(rng)
        else:
            kbo = be_enterprise_number(rng)
            vat, coc = "BE" + kbo, kbo
        customer = _guid(rng)
        year = 2010 + rng.randrange(15)
        companies.append(
            Company(
                name=name,
                country=ctry,
                vat_number=vat,
                coc_number=coc,
                division=codes[i + 1],
                customer=customer,
                customer_code=str(100 + i),
                license=customer,
                kind="client",
                hid=1,
                city=city,
                start_date=f"{year}-{rng.randint(1, 12):02d}-01",
                granted_to_app=rng.random() < 0.75,
                login_has_access=True,
                email=f"info@{_slug(name)}{i}.example",
            )
        )

    client_list = companies[1:]
    order = list(range(len(client_list)))
    rng.shuffle(order)
    roles = ["own_login", "archived", "blocked", "no_access", "hq_owner", "inactive"]
    assigned: dict[str, Company] = {}
    for role, idx in zip(roles, order, strict=False):
        assigned[role] = client_list[idx]
    if "archived" in assigned:
        assigned["archived"].status = 2
        assigned["archived"].granted_to_app = True
    if "blocked" in assigned:
        assigned["blocked"].blocking_status = 1  # backup/restore (§4.3)
        assigned["blocked"].granted_to_app = True
    if "no_access" in assigned:
        # Granted to the app but the firm login has no access: only NoDivisionAccess explains
        # why it is missing (reference §6.3 item 2).
        assigned["no_access"].login_has_access = False
        assigned["no_access"].granted_to_app = True
    if "inactive" in assigned:
        assigned["inactive"].status = 0
        assigned["inactive"].granted_to_app = False
    logins = [firm_login]
    if "own_login" in assigned:
        own = assigned["own_login"]
        own.granted_to_app = True
        owner_first = rng.choice(_FIRST_NAMES)
        client_login = Login(
            username=f"{owner_first.lower()}@{_slug(own.name)}.example",
            password="client-" + "".join(rng.choice("0123456789") for _ in range(6)),
            user_id=_guid(rng),
            full_name=f"{owner_first} {rng.choice(_BE_SURNAMES if own.country == 'BE' else _NL_SURNAMES)}",
            email=f"{owner_first.lower()}@{_slug(own.name)}.example",
            role="client",
            company=own.division,
            language="nl-NL" if own.country == "NL" else "nl-BE",
        )
        own.own_login = client_login.username
        logins.append(client_login)
    if "hq_owner" in assigned:
        owner = assigned["hq_owner"]
        owner.granted_to_app = True
        hq_code = HQ_CODE_FLOOR + rng.randrange(1, 9_000_000)
        companies.append(
            Company(
                name=f"{owner.name.rsplit(' ', 1)[0]} HQ",
                country=owner.country,
                vat_number=owner.vat_number,
                coc_number=owner.coc_number,
                division=hq_code,
                customer=owner.customer,
                customer_code=owner.customer_code,
                license=owner.license,
                kind="hq",
                hid=2,
                city=owner.city,
                start_date=owner.start_date,
                granted_to_app=False,
                login_has_access=True,
                hq=True,
                is_main=False,
                email=owner.email,
            )
        )
    # A couple of accented names, so encoding bugs show up in every world (HTML, JSON, CSV).
    accented = ["Brasserie Lefèvre SRL", "Café Liègeois Dubois SA"]
    tail = [client_list[idx] for idx in reversed(order[len(roles) :])]
    for company, fancy in zip(tail, accented, strict=False):
        if not any(ord(ch) > 127 for ch in company.name) and fancy not in taken_names:
            company.name, company.country, company.city = fancy, "BE", "Liège"
            kbo = be_enterprise_number(rng)
            company.vat_number, company.coc_number = "BE" + kbo, kbo
            taken_names.add(fancy)
    # "Several not granted": make sure at least two ordinary clients are not granted.
    ordinary = [client_list[idx] for idx in order[len(roles) :]]
    not_granted = [c for c in companies if c.kind == "client" and not c.granted_to_app]
    for c in ordinary:
        if len(not_granted) >= 2:
            break
        if c.granted_to_app:
            c.granted_to_app = False
            not_granted.append(c)
    # ...and at least two ordinary ones granted, so a fresh consent shows something to link.
    granted = [c for c in ordinary if c.granted_to_app]
    for c in ordinary:
        if len(granted) >= 2 or len(ordinary) < 5:
            break
        if not c.granted_to_app and len(not_granted) > 2:
            not_granted.remove(c)
            c.granted_to_app = True
            granted.append(c)
    return World(
        clients=clients,
        seed=seed,
        country=country,
        app=app,
        firm=firm,
        logins=logins,
        companies=companies,
    )
