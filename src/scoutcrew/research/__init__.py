"""The research loop of `process: research` crews, on LangGraph: plan, search, read, reflect,
then an outline the crew writes from; checkpointed after every step, resumable, reviewable.

May import config, gather, evidence, llm, store and the shared top-level modules (and
langgraph); never the crew or the pipeline. The pipeline hands its result to the crew.
"""
