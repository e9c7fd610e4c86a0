"""SOP flows (issue 22): standard procedures as versioned definitions run by a pure interpreter.

definition  parse and validate a definition (YAML or JSON) into frozen elements; ``sop.*`` errors
engine      the pure step function: (definition, state, event, now) -> (new state, effects)
forms       form fields, their types, validation and per-channel variants
models      the tables (definitions, instances with their snapshot, history)
store       the tables through SQLAlchemy; service: I/O around the engine; api: routes (one wiring point)
"""
