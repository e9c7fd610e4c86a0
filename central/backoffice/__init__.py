"""The back-office simulator (issue 20): the demo bank's core system and the gas utility's
billing, over HTTP, with injectable latency and errors. ``callcenter backoffice`` runs it."""
