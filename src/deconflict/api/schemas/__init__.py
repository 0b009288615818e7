"""Request and response bodies of the REST API (pydantic: the edge only), one module per resource.

Each response model has an ``of`` constructor from the domain object it shows;
the domain never sees these classes. :mod:`~deconflict.api.schemas.common` holds
what every resource shares (error bodies, ``COMMON_RESPONSES``).
"""
