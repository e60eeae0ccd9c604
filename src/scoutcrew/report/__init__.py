"""Checking and publishing what the crew wrote: citation checks, links, and the Markdown,
HTML and JSON renderers.

May import evidence's types and the shared top-level modules; never crewai, the crew or llm.
"""
