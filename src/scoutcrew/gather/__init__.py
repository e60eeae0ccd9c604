"""Gathering, no model: feeds, web search, pages, and the rules for what may be fetched.

May import config, store and the shared top-level modules; never crewai, the crew or llm.
"""
