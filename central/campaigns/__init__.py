"""Outbound campaigns (issue 21, point 3): lists, preview and progressive dialling, outcomes.

machine.py   the campaign's lifecycle (draft, running, paused, finished): pure
attempts.py  one contact's attempts and outcomes with retry rules: pure
hours.py     calling hours in the contact's own time zone: pure
dialler.py   which contacts to offer or dial now, given free agents: pure
lists.py     a contact list from CSV, with a validation report
errors.py    stable error ids ``campaign.*``
"""
