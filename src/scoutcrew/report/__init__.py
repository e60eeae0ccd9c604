"""Publishing what the crew wrote: the report model and its Markdown, HTML, JSON and Atom
renderers, the files they are written to, and the index of written reports.

May import verify (for its verdicts), stories, select, config, text and errors; never llm or
the crew.
"""
