"""Gathering, no model: feeds, web search, pages, and the rules for what may be fetched.

May import config, store, text and errors; never crewai, llm or a later stage.
"""
