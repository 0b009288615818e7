"""The channel's state changes, each followed by its audit entries: the one place that records them.

The API (and the ``party`` command) call these functions instead of the bare
domain operations, so no state change escapes the log. One module per
resource, as the API's routers and schemas are: ``operations``, ``conflicts``,
``messages`` (and their deadlines), ``parties``, ``logins``, ``tracks`` (the
live picture's cycle), ``incidents`` and ``zones`` (geographical zones published);
``common`` holds what they share.

When entries are written
------------------------
Each function makes the state change and appends its entries to the log,
durably, before it returns; if appending fails, the function raises and the
request fails (HTTP 500), so a client never gets a 2xx for a change whose
entry is missing. Entries of one change (an operation and each conflict found
by filing it) are appended in one transaction, so the chain never holds half
of them.

The change and its entries are ONE transaction where the stores share the
audit log's connection (:func:`~deconflict.channel.service.common.together`;
each module says which stores). With stores on separate connections, two
commits, the change first: a crash between them leaves a change without its
entry, never an entry without its change.

Events
------
Functions given an ``events`` sink (:class:`~deconflict.channel.events.EventSink`)
publish each party's events (:mod:`deconflict.channel.events`) once the change
and its entries are committed, never before.
"""
