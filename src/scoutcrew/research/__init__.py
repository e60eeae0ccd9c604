"""The research loop of `process: research` crews, on LangGraph: plan, search, read, reflect,
then an outline the crew writes from; checkpointed after every step, resumable, reviewable.

May import notes, select, gather, llm, store, config, text and errors (and langgraph); never
the crew, verify or the run graph, which hands its result to the crew.
"""
