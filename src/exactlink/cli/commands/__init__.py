"""One module per command group. Each imports only typer at module level; everything heavy
(services, adapters, requests, rich) is imported inside the command that needs it."""
