"""Where people read: the local web app (`scoutcrew serve`), static Atom feeds (`scoutcrew
publish --atom`) and the MCP server (`scoutcrew mcp`).

The top of the layering: may import pipeline, runs, store, config, report and schedule; nothing
below imports this package. Starlette, uvicorn, Jinja2 and mcp come from the `serve` extra and
are imported only inside this package.
"""
