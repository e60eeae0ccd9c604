"""Notes, the map step: each new source read by a model about once (`take`), in batches that
fill the reading model's window, through a reader built on the LLM runtime (`reader`).

May import llm, select, gather, store, config, text and errors.
"""
