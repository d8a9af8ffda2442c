"""The UI's pages, one module each, every one a router of plain functions that call the
facade and render a template (``idms.ui.render.page``)."""
