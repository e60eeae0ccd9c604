"""Where people read: the local web app (`scoutcrew serve`), static Atom feeds (`scoutcrew
publish --atom`) and the MCP server (`scoutcrew mcp`).

May import schedule, report, store, config, text and errors. It starts runs as child
processes, so it never imports the run graph, the crew or llm. Starlette, uvicorn, Jinja2 and
mcp come from the `serve` extra and are imported only inside this package.
"""
