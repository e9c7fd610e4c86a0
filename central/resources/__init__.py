"""The resource engine (issue 20): back-office APIs declared as data, fields derived from them,
a request for fields planned by dependency (pure, :mod:`.planner`) and executed with timeouts,
retries, a deadline and a cache (:mod:`.executor`). One wiring point: :class:`.api.ResourcesApi`.

Errors (``resources.*``, :mod:`.errors`)::

    ResourceError                 resources.*
    ├── InvalidDefinition         resources.invalid_definition   (names file and field)
    ├── UnknownField              resources.unknown_field
    ├── MissingInput              resources.missing_input        (names the input and who needs it)
    ├── DependencyCycle           resources.cycle                (names the fields of the cycle)
    ├── NotAllowed                resources.forbidden            (role or flow may not use a resource)
    └── ExpressionError           resources.bad_expression
"""
