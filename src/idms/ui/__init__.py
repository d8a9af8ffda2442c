"""The web UI of ``idms serve``: server-rendered pages at ``/`` for the people who load data
into iMIS, beside the JSON API (``/api/v1``) and the hooks (``/hooks``).

The seam every page is built on:

- ``app.py`` — :func:`install_ui` adds the pages, ``/static``, the security headers and the
  refusal pages to the server's app;
- ``sessions.py`` — who is signed in (the ``idms_session`` cookie), :func:`require_role`, and
  the form token (CSRF) every POST must carry;
- ``render.py`` — :func:`page`, which renders a template inside ``base.html`` with the user,
  the navigation and the form token;
- ``views.py`` — what a page shows, as plain strings made from the facade's answers (templates
  hold no logic; routes call the facade and hand its answer to a view);
- ``pages/`` — one module per page, each a router of plain functions.
"""
