"""The Exact Online adapter: sites, HTTP, OAuth, tokens, the REST client and the loopback listener.

Nothing here is imported by ``exactlink --help`` or ``exact status``: requests and cryptography
load only when a command talks to Exact.
"""
