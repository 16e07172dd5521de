"""The client's activation against what Exact lists: granted but never activated, or activated
on an administration that no longer matches the client (its VAT, KvK/KBO number or name)."""

from __future__ import annotations

import shlex

from exactlink.i18n import _
from exactlink.models import Division
from exactlink.services.activation.causes import CAUSE_NOT_ACTIVATED, CAUSE_STALE_ACTIVATION
from exactlink.services.activation.identity import MISMATCH, compare
from exactlink.services.doctor.report import FAIL, OK, Session


def check_activation(s: Session, listed: dict[int, Division]) -> None:
    """Only for a client whose division is known and listed (the checks above explain the rest)."""
    client, code = s.client, s.code
    if client is None or code is None or code not in listed:
        return
    name = shlex.quote(client.name)
    if client.division is None:
        s.add(
            "activation",
            FAIL,
            _(
                "Client '{client}' is granted but not activated: administration {code} ({division})"
                " is ready for it."
            ).format(client=client.name, code=code, division=listed[code].description),
            _("Activate it: `exactlink exact activate --client {name}`.").format(name=name),
            cause=CAUSE_NOT_ACTIVATED,
        )
        return
    identity = compare(client, listed[code])
    if identity.strength == MISMATCH:
        s.add(
            "activation",
            FAIL,
            _(
                "Client '{client}' is activated on administration {code}, which no longer matches"
                " it: {what}."
            ).format(client=client.name, code=code, what="; ".join(identity.differences())),
            _(
                "Correct the client (`exactlink client update {name} --vat ...`) if Exact is"
                " right, or link the right administration: `exactlink exact activate --client"
                " {name} --division CODE --overwrite`."
            ).format(name=name),
            cause=CAUSE_STALE_ACTIVATION,
        )
        return
    s.add(
        "activation",
        OK,
        _("Client '{client}' is activated on administration {code}.").format(
            client=client.name, code=code
        ),
    )
