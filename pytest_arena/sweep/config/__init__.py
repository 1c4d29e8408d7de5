"""The sweep config, one noun per module, so each can be read (and imported) without the others:

- ``schema``: the pydantic models (``ArenaConfig`` and its sections), the YAML layout and its rules;
- ``strategies``: the strategy axis: names checked against the registry, sweep entries, ``StrategyPoint``;
- ``loading``: ``load_config``: read the YAML, substitute ``${ENV:NAME}``, validate, one clear error;
- ``overrides``: ``apply_override``: one ``--arena-set key=value``, typed by the schema;
- ``backends``: ``backend_spec``: a model name of the config → the ``BackendSpec`` its calls go to.

The README's config reference and ``configs/schema.json`` are generated from the schema by
``pytest_arena.docgen.config_reference``. Nothing is re-exported here: import a name from the module
that holds it, so that importing one part loads only what that part needs.
"""
